"""`intwa callback set|info|delete|test` (SPEC §4): the callback endpoints' rules for an operator.

The configuration opens the URL rules, so a test ping reaches a receiver on 127.0.0.1; one test keeps them
closed, as they are by default.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from intwa.adapters.provider.fake import FakeProvider
from tests.callback_receiver import Answer, Receiver, running_receiver
from tests.cli.conftest import Intwa, assert_fails, with_provider, write_config

ACCOUNT = "IW0001"
SECRET = re.compile(r"whsec_[A-Za-z0-9+/]{43}=")
OPEN_RULES = "\n[events]\nallow_http = true\nallow_private_targets = true\ntimeout_seconds = 2\n"


@pytest.fixture
def intwa(tmp_path: Path, fake_data_path: Path, fake_provider: FakeProvider) -> Intwa:
    config = write_config(
        tmp_path / "intwa.toml", tmp_path / "var" / "intwa.db", fake_data=str(fake_data_path), extra=OPEN_RULES
    )
    run = Intwa(config, with_provider(fake_provider))
    run.ok("db", "migrate")
    run.ok("account", "create", ACCOUNT)
    return run


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as receiver:
        yield receiver


def test_set_prints_the_callback_and_its_new_secret_once(intwa: Intwa) -> None:
    first = intwa.json(
        "callback", "set", ACCOUNT, "https://127.0.0.1:8443/intwa", "--types", "waba.updated, binding.created"
    )
    again = intwa.json("callback", "set", ACCOUNT, "https://127.0.0.1:8443/v2")

    assert list(first) == ["url", "types", "secret", "enabled", "createdAt", "previousSecretUntil"]
    assert first["types"] == ["waba.updated", "binding.created", "test.ping"]
    assert SECRET.fullmatch(first["secret"])
    assert again == {**first, "url": "https://127.0.0.1:8443/v2", "types": None, "secret": None}


def test_the_set_table_shows_the_secret_only_when_it_is_new(intwa: Intwa) -> None:
    first = intwa.ok("callback", "set", ACCOUNT, "https://127.0.0.1:8443/intwa")
    again = intwa.ok("callback", "set", ACCOUNT, "https://127.0.0.1:8443/intwa")
    rotated = intwa.ok("callback", "set", ACCOUNT, "https://127.0.0.1:8443/intwa", "--rotate-secret")

    assert first.startswith(f"set the callback of account {ACCOUNT}; its secret is shown only now:\nURL")
    assert SECRET.search(first)
    assert again.startswith(f"set the callback of account {ACCOUNT} (its secret is unchanged)\n")
    assert not SECRET.search(again)
    secrets = {match.group() for match in SECRET.finditer(first + rotated)}
    assert len(secrets) == 2


def test_info_shows_the_callback_without_its_secret_and_its_deliveries(intwa: Intwa) -> None:
    secret = intwa.json("callback", "set", ACCOUNT, "https://127.0.0.1:8443/intwa")["secret"]

    shown = intwa.json("callback", "info", ACCOUNT)
    table = intwa.ok("callback", "info", ACCOUNT)

    assert shown == {
        "url": "https://127.0.0.1:8443/intwa",
        "types": None,
        "enabled": True,
        "createdAt": shown["createdAt"],
        "previousSecretUntil": None,
        "pending": 0,
        "failing": 0,
        "lastDelivery": None,
    }
    assert table.splitlines()[1].split() == ["URL", "TYPES", "ENABLED", "PENDING", "FAILING", "LAST", "DELIVERY"]
    assert table.splitlines()[2].split() == ["https://127.0.0.1:8443/intwa", "all", "yes", "0", "0", "-"]
    assert secret not in table


def test_delete_prints_the_deleted_callback_and_then_there_is_none(intwa: Intwa) -> None:
    intwa.ok("callback", "set", ACCOUNT, "https://127.0.0.1:8443/intwa")

    deleted = intwa.json("callback", "delete", ACCOUNT)

    assert (deleted["url"], deleted["secret"]) == ("https://127.0.0.1:8443/intwa", None)
    assert_fails(intwa("callback", "info", ACCOUNT), 40400, f"account `{ACCOUNT}` has no callback URL")


def test_a_test_ping_reaches_the_receiver_signed_with_the_secret_set_printed(intwa: Intwa, receiver: Receiver) -> None:
    secret = intwa.json("callback", "set", ACCOUNT, receiver.url())["secret"]

    result = intwa.json("callback", "test", ACCOUNT)

    assert (result["delivered"], result["status"], result["error"]) == (True, 200, None)
    [received] = receiver.requests
    event = received.verified(secret)
    assert isinstance(event, dict)
    assert (event["id"], event["data"]) == (result["eventId"], {"accountName": ACCOUNT, "source": "operator"})


def test_a_test_ping_the_receiver_refuses_prints_why_and_exits_1(intwa: Intwa, receiver: Receiver) -> None:
    intwa.ok("callback", "set", ACCOUNT, receiver.url())
    receiver.answer = Answer(503)

    as_json = intwa("callback", "test", ACCOUNT, "--json")
    as_table = intwa("callback", "test", ACCOUNT)

    assert as_json.exit_code == 1
    data = json.loads(as_json.stdout)
    assert (data["delivered"], data["status"], data["error"]) == (False, 503, "the receiver answered 503")
    assert as_table.exit_code == 1
    assert as_table.stdout.startswith("the test ping was not delivered\nEVENT ID")
    assert "the receiver answered 503" in as_table.stdout


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["callback", "info", "IW0404"], 40402, "no account named `IW0404`"),
        (["callback", "set", "IW0404", "https://127.0.0.1/"], 40402, "no account named `IW0404`"),
        (["callback", "test", ACCOUNT], 40400, "has no callback URL"),
        (["callback", "delete", ACCOUNT], 40400, "has no callback URL"),
        (["callback", "set", ACCOUNT, "https://127.0.0.1/", "--types", "waba.created"], 40000, "unknown event type"),
        (["callback", "set", ACCOUNT, "ftp://127.0.0.1/"], 42206, "it must be an http:// or https:// URL"),
    ],
)
def test_a_refusal_is_one_line_with_its_code(intwa: Intwa, args: list[str], code: int, words: str) -> None:
    assert_fails(intwa(*args), code, words)


def test_with_the_default_rules_a_private_or_plain_http_url_is_refused(
    tmp_path: Path, fake_data_path: Path, fake_provider: FakeProvider
) -> None:
    config = write_config(tmp_path / "strict.toml", tmp_path / "var" / "strict.db", fake_data=str(fake_data_path))
    intwa = Intwa(config, with_provider(fake_provider))
    intwa.ok("db", "migrate")
    intwa.ok("account", "create", ACCOUNT)

    assert_fails(intwa("callback", "set", ACCOUNT, "https://127.0.0.1/hook"), 42206, "127.0.0.1 is a loopback address")
    assert_fails(intwa("callback", "set", ACCOUNT, "http://localhost/hook"), 42206, "it must be an https:// URL")
    assert_fails(
        intwa("callback", "set", ACCOUNT, "https://localhost/hook"),
        42206,
        "its host localhost must resolve to public internet addresses only",
    )
