"""`intwa sync`, `intwa history` and `intwa webhook-events`, against the fake provider's data changed by the tests."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.container import Container
from intwa.domain.errors import ProviderUnavailable, WabaNotAccessible
from tests.cli.conftest import Intwa, assert_fails, with_container
from tests.conftest import OTHER_WABA_ID, OTHER_WABA_PHONE_ID, PHONE_ID, WABA_ID
from tests.webhook_examples import notification

CHANGE_KEYS = ["at", "wabaId", "phoneNumberId", "field", "old", "new", "source"]


@pytest.fixture
def bound(intwa: Intwa) -> Intwa:
    """The CLI with IW0001 holding WABA_ID and IW0002 holding OTHER_WABA_ID."""
    for name in ("IW0001", "IW0002"):
        intwa.ok("account", "create", name)
    intwa.ok("bind", "IW0001", WABA_ID, PHONE_ID)
    intwa.ok("bind", "IW0002", OTHER_WABA_ID, OTHER_WABA_PHONE_ID)
    return intwa


def test_sync_prints_a_summary_of_what_it_refreshed(bound: Intwa, fake_provider: FakeProvider) -> None:
    fake_provider.update_phone(WABA_ID, PHONE_ID, quality_rating="RED")

    assert bound.ok("sync") == "refreshed 2, changed 1, failed 0\n"


def test_sync_json_reports_every_waba(bound: Intwa, fake_provider: FakeProvider) -> None:
    fake_provider.update_phone(WABA_ID, PHONE_ID, quality_rating="RED", status="FLAGGED")

    assert bound.json("sync") == {
        "refreshed": 2,
        "changed": 1,
        "failed": 0,
        "wabas": [
            {"wabaId": WABA_ID, "changes": 2, "error": None},
            {"wabaId": OTHER_WABA_ID, "changes": 0, "error": None},
        ],
    }


def test_sync_of_one_account_refreshes_only_its_wabas(bound: Intwa, fake_provider: FakeProvider) -> None:
    before = fake_provider.calls["fetch_waba"]

    report = bound.json("sync", "IW0002")

    assert [waba["wabaId"] for waba in report["wabas"]] == [OTHER_WABA_ID]
    assert fake_provider.calls["fetch_waba"] - before == 1


def test_sync_of_an_unknown_account_fails_with_one_line(bound: Intwa) -> None:
    assert_fails(bound("sync", "IW0009"), 40402, "IW0009")


def test_a_failed_refresh_exits_with_1_and_names_the_waba(bound: Intwa, fake_provider: FakeProvider) -> None:
    fake_provider.fail_with(OTHER_WABA_ID, ProviderUnavailable("Meta is unavailable"))

    result = bound("sync")

    assert result.exit_code == 1
    assert result.stdout == "refreshed 1, changed 0, failed 1\n"
    assert result.stderr == f"WABA {OTHER_WABA_ID}: error 50300: Meta is unavailable\n"


def test_a_failed_refresh_is_in_the_json_report_too(bound: Intwa, fake_provider: FakeProvider) -> None:
    fake_provider.fail_with(WABA_ID, WabaNotAccessible(f"WABA `{WABA_ID}` is no longer shared"))

    result = bound("sync", "--json")

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr == ""
    report = json.loads(result.stdout)
    assert (report["refreshed"], report["changed"], report["failed"]) == (1, 1, 1)
    assert report["wabas"][0] == {
        "wabaId": WABA_ID,
        "changes": 1,  # accessible: true → false
        "error": {"code": 42200, "message": f"WABA `{WABA_ID}` is no longer shared"},
    }


def test_sync_without_bindings_refreshes_nothing(intwa: Intwa) -> None:
    assert intwa.ok("sync") == "refreshed 0, changed 0, failed 0\n"


def test_sync_shows_a_progress_bar_on_a_terminal(bound: Intwa) -> None:
    # A real terminal on stderr: the bar is drawn there, and stdout keeps only the summary.
    leader, follower = pty.openpty()
    intwa = str(Path(sys.executable).parent / "intwa")
    env = {key: value for key, value in os.environ.items() if not key.startswith("INTWA_")}
    try:
        done = subprocess.run(
            [intwa, "--config", str(bound.config_path), "sync"],
            stdout=subprocess.PIPE,
            stderr=follower,
            env={**env, "TERM": "xterm", "COLUMNS": "100"},
            timeout=30,
            check=False,
        )
        os.close(follower)
        terminal = _read_all(leader)
    finally:
        os.close(leader)

    assert done.returncode == 0, terminal
    assert done.stdout == b"refreshed 2, changed 0, failed 0\n"
    assert "syncing WABAs" in terminal


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the follower side is closed: everything is read
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def test_history_lists_the_changes_a_sync_recorded(bound: Intwa, fake_provider: FakeProvider) -> None:
    fake_provider.update_phone(WABA_ID, PHONE_ID, quality_rating="RED")
    fake_provider.update_waba(WABA_ID, name="PT TIG TECH INDONESIA")
    bound.ok("sync")

    history = bound.json("history")

    assert [list(change) for change in history] == [CHANGE_KEYS, CHANGE_KEYS]
    assert all(change["at"].endswith("Z") for change in history)
    assert [{key: value for key, value in change.items() if key != "at"} for change in history] == [
        {
            "wabaId": WABA_ID,
            "phoneNumberId": None,
            "field": "wabaName",
            "old": "PT TIG TECH",
            "new": "PT TIG TECH INDONESIA",
            "source": "sync",
        },
        {
            "wabaId": WABA_ID,
            "phoneNumberId": PHONE_ID,
            "field": "qualityRating",
            "old": "GREEN",
            "new": "RED",
            "source": "sync",
        },
    ]


def test_history_filters_by_waba_and_by_phone(bound: Intwa, fake_provider: FakeProvider) -> None:
    fake_provider.update_phone(WABA_ID, PHONE_ID, quality_rating="RED")
    fake_provider.update_waba(WABA_ID, account_review_status="REJECTED")
    fake_provider.update_phone(OTHER_WABA_ID, OTHER_WABA_PHONE_ID, whatsapp_business_manager_messaging_limit="TIER_10K")
    bound.ok("sync")

    of_waba = bound.json("history", "--waba", WABA_ID)
    of_phone = bound.json("history", "--phone", OTHER_WABA_PHONE_ID)

    assert [(change["wabaId"], change["field"]) for change in of_waba] == [
        (WABA_ID, "wabaStatus"),
        (WABA_ID, "qualityRating"),
    ]
    assert [(change["field"], change["old"], change["new"]) for change in of_phone] == [
        ("messageLimit", "TIER_1K", "TIER_10K")
    ]
    assert bound.json("history", "--waba", OTHER_WABA_ID, "--phone", PHONE_ID) == []


def test_history_prints_a_table_without_json(bound: Intwa, fake_provider: FakeProvider) -> None:
    fake_provider.update_phone(WABA_ID, PHONE_ID, quality_rating="RED")
    fake_provider.update_waba(WABA_ID, account_review_status="REJECTED")
    bound.ok("sync")

    lines = bound.ok("history").splitlines()

    assert lines[0].split() == ["AT", "WABA", "ID", "PHONE", "NUMBER", "ID", "FIELD", "OLD", "NEW", "SOURCE"]
    assert lines[1].split()[1:] == [WABA_ID, "-", "wabaStatus", "APPROVED", "REJECTED", "sync"]
    assert lines[2].split()[1:] == [WABA_ID, PHONE_ID, "qualityRating", "GREEN", "RED", "sync"]
    assert lines[1].split()[0].endswith("Z")
    assert lines[2].index("GREEN") == lines[0].index("OLD")


def test_history_without_changes_says_so(bound: Intwa) -> None:
    assert bound.ok("history") == "no recorded changes\n"
    assert bound.json("history") == []


def test_history_refuses_an_invalid_id(bound: Intwa) -> None:
    assert_fails(bound("history", "--waba", "27899-0"), 40000, "`--waba`")


# webhook-events


def _post_webhooks(intwa: Intwa, *bodies: bytes) -> None:
    """Apply Meta webhook posts as a server of the same settings would."""

    async def apply(container: Container) -> None:
        apply_webhook = await container.apply_webhook()
        for body in bodies:
            await apply_webhook(body)
        await apply_webhook.close()  # the refreshes they start are not this test's subject

    asyncio.run(with_container(intwa.settings(), apply))


def test_webhook_events_lists_the_kept_events_oldest_first_and_by_waba(bound: Intwa) -> None:
    restriction = {
        "event": "ACCOUNT_RESTRICTION",
        "restriction_info": [{"restriction_type": "RESTRICTED_ADD_PHONE_NUMBER_ACTION", "expiration": 1641330498}],
    }
    _post_webhooks(
        bound,
        notification("account_update", restriction, entry_id=WABA_ID),
        notification("account_update", {"event": "AD_ACCOUNT_LINKED"}, entry_id=OTHER_WABA_ID),
        notification("account_update", {"event": "ACCOUNT_DELETED"}, entry_id="278990000099999"),  # not bound
    )

    events = bound.json("webhook-events")
    of_waba = bound.json("webhook-events", "--waba", OTHER_WABA_ID)
    table = bound.ok("webhook-events").splitlines()

    assert [list(event) for event in events] == [["receivedAt", "wabaId", "field", "event", "value"]] * 2
    assert [(event["wabaId"], event["field"], event["event"]) for event in events] == [
        (WABA_ID, "account_update", "ACCOUNT_RESTRICTION"),
        (OTHER_WABA_ID, "account_update", "AD_ACCOUNT_LINKED"),
    ]
    assert events[0]["value"] == restriction
    assert events[0]["receivedAt"].endswith("Z")
    assert [event["event"] for event in of_waba] == ["AD_ACCOUNT_LINKED"]
    assert table[0].split() == ["RECEIVED", "AT", "WABA", "ID", "FIELD", "EVENT"]
    assert len(table) == 3


def test_webhook_events_without_any_says_so_and_refuses_a_malformed_waba_id(intwa: Intwa) -> None:
    assert intwa.ok("webhook-events") == "no webhook events kept\n"
    result = intwa("webhook-events", "--waba", "not-an-id")
    assert result.exit_code == 1
    assert "--waba" in result.stderr
    assert "Traceback" not in result.output
