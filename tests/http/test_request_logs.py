"""The request log: one line per request on `intwa.access`, its `X-Request-ID`, and no secrets anywhere."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterator

import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.domain.errors import ProviderCredentialsRejected
from intwa.entrypoints.logs import JsonFormatter, TextFormatter, configure_logging
from intwa.settings import LoggingSettings
from tests.conftest import PHONE_ID, WABA_ID
from tests.fakes.clock import FakeClock
from tests.http.conftest import ACCOUNT, OTHER_ACCOUNT, Api
from tests.webhook_examples import notification, sign

PHONE_INFO = "/intwa-api/whatsapp/account/phoneInfo"
GRAPH_TOKEN = "EAAG-graph-token-that-must-stay-secret"
APP_SECRET = "app-secret-that-must-stay-secret"
VERIFY_TOKEN = "verify-token-that-must-stay-secret"
ACCESS_FIELDS = {"method", "path", "status", "code", "account", "duration_ms", "request_id"}


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    """Recognisable secrets, so that a leak into the log cannot hide."""
    return {
        "GRAPH__ACCESS_TOKEN": GRAPH_TOKEN,
        "WEBHOOK__APP_SECRET": APP_SECRET,
        "WEBHOOK__VERIFY_TOKEN": VERIFY_TOKEN,
    }


@pytest.fixture
def access_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="intwa.access")
    return caplog


async def access_records(caplog: pytest.LogCaptureFixture, count: int) -> list[logging.LogRecord]:
    """The request log's records once `count` are there.

    Lines are written at the end of the server loop's turn in which their requests end, and the test
    client runs the server in a thread of its own: the last line may come a moment after the answer.
    """
    for _ in range(400):
        records = [record for record in caplog.records if record.name == "intwa.access"]
        if len(records) >= count:
            return records
        await asyncio.sleep(0.005)
    return records


async def test_each_request_logs_one_line_with_method_path_status_code_account_duration_and_id(
    api: Api, access_log: pytest.LogCaptureFixture
) -> None:
    assert (await api.bind(WABA_ID, PHONE_ID)).status_code == 200
    await access_records(access_log, 1)
    access_log.clear()

    response = await api.post("phoneInfo", {"accountName": ACCOUNT, "wabaId": WABA_ID})

    [record] = await access_records(access_log, 1)
    request_id = response.headers["x-request-id"]
    assert record.levelno == logging.INFO
    assert re.fullmatch(
        rf"POST {PHONE_INFO} 200 code=0 account={ACCOUNT} \d+\.\d\dms id={re.escape(request_id)}",
        record.getMessage(),
    )


@pytest.mark.parametrize(
    ("send", "line"),
    [
        ({"key": "iwk_unknown"}, f"POST {PHONE_INFO} 401 code=40100 account=- "),
        ({"account": OTHER_ACCOUNT}, f"POST {PHONE_INFO} 403 code=40300 account={OTHER_ACCOUNT} "),
        ({"body": {"accountName": ACCOUNT, "wabaId": 1}}, f"POST {PHONE_INFO} 400 code=40000 account={ACCOUNT} "),
        ({"body": {"accountName": ACCOUNT, "wabaId": "1"}}, f"POST {PHONE_INFO} 404 code=40400 account={ACCOUNT} "),
    ],
)
async def test_an_error_is_logged_with_its_envelope_code_and_the_keys_account(
    api: Api, access_log: pytest.LogCaptureFixture, send: dict[str, object], line: str
) -> None:
    body = send.get("body", {"accountName": ACCOUNT, "wabaId": WABA_ID})
    account = str(send.get("account", ACCOUNT))
    key = send.get("key")

    await api.post("phoneInfo", body, account=account, key=None if key is None else str(key))

    [record] = await access_records(access_log, 1)
    assert record.getMessage().startswith(line)


async def test_unknown_paths_and_refused_methods_are_logged_too(api: Api, access_log: pytest.LogCaptureFixture) -> None:
    await api.client.post("/nowhere", json={})
    await api.client.get("/intwa-api/whatsapp/account/bind")

    lines = [record.getMessage() for record in await access_records(access_log, 2)]
    assert lines[0].startswith("POST /nowhere 404 code=40400 account=- ")
    assert lines[1].startswith("GET /intwa-api/whatsapp/account/bind 405 code=40500 account=- ")


async def test_an_unknown_method_is_logged_within_a_bound(api: Api, access_log: pytest.LogCaptureFixture) -> None:
    await api.client.request("FOO", "/intwa-api/whatsapp/account/bind")
    await api.client.request("X" * 10_000, "/intwa-api/whatsapp/account/bind")

    lines = [record.getMessage() for record in await access_records(access_log, 2)]
    assert lines[0].startswith("FOO /intwa-api/whatsapp/account/bind 405 code=40500 account=- ")
    assert lines[1].startswith("X" * 32 + " /intwa-api/whatsapp/account/bind 405 code=40500 account=- ")


async def test_probes_and_scrapes_are_logged_at_debug_only(api: Api, access_log: pytest.LogCaptureFixture) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        assert (await api.client.get(path)).status_code == 200
    await api.client.get("/nowhere")

    [record] = await access_records(access_log, 1)
    assert record.getMessage().startswith("GET /nowhere 404 ")


async def test_with_json_logs_each_field_is_a_key_of_its_own(api: Api, access_log: pytest.LogCaptureFixture) -> None:
    response = await api.client.post("/nowhere", json={}, headers={"X-Request-ID": "req-1"})

    [record] = await access_records(access_log, 1)
    entry = json.loads(JsonFormatter().format(record))
    assert entry.keys() >= ACCESS_FIELDS
    assert {key: entry[key] for key in ACCESS_FIELDS - {"duration_ms"}} == {
        "method": "POST",
        "path": "/nowhere",
        "status": 404,
        "code": 40400,
        "account": None,
        "request_id": "req-1",
    }
    assert isinstance(entry["duration_ms"], float)
    assert entry["logger"] == "intwa.access"
    assert entry["message"].startswith("POST /nowhere 404 code=40400 account=- ")
    assert response.headers["x-request-id"] == "req-1"


async def test_a_sane_request_id_is_echoed(api: Api, access_log: pytest.LogCaptureFixture) -> None:
    request_id = "Ab-0_9." + "x" * 121  # 128 characters, all allowed

    response = await api.client.get("/healthz", headers={"X-Request-ID": request_id})

    assert response.headers["x-request-id"] == request_id


async def test_without_a_request_id_each_request_gets_a_new_one(api: Api) -> None:
    first = (await api.client.get("/healthz")).headers["x-request-id"]
    second = (await api.client.get("/healthz")).headers["x-request-id"]

    assert first != second
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,128}", first)


@pytest.mark.parametrize(
    "insane", [b"x" * 129, b"with space", b"semi;colon", b"back\\slash", "caf\u00e9".encode(), b""]
)
async def test_an_insane_request_id_is_replaced(api: Api, access_log: pytest.LogCaptureFixture, insane: bytes) -> None:
    response = await api.client.post("/nowhere", headers={"X-Request-ID": insane})

    request_id = response.headers["x-request-id"]
    assert request_id.encode() != insane
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,128}", request_id)
    assert (await access_records(access_log, 1))[0].getMessage().endswith(f" id={request_id}")


async def test_the_50000_message_and_its_log_lines_carry_the_request_id(
    api: Api, fake_provider: FakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake_provider.fail_with(None, RuntimeError("the fake broke"))  # type: ignore[arg-type]

    response = await api.client.post(
        "/intwa-api/whatsapp/account/bind",
        json={"accountName": ACCOUNT, "wabaId": WABA_ID, "phoneNumberId": PHONE_ID},
        headers={"Authorization": f"Bearer {api.keys[ACCOUNT]}", "X-Request-ID": "trace-42"},
    )

    assert response.status_code == 500
    assert response.json()["message"] == "unexpected error; request id trace-42"
    assert response.headers["x-request-id"] == "trace-42"
    [error] = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert "request id trace-42" in error.getMessage()
    assert json.loads(JsonFormatter().format(error))["request_id"] == "trace-42"
    [access] = await access_records(caplog, 1)
    assert access.getMessage().startswith(f"POST /intwa-api/whatsapp/account/bind 500 code=50000 account={ACCOUNT} ")
    assert access.getMessage().endswith(" id=trace-42")


async def test_control_characters_in_a_path_cannot_forge_a_log_line(
    api: Api, access_log: pytest.LogCaptureFixture
) -> None:
    await api.client.get("/a%0A2026-01-01 INFO intwa.access: forged")

    [record] = await access_records(access_log, 1)
    assert "\n" not in TextFormatter().format(record)
    assert record.getMessage().startswith("GET /a\\n2026-01-01 INFO intwa.access: forged 404 ")


async def test_no_secret_appears_in_any_log_record(
    api: Api, fake_provider: FakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = api.keys[ACCOUNT]
    await api.bind(WABA_ID, PHONE_ID)
    await api.post("phoneInfo", {"accountName": ACCOUNT, "wabaId": WABA_ID})
    await api.post("wabaInfo", {"accountName": OTHER_ACCOUNT}, account=ACCOUNT)  # 40300
    await api.post("phoneInfo", {"accountName": ACCOUNT}, key=key + "x")  # 40100 with a near miss of the key
    await api.client.post(PHONE_INFO, content=b"{not json", headers={"Authorization": f"Bearer {key}"})
    webhook = "/intwa-api/whatsapp/webhook"
    for token in (VERIFY_TOKEN, "wrong"):
        await api.client.get(webhook, params={"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1"})
    body = notification("account_review_update", {"decision": "APPROVED"})
    await api.client.post(webhook, content=body, headers={"X-Hub-Signature-256": sign(body, APP_SECRET)})
    await api.client.post(webhook, content=body, headers={"X-Hub-Signature-256": sign(body, "not-the-secret")})
    fake_provider.fail_with(None, ProviderCredentialsRejected("Meta rejected the access token", trace_id="T1"))
    await api.post("phoneInfo", {"accountName": ACCOUNT, "wabaId": WABA_ID})  # fresh: served from the snapshot
    await api.bind(WABA_ID, "267300000093635")  # 50200
    fake_provider.fail_with(None, RuntimeError("broken"))  # type: ignore[arg-type]
    await api.bind(WABA_ID, "267300000093635")  # 50000

    assert len(await access_records(caplog, 12)) == 12
    # The test client's own httpx logs show the URLs it requests; they are not the server's.
    records = [record for record in caplog.records if not record.name.startswith(("httpx", "httpcore"))]
    assert any(record.exc_info for record in records)  # the 50000's traceback is checked too
    text, structured = TextFormatter(), JsonFormatter()
    logged = "\n".join(text.format(record) + structured.format(record) for record in records)
    for secret in (*api.keys.values(), GRAPH_TOKEN, APP_SECRET, VERIFY_TOKEN):
        assert secret not in logged


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """`configure_logging` sets up the process's logging: put pytest's back afterwards."""
    root, access = logging.getLogger(), logging.getLogger("intwa.access")
    handlers, level, access_level = root.handlers[:], root.level, access.level
    switches = (logging._srcfile, logging.logThreads, logging.logProcesses, logging.logMultiprocessing)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    access.setLevel(access_level)
    logging._srcfile, logging.logThreads, logging.logProcesses, logging.logMultiprocessing = switches


async def test_with_logging_format_json_the_server_writes_each_line_as_one_json_object(
    api: Api, restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(LoggingSettings(level="INFO", format="json"))

    await api.client.post("/nowhere", headers={"X-Request-ID": "json-1"})

    written = ""
    for _ in range(400):
        written += capsys.readouterr().err
        if "json-1" in written:
            break
        await asyncio.sleep(0.005)
    [entry] = [json.loads(line) for line in written.splitlines() if '"intwa.access"' in line]
    assert entry["message"].startswith("POST /nowhere 404 code=40400 account=- ")
    assert {key: entry[key] for key in ACCESS_FIELDS - {"duration_ms"}} == {
        "method": "POST",
        "path": "/nowhere",
        "status": 404,
        "code": 40400,
        "account": None,
        "request_id": "json-1",
    }


async def test_access_log_false_turns_the_lines_off_and_keeps_the_metrics(
    api: Api, restore_logging: None, caplog: pytest.LogCaptureFixture
) -> None:
    configure_logging(LoggingSettings(level="INFO", access_log=False))
    logging.getLogger().addHandler(caplog.handler)

    await api.client.post("/nowhere")
    await asyncio.sleep(0.05)

    assert not logging.getLogger("intwa.access").isEnabledFor(logging.INFO)
    assert [record for record in caplog.records if record.name == "intwa.access"] == []
    assert 'route="unmatched"' in (await api.client.get("/metrics")).text


class TestWithARateLimit:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, str]:
        return {"SERVER__RATE_LIMIT_PER_MINUTE": "1"}

    @pytest.fixture
    def clock(self) -> FakeClock:
        """Still time: both requests fall in one minute."""
        return FakeClock()

    async def test_a_rate_limited_request_is_logged_with_its_account(
        self, api: Api, access_log: pytest.LogCaptureFixture
    ) -> None:
        body = {"accountName": ACCOUNT, "wabaId": WABA_ID}
        await api.post("phoneInfo", body)
        response = await api.post("phoneInfo", body)

        assert response.status_code == 429
        lines = [record.getMessage() for record in await access_records(access_log, 2)]
        assert lines[1].startswith(f"POST {PHONE_INFO} 429 code=42900 account={ACCOUNT} ")
