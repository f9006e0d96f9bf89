"""`phone-info` and `waba-info` show Meta's verdict and the issue behind it; `--json` has every field; `history`
records the verdict and the name status changing."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.domain.documents import HealthIssueView
from intwa.entrypoints.cli.render import issue_cell, shortened
from tests.cli.conftest import Intwa
from tests.conftest import OTHER_WABA_ID, OTHER_WABA_PHONE_ID, PHONE_ID, SECOND_PHONE_ID, WABA_ID
from tests.health_examples import NAME_NOT_APPROVED, PAYMENT_ERROR, PAYMENT_ISSUE, write_data_with_health

BLOCKED_BY_PAYMENT = HealthIssueView(
    "WABA", OTHER_WABA_ID, "BLOCKED", 141006, PAYMENT_ERROR["error_description"], PAYMENT_ERROR["possible_solution"]
)
LIMITED_BY_NAME = HealthIssueView("PHONE_NUMBER", SECOND_PHONE_ID, "LIMITED", None, NAME_NOT_APPROVED, None)
PAYMENT_CELL = (
    "141006 There is an error with the payment method… → fix: …Please add a new payment method to the account."
)


@pytest.fixture
def fake_data_path(tmp_path: Path) -> Path:
    return write_data_with_health(tmp_path)


@pytest.fixture
def bound(intwa: Intwa) -> Intwa:
    intwa.ok("account", "create", "IW0001")
    intwa.ok("bind", "IW0001", WABA_ID, PHONE_ID)
    intwa.ok("bind", "IW0001", OTHER_WABA_ID, OTHER_WABA_PHONE_ID)
    return intwa


def rows(output: str) -> list[dict[str, str]]:
    """A printed table as one dict per row, by header (columns are as wide as their widest cell)."""
    header, *lines = output.splitlines()
    starts = [i for i, char in enumerate(header) if char != " " and (i == 0 or header[i - 2 : i] == "  ")]
    names = [header[start:end].strip() for start, end in zip(starts, [*starts[1:], None], strict=True)]
    return [
        {name: line[start:end].strip() for name, start, end in zip(names, starts, [*starts[1:], None], strict=True)}
        for line in lines
    ]


def test_phone_info_shows_the_verdict_and_the_issue_behind_it(bound: Intwa) -> None:
    tech = rows(bound.ok("phone-info", "IW0001", WABA_ID))
    code = rows(bound.ok("phone-info", "IW0001", OTHER_WABA_ID))

    assert [(row["ID"], row["CAN SEND"], row["ISSUE"]) for row in tech + code] == [
        (PHONE_ID, "AVAILABLE", "-"),
        (SECOND_PHONE_ID, "LIMITED", "Your display name has not been approved yet…"),
        (OTHER_WABA_PHONE_ID, "BLOCKED", PAYMENT_CELL),
    ]


def test_waba_info_shows_the_verdict_and_the_issue_behind_it(bound: Intwa) -> None:
    table = rows(bound.ok("waba-info", "IW0001"))

    assert [(row["WABA ID"], row["ACCESSIBLE"], row["CAN SEND"], row["ISSUE"]) for row in table] == [
        (WABA_ID, "yes", "AVAILABLE", "-"),
        (OTHER_WABA_ID, "yes", "BLOCKED", PAYMENT_CELL),
    ]


def test_json_has_every_field_in_the_http_apis_camel_case(bound: Intwa) -> None:
    (phone,) = bound.json("phone-info", "IW0001", OTHER_WABA_ID)
    wabas = bound.json("waba-info", "IW0001")

    assert phone == {
        "id": OTHER_WABA_PHONE_ID,
        "displayPhoneNumber": "+86 133-1234-5155",
        "verifiedName": "TIG Code",
        "status": "CONNECTED",
        "qualityRating": "YELLOW",
        "messageLimit": "TIER_1K",
        "canSendMessage": "BLOCKED",
        "healthIssues": [PAYMENT_ISSUE],
        "nameStatus": "UNKNOWN",
        "codeVerificationStatus": "UNKNOWN",
        "platformType": "CLOUD_API",
        "throughputLevel": "UNKNOWN",
    }
    assert [list(waba) for waba in wabas] == [
        [
            "wabaId",
            "wabaName",
            "wabaStatus",
            "canSendMessage",
            "healthIssues",
            "businessVerificationStatus",
            "accessible",
        ]
    ] * 2
    assert (wabas[1]["healthIssues"], wabas[1]["businessVerificationStatus"]) == ([PAYMENT_ISSUE], "pending")


def test_history_records_the_verdict_and_the_name_status_that_a_sync_brings(
    bound: Intwa, fake_provider: FakeProvider
) -> None:
    fake_provider.update_phone(
        WABA_ID,
        SECOND_PHONE_ID,
        name_status="APPROVED",
        health_status={"can_send_message": "AVAILABLE", "entities": []},
    )
    fake_provider.update_waba(OTHER_WABA_ID, health_status={"can_send_message": "AVAILABLE"})

    bound.ok("sync")

    changes = [
        (c["wabaId"], c["phoneNumberId"], c["field"], c["old"], c["new"], c["source"]) for c in bound.json("history")
    ]
    assert sorted(changes, key=str) == sorted(
        [
            (WABA_ID, SECOND_PHONE_ID, "canSendMessage", "LIMITED", "AVAILABLE", "sync"),
            (WABA_ID, SECOND_PHONE_ID, "nameStatus", "PENDING_REVIEW", "APPROVED", "sync"),
            (OTHER_WABA_ID, None, "canSendMessage", "BLOCKED", "AVAILABLE", "sync"),
        ],
        key=str,
    )


# the issue cell


def test_a_number_blocked_by_its_waba_shows_the_wabas_error_before_its_own_limitation() -> None:
    cell = issue_cell("BLOCKED", [LIMITED_BY_NAME, BLOCKED_BY_PAYMENT])

    assert cell == PAYMENT_CELL + " (+1 more)"


def test_an_issue_without_a_code_or_a_fix_shows_its_description_alone() -> None:
    short = HealthIssueView("APP", "1", "LIMITED", None, "Rate limited for a while.", None)

    assert issue_cell("LIMITED", [short]) == "Rate limited for a while."
    assert issue_cell("BLOCKED", [HealthIssueView("WABA", "1", "BLOCKED", None, "", None)]) == "(no description)"
    assert issue_cell("AVAILABLE", []) == "-"


@pytest.mark.parametrize(
    ("text", "keep", "expected"),
    [
        ("Short enough.", "first", "Short enough."),
        ("First sentence stays. The second one goes away entirely.", "first", "First sentence stays…"),
        ("Problem restated first. Do this to fix it.", "last", "…Do this to fix it."),
        ("one very long sentence without any full stop that goes on and on", "first", "one very long sentence…"),
        ("spread\nover   lines", "first", "spread over lines"),
    ],
)
def test_long_text_is_shortened_at_a_sentence_or_a_word(
    text: str, keep: Literal["first", "last"], expected: str
) -> None:
    assert shortened(text, 24, keep=keep) == expected
