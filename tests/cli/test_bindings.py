"""Binding commands and the data queries, acting for a named account, against the fake provider's data."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.domain.errors import ProviderUnavailable, WabaNotAccessible
from tests.cli.conftest import Intwa, assert_fails
from tests.conftest import (
    OTHER_WABA_ID,
    OTHER_WABA_PHONE_ID,
    PHONE_ID,
    SECOND_PHONE_ID,
    UNKNOWN_WABA_ID,
    WABA_ID,
    phone_info_item,
    waba_info_item,
)

BINDING_KEYS = ["accountName", "wabaId", "phoneNumberId", "phoneNumber", "boundAt"]


@pytest.fixture
def accounts(intwa: Intwa) -> Intwa:
    """The CLI with two accounts, IW0001 and IW0002."""
    for name in ("IW0001", "IW0002"):
        intwa.ok("account", "create", name)
    return intwa


def test_binding_prints_the_binding_like_the_http_data(accounts: Intwa) -> None:
    bound = accounts.json("bind", "IW0001", WABA_ID, PHONE_ID)

    assert list(bound) == BINDING_KEYS
    assert bound["accountName"] == "IW0001"
    assert (bound["wabaId"], bound["phoneNumberId"]) == (WABA_ID, PHONE_ID)
    assert bound["phoneNumber"] == "6285212340016"
    assert bound["boundAt"].endswith("Z")


def test_binding_prints_a_table_without_json(accounts: Intwa) -> None:
    lines = accounts.ok("bind", "IW0001", WABA_ID, PHONE_ID, "--phone-number", "+62 852-1234-0016").splitlines()

    assert lines[0] == "bound"
    assert lines[1].split() == ["ACCOUNT", "WABA", "ID", "PHONE", "NUMBER", "ID", "PHONE", "NUMBER", "BOUND", "AT"]
    assert lines[2].split()[:4] == ["IW0001", WABA_ID, PHONE_ID, "6285212340016"]
    # Columns line up under their headers.
    assert lines[2].index(PHONE_ID) == lines[1].index("PHONE NUMBER ID")


def test_binding_the_same_phone_number_again_changes_nothing(accounts: Intwa) -> None:
    first = accounts.json("bind", "IW0001", WABA_ID, PHONE_ID)

    assert accounts.json("bind", "IW0001", WABA_ID, PHONE_ID) == first
    assert accounts.json("bindings") == [first]


def test_unbinding_prints_the_removed_binding_and_frees_the_waba(accounts: Intwa) -> None:
    bound = accounts.json("bind", "IW0001", WABA_ID, PHONE_ID)

    assert accounts.json("unbind", "IW0001", WABA_ID, PHONE_ID) == bound
    assert accounts.ok("bindings") == "no bindings\n"
    assert accounts.json("bind", "IW0002", WABA_ID, PHONE_ID)["accountName"] == "IW0002"


def test_unbinding_prints_a_table_without_json(accounts: Intwa) -> None:
    accounts.ok("bind", "IW0001", WABA_ID, PHONE_ID)

    lines = accounts.ok("unbind", "IW0001", WABA_ID, PHONE_ID).splitlines()

    assert lines[0] == "unbound"
    assert lines[2].split()[:3] == ["IW0001", WABA_ID, PHONE_ID]


def test_bindings_lists_every_account_or_one(accounts: Intwa) -> None:
    first = accounts.json("bind", "IW0001", WABA_ID, PHONE_ID)
    second = accounts.json("bind", "IW0001", WABA_ID, SECOND_PHONE_ID)
    other = accounts.json("bind", "IW0002", OTHER_WABA_ID, OTHER_WABA_PHONE_ID)

    assert accounts.json("bindings") == [first, second, other]
    assert accounts.json("bindings", "IW0002") == [other]
    table = [line.split() for line in accounts.ok("bindings", "IW0001").splitlines()]
    assert [row[:3] for row in table[1:]] == [["IW0001", WABA_ID, PHONE_ID], ["IW0001", WABA_ID, SECOND_PHONE_ID]]


def test_bindings_of_an_account_without_any_is_an_empty_list(accounts: Intwa) -> None:
    assert accounts.json("bindings", "IW0001") == []
    assert accounts.ok("bindings", "IW0001") == "no bindings\n"


def test_phone_info_shows_every_number_of_the_waba_like_the_http_data(accounts: Intwa) -> None:
    accounts.ok("bind", "IW0001", WABA_ID, PHONE_ID)

    phones = accounts.json("phone-info", "IW0001", WABA_ID)

    assert phones == [
        phone_info_item(PHONE_ID, "+62 852-1234-0016", "TIG Tech", "CONNECTED", "GREEN", "TIER_250"),
        phone_info_item(SECOND_PHONE_ID, "+62 852-1234-0017", "TIG Tech Support", "FLAGGED", "NA", "UNKNOWN"),
    ]


def test_phone_info_prints_a_table_without_json(accounts: Intwa) -> None:
    accounts.ok("bind", "IW0001", WABA_ID, PHONE_ID)

    lines = accounts.ok("phone-info", "IW0001", WABA_ID).splitlines()

    assert lines[0].split() == [
        "ID",
        "DISPLAY",
        "PHONE",
        "NUMBER",
        "VERIFIED",
        "NAME",
        "STATUS",
        "QUALITY",
        "MESSAGE",
        "LIMIT",
        "CAN",
        "SEND",
        "ISSUE",
    ]
    assert lines[1].index("+62 852-1234-0016") == lines[0].index("DISPLAY PHONE NUMBER")
    assert lines[1].index("TIG Tech") == lines[0].index("VERIFIED NAME")
    assert lines[2].split()[-5:] == ["FLAGGED", "NA", "UNKNOWN", "UNKNOWN", "-"]


def test_phone_info_reads_the_snapshot_until_refresh_is_asked_for(accounts: Intwa, fake_provider: FakeProvider) -> None:
    accounts.ok("bind", "IW0001", WABA_ID, PHONE_ID)
    fake_provider.update_phone(WABA_ID, PHONE_ID, quality_rating="RED")

    assert accounts.json("phone-info", "IW0001", WABA_ID)[0]["qualityRating"] == "GREEN"
    assert accounts.json("phone-info", "IW0001", WABA_ID, "--refresh")[0]["qualityRating"] == "RED"


def test_waba_info_lists_the_accounts_wabas_in_binding_order(accounts: Intwa, fake_provider: FakeProvider) -> None:
    accounts.ok("bind", "IW0001", OTHER_WABA_ID, OTHER_WABA_PHONE_ID)
    accounts.ok("bind", "IW0001", WABA_ID, PHONE_ID)
    fake_provider.update_waba(WABA_ID, account_review_status="REJECTED")

    assert accounts.json("waba-info", "IW0001") == [
        waba_info_item(OTHER_WABA_ID, "PT TIG CODE", "PENDING"),
        waba_info_item(WABA_ID, "PT TIG TECH", "APPROVED"),
    ]
    table = [line.split() for line in accounts.ok("waba-info", "IW0001", "--refresh").splitlines()]
    assert table == [
        ["WABA", "ID", "NAME", "STATUS", "ACCESSIBLE", "CAN", "SEND", "ISSUE"],
        [OTHER_WABA_ID, "PT", "TIG", "CODE", "PENDING", "yes", "UNKNOWN", "-"],
        [WABA_ID, "PT", "TIG", "TECH", "REJECTED", "yes", "UNKNOWN", "-"],
    ]


def test_waba_info_refresh_lists_every_waba_when_one_fails_and_exits_1(
    accounts: Intwa, fake_provider: FakeProvider
) -> None:
    accounts.ok("bind", "IW0001", OTHER_WABA_ID, OTHER_WABA_PHONE_ID)
    accounts.ok("bind", "IW0001", WABA_ID, PHONE_ID)
    fake_provider.fail_with(OTHER_WABA_ID, ProviderUnavailable("Meta is down"))
    fake_provider.fail_with(WABA_ID, WabaNotAccessible("Object with ID does not exist"))

    result = accounts("waba-info", "IW0001", "--refresh", "--json")

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert json.loads(result.stdout) == [
        waba_info_item(OTHER_WABA_ID, "PT TIG CODE", "PENDING"),
        waba_info_item(WABA_ID, "PT TIG TECH", "APPROVED", accessible=False),
    ]
    assert result.stderr == f"warning: WABA {OTHER_WABA_ID} shows its last known data: 50300 Meta is down\n"
    with closing(sqlite3.connect(accounts.settings().storage.sqlite_path)) as database:
        assert database.execute("SELECT count(*) FROM refresh_leases").fetchone() == (0,)  # none left behind


def test_waba_info_of_an_account_without_bindings_is_empty(accounts: Intwa) -> None:
    assert accounts.json("waba-info", "IW0001") == []
    assert accounts.ok("waba-info", "IW0001") == "no WABAs are bound to account IW0001\n"


@pytest.mark.parametrize(
    "command",
    [
        ["bind", "nobody", WABA_ID, PHONE_ID],
        ["unbind", "nobody", WABA_ID, PHONE_ID],
        ["bindings", "nobody"],
        ["phone-info", "nobody", WABA_ID],
        ["waba-info", "nobody"],
    ],
)
def test_commands_for_an_unknown_account_name_it(accounts: Intwa, command: list[str]) -> None:
    assert_fails(accounts(*command), 40402, "nobody")


@pytest.mark.parametrize(
    ("command", "code", "named"),
    [
        (["bind", "IW0002", WABA_ID, SECOND_PHONE_ID], 40900, WABA_ID),
        (["bind", "IW0002", OTHER_WABA_ID, PHONE_ID], 40901, PHONE_ID),
        (["bind", "IW0002", UNKNOWN_WABA_ID, PHONE_ID + "9"], 42200, UNKNOWN_WABA_ID),
        (["bind", "IW0002", OTHER_WABA_ID, SECOND_PHONE_ID], 42201, SECOND_PHONE_ID),
        (
            ["bind", "IW0002", OTHER_WABA_ID, OTHER_WABA_PHONE_ID, "--phone-number", "+86 133 0000 0000"],
            42202,
            "8613300000000",
        ),
        (["bind", "IW0002", "27899x", OTHER_WABA_PHONE_ID], 40000, "wabaId"),
        (["bind", "IW0002", OTHER_WABA_ID, "1" * 33], 40000, "phoneNumberId"),
        (["bind", "IW0002", OTHER_WABA_ID, OTHER_WABA_PHONE_ID, "--phone-number", "12"], 40000, "phoneNumber"),
        (["unbind", "IW0002", WABA_ID, PHONE_ID], 40401, ""),
        (["unbind", "IW0001", WABA_ID, "12ab"], 40000, "phoneNumberId"),
        (["phone-info", "IW0002", WABA_ID], 40400, WABA_ID),
        (["phone-info", "IW0001", "x"], 40000, "wabaId"),
    ],
)
def test_a_refused_command_prints_one_line_with_its_api_code(
    accounts: Intwa, command: list[str], code: int, named: str
) -> None:
    accounts.ok("bind", "IW0001", WABA_ID, PHONE_ID)

    assert_fails(accounts(*command), code, named)
    assert [b["accountName"] for b in accounts.json("bindings")] == ["IW0001"]


def test_a_provider_failure_prints_one_line_with_its_api_code(accounts: Intwa, fake_provider: FakeProvider) -> None:
    fake_provider.fail_with(None, ProviderUnavailable("Meta is unavailable after 3 retries"))

    assert_fails(accounts("bind", "IW0001", WABA_ID, PHONE_ID), 50300, "Meta is unavailable")
    assert accounts.json("bindings") == []
