"""`intwa account ...`: accounts and their API keys, as an operator manages them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from intwa.domain.errors import Forbidden, Unauthenticated
from tests.cli.conftest import Intwa, assert_fails
from tests.conftest import PHONE_ID, SECOND_PHONE_ID, WABA_ID


def test_creating_an_account_prints_its_api_key_once_in_a_table(intwa: Intwa) -> None:
    out = intwa.ok("account", "create", "IW0001")

    lines = out.splitlines()
    assert "shown only now" in lines[0]
    assert lines[1].split() == ["ACCOUNT", "API", "KEY"]
    name, api_key = lines[2].split()
    assert name == "IW0001"
    assert intwa.authenticate(api_key).name == "IW0001"


def test_creating_an_account_with_json_prints_the_name_and_key(intwa: Intwa) -> None:
    created = intwa.json("account", "create", "IW0001")

    assert list(created) == ["accountName", "apiKey"]
    assert created["accountName"] == "IW0001"
    assert len(created["apiKey"]) >= 43
    assert intwa.authenticate(created["apiKey"]).enabled


def test_creating_an_account_twice_is_a_one_line_error(intwa: Intwa) -> None:
    intwa.ok("account", "create", "IW0001")

    assert_fails(intwa("account", "create", "IW0001"), 40902, "IW0001")


def test_an_account_name_that_breaks_the_rule_is_refused(intwa: Intwa) -> None:
    assert_fails(intwa("account", "create", "bad name"), 40000, "NAME")


def test_listing_no_accounts_says_so(intwa: Intwa) -> None:
    assert intwa.ok("account", "list") == "no accounts\n"
    assert intwa.json("account", "list") == []


def test_account_list_shows_status_and_binding_counts(intwa: Intwa) -> None:
    for name in ("IW0002", "IW0001"):
        intwa.ok("account", "create", name)
    intwa.ok("bind", "IW0001", WABA_ID, PHONE_ID)
    intwa.ok("bind", "IW0001", WABA_ID, SECOND_PHONE_ID)
    intwa.ok("account", "disable", "IW0002")

    listed = intwa.json("account", "list")
    table = [line.split() for line in intwa.ok("account", "list").splitlines()]

    assert [list(item) for item in listed] == [["accountName", "enabled", "wabaCount", "bindingCount", "createdAt"]] * 2
    assert [(a["accountName"], a["enabled"], a["wabaCount"], a["bindingCount"]) for a in listed] == [
        ("IW0001", True, 1, 2),
        ("IW0002", False, 0, 0),
    ]
    assert all(a["createdAt"].endswith("Z") for a in listed)
    assert table[0] == ["NAME", "STATUS", "WABAS", "BINDINGS", "CREATED"]
    assert [row[:4] for row in table[1:]] == [["IW0001", "enabled", "1", "2"], ["IW0002", "disabled", "0", "0"]]
    assert table[1][4] == listed[0]["createdAt"][:19] + "Z"


def test_a_disabled_accounts_key_is_forbidden_until_it_is_enabled_again(intwa: Intwa) -> None:
    api_key = intwa.json("account", "create", "IW0001")["apiKey"]

    assert intwa.ok("account", "disable", "IW0001") == "disabled account IW0001\n"
    with pytest.raises(Forbidden):
        intwa.authenticate(api_key)

    assert intwa.ok("account", "enable", "IW0001") == "enabled account IW0001\n"
    assert intwa.authenticate(api_key).name == "IW0001"


@pytest.mark.parametrize("command", ["disable", "enable", "rotate-key"])
def test_changing_an_unknown_account_is_a_one_line_error(intwa: Intwa, command: str) -> None:
    assert_fails(intwa("account", command, "nobody"), 40402, "nobody")


def test_rotating_a_key_stops_the_old_key_at_once(intwa: Intwa) -> None:
    old_key = intwa.json("account", "create", "IW0001")["apiKey"]

    rotated = intwa.json("account", "rotate-key", "IW0001")

    assert list(rotated) == ["accountName", "apiKey"]
    assert rotated["accountName"] == "IW0001"
    assert rotated["apiKey"] != old_key
    assert len(rotated["apiKey"]) >= 43
    with pytest.raises(Unauthenticated):
        intwa.authenticate(old_key)
    assert intwa.authenticate(rotated["apiKey"]).name == "IW0001"


def test_rotating_a_key_prints_the_new_key_in_a_table(intwa: Intwa) -> None:
    intwa.ok("account", "create", "IW0001")

    out = intwa.ok("account", "rotate-key", "IW0001")

    assert "older keys no longer work" in out
    name, api_key = out.splitlines()[-1].split()
    assert name == "IW0001"
    assert intwa.authenticate(api_key).name == "IW0001"


def test_rotating_with_keep_old_for_keeps_the_old_key_working_and_the_new_one_at_once(intwa: Intwa) -> None:
    old_key = intwa.json("account", "create", "IW0001")["apiKey"]
    before = datetime.now(UTC)

    rotated = intwa.json("account", "rotate-key", "IW0001", "--keep-old-for", "24h")

    assert list(rotated) == ["accountName", "apiKey", "oldKeysValidUntil"]
    until = datetime.fromisoformat(rotated["oldKeysValidUntil"])
    assert rotated["oldKeysValidUntil"].endswith("Z")
    assert before + timedelta(hours=24) <= until <= datetime.now(UTC) + timedelta(hours=24)
    assert intwa.authenticate(old_key).name == "IW0001"
    assert intwa.authenticate(rotated["apiKey"]).name == "IW0001"


def test_rotating_with_keep_old_for_says_until_when_in_the_table(intwa: Intwa) -> None:
    intwa.ok("account", "create", "IW0001")

    out = intwa.ok("account", "rotate-key", "IW0001", "--keep-old-for", "90m")

    title, _, row = out.splitlines()
    until = datetime.strptime(title.split("older keys work until ")[1][:20], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(until - (datetime.now(UTC) + timedelta(minutes=90))) < timedelta(minutes=1)
    assert intwa.authenticate(row.split()[1]).name == "IW0001"


def test_keep_old_for_0_stops_the_old_key_at_once(intwa: Intwa) -> None:
    old_key = intwa.json("account", "create", "IW0001")["apiKey"]

    rotated = intwa.json("account", "rotate-key", "IW0001", "--keep-old-for", "0")

    assert rotated["oldKeysValidUntil"] is None
    with pytest.raises(Unauthenticated):
        intwa.authenticate(old_key)


def test_a_key_kept_for_a_second_stops_working_after_it(intwa: Intwa) -> None:
    old_key = intwa.json("account", "create", "IW0001")["apiKey"]

    intwa.json("account", "rotate-key", "IW0001", "--keep-old-for", "1s")
    assert intwa.authenticate(old_key).name == "IW0001"
    time.sleep(1.05)

    with pytest.raises(Unauthenticated):
        intwa.authenticate(old_key)


@pytest.mark.parametrize(
    ("duration", "words"),
    [
        ("abc", "is not a duration"),
        ("10", "is not a duration"),
        ("1.5h", "is not a duration"),
        ("-1h", "is not a duration"),
        ("2w", "is not a duration"),
        ("", "is not a duration"),
        ("8d", "longer than 7 days"),
        ("169h", "longer than 7 days"),
        ("9" * 5000 + "s", "longer than 7 days"),
    ],
)
def test_a_bad_keep_old_for_is_a_usage_error_and_rotates_nothing(intwa: Intwa, duration: str, words: str) -> None:
    old_key = intwa.json("account", "create", "IW0001")["apiKey"]

    result = intwa("account", "rotate-key", "IW0001", "--keep-old-for", duration)

    assert result.exit_code == 2
    assert "--keep-old-for" in result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.output
    assert intwa.authenticate(old_key).name == "IW0001"


@pytest.mark.parametrize("duration", ["7d", "168H", "604800s", "0s"])
def test_keep_old_for_takes_up_to_7_days_in_any_unit(intwa: Intwa, duration: str) -> None:
    intwa.ok("account", "create", "IW0001")

    assert intwa.json("account", "rotate-key", "IW0001", "--keep-old-for", duration)["accountName"] == "IW0001"
