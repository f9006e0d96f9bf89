"""The CLI as a whole: help, configuration, the database, `serve`, and how failures are reported."""

from __future__ import annotations

import os
import pickle
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from intwa.container import Container
from intwa.entrypoints.cli import CliContext, cli
from intwa.entrypoints.http.http_protocol import AnyMethodHttpProtocol
from intwa.entrypoints.http.server_protocol import BoundedHttpToolsProtocol
from intwa.settings import Settings
from tests.cli.conftest import Intwa, assert_fails, write_config
from tests.conftest import OTHER_WABA_ID, PHONE_ID, WABA_ID, waba_info_item

COMMANDS = [
    "account",
    "bind",
    "bindings",
    "callback",
    "config",
    "db",
    "events",
    "fake-graph",
    "history",
    "phone-info",
    "serve",
    "sync",
    "unbind",
    "waba-info",
    "webhook-events",
]


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])

    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == COMMANDS
    account_help = CliRunner().invoke(cli, ["account", "--help"]).stdout
    for command in ("create", "list", "disable", "enable", "rotate-key"):
        assert command in account_help


def test_the_intwa_console_script_runs() -> None:
    script = shutil.which("intwa", path=str(Path(sys.executable).parent))
    assert script is not None

    done = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=30, check=False)

    assert done.returncode == 0, done.stderr
    assert "phone-info" in done.stdout


def test_starting_the_cli_imports_no_heavy_module() -> None:
    # `intwa --help` must start fast: settings, the container and the frameworks load inside the commands.
    heavy = ["asyncio", "msgspec", "litestar", "uvicorn", "httpx", "aiosqlite", "dependency_injector", "rich"]
    probe = "import sys, intwa.entrypoints.cli; print(' '.join(m for m in sys.argv[1:] if m in sys.modules))"

    done = subprocess.run([sys.executable, "-c", probe, *heavy], capture_output=True, text=True, timeout=30, check=True)

    assert done.stdout.split() == []


@pytest.mark.parametrize(
    "args", [["account", "create"], ["no-such-command"], ["bind", "IW0001", WABA_ID], ["serve", "--port", "0"]]
)
def test_a_usage_error_exits_with_2(config_path: Path, args: list[str]) -> None:
    result = Intwa(config_path)(*args)

    assert result.exit_code == 2
    assert "Usage:" in result.stderr


def test_migrating_twice_says_the_schema_is_up_to_date(config_path: Path) -> None:
    intwa = Intwa(config_path)

    first = intwa.ok("db", "migrate")

    assert first.startswith("applied migrations: 1")
    assert intwa.ok("db", "migrate") == "schema is up to date\n"
    assert (config_path.parent / "var" / "intwa.db").exists()


def test_an_unknown_configuration_key_is_named(tmp_path: Path) -> None:
    config = write_config(tmp_path / "bad.toml", tmp_path / "intwa.db", extra="colour = 1\n")

    assert_fails(Intwa(config)("db", "migrate"), None, "colour", str(config))


def test_a_missing_configuration_file_is_named(tmp_path: Path) -> None:
    assert_fails(Intwa(tmp_path / "absent.toml")("account", "list"), None, "absent.toml", "does not exist")


def test_an_environment_variable_that_names_no_setting_is_named(config_path: Path) -> None:
    result = Intwa(config_path)("db", "migrate", env={"INTWA_SERVER__COLOUR": "red"})

    assert_fails(result, None, "INTWA_SERVER__COLOUR")


def test_the_configuration_file_can_come_from_intwa_config(config_path: Path) -> None:
    runner = CliRunner()

    result = runner.invoke(cli, ["db", "migrate"], env={"INTWA_CONFIG": str(config_path)})

    assert result.exit_code == 0, result.output
    assert (config_path.parent / "var" / "intwa.db").exists()


def test_storage_that_cannot_be_opened_is_a_one_line_error(tmp_path: Path) -> None:
    # The database's folder cannot be created: a file of that name is in the way.
    (tmp_path / "var").write_text("not a folder")
    config = write_config(tmp_path / "intwa.toml", tmp_path / "var" / "intwa.db")

    assert_fails(Intwa(config)("db", "migrate"), 50301, "cannot open the sqlite storage", "var/intwa.db")


def test_an_unexpected_error_is_one_line_without_a_traceback(config_path: Path) -> None:
    def broken_container(settings: Settings) -> Container:
        raise RuntimeError("the wiring is broken")

    intwa = Intwa(config_path, CliContext(container_factory=broken_container))

    assert_fails(intwa("account", "list"), None, "unexpected RuntimeError: the wiring is broken")


def test_intwa_debug_lets_an_unexpected_error_through(config_path: Path) -> None:
    def broken_container(settings: Settings) -> Container:
        raise RuntimeError("the wiring is broken")

    intwa = Intwa(config_path, CliContext(container_factory=broken_container))

    result = intwa("account", "list", env={"INTWA_DEBUG": "1"})

    assert result.exit_code == 1
    assert isinstance(result.exception, RuntimeError)


def test_serve_refuses_the_graph_provider_without_an_access_token(tmp_path: Path) -> None:
    config = write_config(tmp_path / "intwa.toml", tmp_path / "intwa.db", provider="graph")

    line = assert_fails(Intwa(config)("serve"), None, "INTWA_GRAPH__ACCESS_TOKEN", 'provider.backend = "fake"')

    assert "config/dev.toml" in line
    assert not (tmp_path / "intwa.db").exists()


def test_serve_migrates_then_runs_every_worker_on_the_same_settings(
    config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: dict[str, Any] = {}

    def run(app: str, **options: Any) -> None:
        served.update(options, app=app, environ=dict(os.environ))

    monkeypatch.setattr("uvicorn.run", run)
    intwa = Intwa(config_path)

    port = free_port()

    with mock.patch.dict(os.environ, {"INTWA_SERVER__MAX_HEADER_BYTES": "8192"}):
        out = intwa.ok("serve", "--port", str(port), "--workers", "3")

    assert out == f"intwa: serving the HTTP API on http://127.0.0.1:{port} with 3 worker(s)\n"
    assert intwa.ok("db", "migrate") == "schema is up to date\n"
    assert served["app"] == "intwa.entrypoints.http.app:create_app_from_env"
    assert served["factory"] is True
    assert (served["host"], served["port"], served["workers"]) == ("127.0.0.1", port, 3)
    assert (served["loop"], served["lifespan"], served["access_log"], served["timeout_keep_alive"]) == (
        "uvloop",
        "on",
        False,
        5.0,
    )
    # uvicorn pickles the protocol into each worker process: the limits must travel with it.
    protocol = pickle.loads(pickle.dumps(served["http"]))  # noqa: S301 - bytes pickled just above
    assert protocol.func is BoundedHttpToolsProtocol
    assert issubclass(protocol.func, AnyMethodHttpProtocol)  # methods httptools does not know go to h11
    assert (protocol.keywords["limits"].max_header_bytes, protocol.keywords["limits"].max_connections) == (8192, 1000)
    assert served["log_level"] == "info"
    assert served["environ"]["INTWA_CONFIG"] == str(config_path)
    assert served["environ"]["INTWA_SERVER__PORT"] == str(port)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_on_a_port_in_use_fails_in_one_line_before_touching_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[str] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **options: served.append(app))
    database = tmp_path / "var" / "intwa.db"
    intwa = Intwa(write_config(tmp_path / "intwa.toml", database))

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = intwa("serve", "--port", str(port))

    assert_fails(result, None, f"cannot listen on 127.0.0.1:{port}: address already in use")
    assert not (tmp_path / "var").exists()
    assert served == []


def test_serve_on_an_address_it_cannot_listen_on_names_it(tmp_path: Path) -> None:
    intwa = Intwa(write_config(tmp_path / "intwa.toml", tmp_path / "intwa.db"))

    result = intwa("serve", "--host", "192.0.2.1", "--port", str(free_port()))  # TEST-NET-1: never this machine's

    assert_fails(result, None, "cannot listen on 192.0.2.1:")
    assert not (tmp_path / "intwa.db").exists()


def test_fake_graph_on_a_port_in_use_fails_in_one_line(config_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("uvicorn.run", lambda app, **options: pytest.fail("uvicorn must not start"))

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = Intwa(config_path)("fake-graph", "--port", str(port))

    assert_fails(result, None, f"cannot listen on 127.0.0.1:{port}: address already in use")


def test_the_built_in_demo_data_serves_when_no_fake_data_file_is_set(tmp_path: Path) -> None:
    demo_waba_id, demo_phone_id = "278990000057661", "267300000093634"  # from demo_data.json
    intwa = Intwa(write_config(tmp_path / "intwa.toml", tmp_path / "intwa.db"))
    intwa.ok("db", "migrate")
    intwa.ok("account", "create", "IW0001")

    intwa.ok("bind", "IW0001", demo_waba_id, demo_phone_id)

    assert intwa.json("waba-info", "IW0001") == [
        waba_info_item(
            demo_waba_id, "PT TIG TECH", "APPROVED", canSendMessage="AVAILABLE", businessVerificationStatus="verified"
        )
    ]


def test_fake_graph_serves_the_data_file_and_accepts_the_configured_token(
    tmp_path: Path, fake_data_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **options: served.update(options, app=app))
    config = write_config(
        tmp_path / "intwa.toml", tmp_path / "intwa.db", extra='\n[graph]\naccess_token = "fake-token"\n'
    )

    out = Intwa(config).ok("fake-graph", "--port", "9124", "--data", str(fake_data_path))

    assert out == "intwa: serving a fake Graph API on http://127.0.0.1:9124 (set graph.base_url to it)\n"
    assert (served["host"], served["port"]) == ("127.0.0.1", 9124)
    with TestClient(app=served["app"]) as graph:
        waba = graph.get(f"/v25.0/{OTHER_WABA_ID}", headers={"Authorization": "Bearer fake-token"})
        refused = graph.get(f"/v25.0/{OTHER_WABA_ID}", headers={"Authorization": "Bearer another-token"})
    assert waba.json()["name"] == "PT TIG CODE"
    assert refused.status_code != 200


def test_fake_graph_names_a_missing_data_file(config_path: Path) -> None:
    assert_fails(Intwa(config_path)("fake-graph", "--data", "absent.json"), None, "absent.json", "does not exist")


def test_a_missing_fake_data_file_of_the_provider_is_named(tmp_path: Path) -> None:
    intwa = Intwa(write_config(tmp_path / "intwa.toml", tmp_path / "intwa.db", fake_data="absent.json"))
    intwa.ok("db", "migrate")
    intwa.ok("account", "create", "IW0001")

    assert_fails(intwa("bind", "IW0001", WABA_ID, PHONE_ID), None, "absent.json", "does not exist")


@pytest.mark.parametrize(
    "args",
    [
        ["account", "list", "--config", "{config}"],
        ["account", "--config", "{config}", "list"],
        ["bindings", "--config", "{config}"],
        ["history", "--json", "--config", "{config}"],
    ],
    ids=" ".join,
)
def test_config_is_accepted_after_the_command_too(config_path: Path, args: list[str]) -> None:
    Intwa(config_path).ok("db", "migrate")

    result = CliRunner().invoke(cli, [arg.format(config=config_path) for arg in args])

    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_db_migrate_takes_config_after_the_command(config_path: Path) -> None:
    result = CliRunner().invoke(cli, ["db", "migrate", "--config", str(config_path)])

    assert result.exit_code == 0, result.output
    assert (config_path.parent / "var" / "intwa.db").exists()


def test_the_config_given_after_the_command_wins_over_the_one_before_and_intwa_config(
    config_path: Path, tmp_path: Path
) -> None:
    other = write_config(tmp_path / "other.toml", tmp_path / "other" / "intwa.db")
    runner = CliRunner()

    after = runner.invoke(
        cli, ["--config", str(config_path), "db", "migrate", "--config", str(other)], env={"INTWA_CONFIG": "x.toml"}
    )
    from_environment = runner.invoke(cli, ["account", "list"], env={"INTWA_CONFIG": str(config_path)})

    assert after.exit_code == 0, after.output
    assert (tmp_path / "other" / "intwa.db").exists()
    assert not (config_path.parent / "var").exists()
    assert_fails(from_environment, None, "does not exist", "`intwa db migrate`")  # the file INTWA_CONFIG names


def test_every_command_lists_config_in_its_help() -> None:
    groups = {"account": ["create", "list", "disable", "enable", "rotate-key"], "config": ["check"], "db": ["migrate"]}
    for command in COMMANDS:
        for args in [[command, sub] for sub in groups[command]] if command in groups else [[command]]:
            result = CliRunner().invoke(cli, [*args, "--help"])
            assert "--config PATH" in result.stdout, args
