"""`intwa config show`: the effective configuration, with no secret's value in it."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import msgspec
import pytest

from intwa.settings import Secret, Settings, load_settings
from tests.cli.conftest import Intwa, assert_fails, write_config

ACCESS_TOKEN = "EAAG-access-token-4f1c9e"
VERIFY_TOKEN = "verify-token-77a0"
APP_SECRET = "app-secret-d41d8c"
DB_PASSWORD = "db-pass-9b2e"
SECRETS = {
    "INTWA_GRAPH__ACCESS_TOKEN": ACCESS_TOKEN,
    "INTWA_WEBHOOK__VERIFY_TOKEN": VERIFY_TOKEN,
    "INTWA_WEBHOOK__APP_SECRET": APP_SECRET,
    "INTWA_STORAGE__POSTGRES_DSN": f"postgresql://intwa:{DB_PASSWORD}@db.internal:5432/intwa",
}


def expected_view(settings: Settings) -> dict[str, Any]:
    """The settings as `config show` must print them: every set secret "***", the DSN's password "***"."""
    # Through JSON, as `--json` prints them: a tuple (`events.retry_schedule`) is an array there.
    view: dict[str, Any] = json.loads(msgspec.json.encode(settings, enc_hook=lambda secret: "***" if secret else ""))
    if settings.storage.postgres_dsn:
        view["storage"]["postgres_dsn"] = "postgresql://intwa:***@db.internal:5432/intwa"
    return view


@pytest.mark.parametrize("as_json", [False, True], ids=["toml", "json"])
def test_show_prints_no_secrets_value(config_path: Path, as_json: bool) -> None:
    result = Intwa(config_path)("config", "show", *(["--json"] if as_json else []), env=dict(SECRETS))

    assert result.exit_code == 0, result.output
    for secret in (ACCESS_TOKEN, VERIFY_TOKEN, APP_SECRET, DB_PASSWORD):
        assert secret not in result.stdout
        assert secret not in result.stderr
    shown = json.loads(result.stdout) if as_json else tomllib.loads(result.stdout)
    assert shown["graph"]["access_token"] == "***"
    assert shown["webhook"] == {"verify_token": "***", "app_secret": "***"}
    assert shown["storage"]["postgres_dsn"] == "postgresql://intwa:***@db.internal:5432/intwa"


def test_show_prints_an_unset_secret_as_empty(config_path: Path) -> None:
    shown = Intwa(config_path).json("config", "show")

    assert shown["graph"]["access_token"] == ""
    assert shown["webhook"] == {"verify_token": "", "app_secret": ""}
    assert shown["storage"]["postgres_dsn"] == ""


def test_show_prints_the_file_the_defaults_and_the_environment_as_every_command_reads_them(
    config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = {**SECRETS, "INTWA_SERVER__PORT": "9001", "INTWA_LOGGING__LEVEL": "debug"}
    for variable, value in environ.items():
        monkeypatch.setenv(variable, value)
    settings = load_settings(config_path)

    shown = Intwa(config_path).json("config", "show")

    assert shown == expected_view(settings)
    assert (shown["server"]["port"], shown["logging"]["level"]) == (9001, "DEBUG")
    assert shown["storage"]["sqlite_path"] == settings.storage.sqlite_path


def test_the_toml_that_show_prints_loads_back_to_the_same_settings(config_path: Path, tmp_path: Path) -> None:
    intwa = Intwa(config_path)
    printed = tmp_path / "shown.toml"
    printed.write_text(intwa.ok("config", "show"), encoding="utf-8")

    assert load_settings(printed, {}) == load_settings(config_path, {})
    assert tomllib.loads(printed.read_text(encoding="utf-8")) == intwa.json("config", "show")


def test_the_json_that_show_prints_decodes_back_to_the_same_settings(config_path: Path) -> None:
    shown = Intwa(config_path).json("config", "show")

    decoded = msgspec.convert(shown, Settings, dec_hook=lambda type_, value: Secret(value))

    assert decoded == load_settings(config_path, {})


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        ("postgresql://intwa:s3cr3t@db:5432/intwa", "postgresql://intwa:***@db:5432/intwa"),
        ("postgres://intwa:s3c@r3t@db1,db2/intwa", "postgres://intwa:***@db1,db2/intwa"),
        ("postgresql://intwa:s3#cr?3t@db/intwa", "postgresql://intwa:***@db/intwa"),
        ("postgresql://db/intwa?user=intwa&password=s3cr3t&sslmode=require", None),
        ("postgresql://intwa@db/intwa", "postgresql://intwa@db/intwa"),
        ("host=db password=s3cr3t", "***"),
    ],
)
def test_show_prints_a_postgres_dsn_without_its_password(config_path: Path, dsn: str, shown: str | None) -> None:
    result = Intwa(config_path)("config", "show", "--json", env={"INTWA_STORAGE__POSTGRES_DSN": dsn})

    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)["storage"]["postgres_dsn"]
    assert printed == (shown or "postgresql://db/intwa?user=intwa&password=***&sslmode=require")
    for part in ("s3cr3t", "s3c", "r3t", "cr?3t"):
        assert part not in result.stdout


def test_show_refuses_a_configuration_that_every_command_refuses(tmp_path: Path) -> None:
    config = write_config(tmp_path / "intwa.toml", tmp_path / "intwa.db", extra="\n[server]\nworkers = 0\n")

    result = Intwa(config)("config", "show", env={"INTWA_GRAPH__ACCESS_TOKEN": ACCESS_TOKEN})

    line = assert_fails(result, None, "`server.workers` must be at least 1, got 0", str(config))
    assert ACCESS_TOKEN not in line
