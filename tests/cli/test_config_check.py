"""`intwa config check` (SPEC §4): one line per finding, exit 1 on any problem, never a secret, nothing created."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli.conftest import Intwa, write_config

PASSWORD = "hunter2-not-for-printing"
TOKEN = "EAAG-graph-token-not-for-printing"


def findings(out: str) -> list[str]:
    lines = out.splitlines()
    assert all(line.startswith(("ok: ", "problem: ")) for line in lines), out
    return lines


def test_a_migrated_sqlite_database_with_the_fake_provider_is_all_ok(config_path: Path, fake_data_path: Path) -> None:
    intwa = Intwa(config_path)
    intwa.ok("db", "migrate")

    lines = findings(intwa.ok("config", "check"))

    assert lines == [
        f"ok: the configuration {config_path} and INTWA_* variables are valid",
        f"ok: the SQLite folder {config_path.parent / 'var'} exists and is writable",
        f"ok: the SQLite database {config_path.parent / 'var' / 'intwa.db'} is migrated (schema version 7)",
        f"ok: the fake provider serves {fake_data_path}",
    ]


def test_a_database_not_yet_made_is_a_problem_and_config_check_makes_none(config_path: Path) -> None:
    result = Intwa(config_path)("config", "check")

    assert result.exit_code == 1
    lines = findings(result.stdout)
    assert "ok: the SQLite folder" in lines[1]
    assert "does not exist yet; `intwa db migrate` creates it" in lines[1]
    assert lines[2].startswith("problem: the SQLite database")
    assert "`intwa db migrate`" in lines[2]
    assert not (config_path.parent / "var").exists()


def test_a_sqlite_path_under_a_file_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "var").write_text("not a folder")
    intwa = Intwa(write_config(tmp_path / "intwa.toml", tmp_path / "var" / "intwa.db"))

    result = intwa("config", "check")

    assert result.exit_code == 1
    assert f"problem: storage.sqlite_path: {tmp_path / 'var'} is not a folder" in findings(result.stdout)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write any folder")
def test_a_read_only_sqlite_folder_is_a_problem(config_path: Path) -> None:
    intwa = Intwa(config_path)
    intwa.ok("db", "migrate")
    folder = config_path.parent / "var"
    folder.chmod(0o500)
    try:
        result = intwa("config", "check")
    finally:
        folder.chmod(0o700)

    assert result.exit_code == 1
    assert f"problem: the SQLite folder {folder} is not writable by this user" in findings(result.stdout)


def test_the_graph_provider_without_a_token_is_a_problem_and_with_one_never_shows_it(tmp_path: Path) -> None:
    intwa = Intwa(write_config(tmp_path / "intwa.toml", tmp_path / "intwa.db", provider="graph"))
    intwa.ok("db", "migrate")

    without = intwa("config", "check")
    with_token = intwa("config", "check", env={"INTWA_GRAPH__ACCESS_TOKEN": TOKEN})

    assert without.exit_code == 1
    assert findings(without.stdout)[-1].startswith("problem: the Graph provider needs an access token")
    assert with_token.exit_code == 0, with_token.output
    assert findings(with_token.stdout)[-1] == "ok: the Graph provider has an access token"
    assert TOKEN not in with_token.output


def test_a_missing_fake_data_file_is_a_problem(tmp_path: Path) -> None:
    intwa = Intwa(write_config(tmp_path / "intwa.toml", tmp_path / "intwa.db", fake_data="absent.json"))
    intwa.ok("db", "migrate")

    result = intwa("config", "check")

    assert result.exit_code == 1
    assert findings(result.stdout)[-1].startswith("problem: ")
    assert "absent.json" in result.stdout


def test_a_configuration_that_does_not_load_is_the_usual_one_line_error(tmp_path: Path) -> None:
    config = write_config(tmp_path / "bad.toml", tmp_path / "intwa.db", extra="colour = 1\n")

    result = Intwa(config)("config", "check")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert "colour" in result.stderr


def test_an_unreachable_postgres_is_a_problem_that_never_shows_the_dsn(config_path: Path) -> None:
    dsn = f"postgresql://intwa:{PASSWORD}@127.0.0.1:1/intwa"
    env: dict[str, str | None] = {"INTWA_STORAGE__BACKEND": "postgres", "INTWA_STORAGE__POSTGRES_DSN": dsn}

    result = Intwa(config_path)("config", "check", env=env)

    assert result.exit_code == 1
    assert any(line.startswith("problem: cannot connect to PostgreSQL") for line in findings(result.stdout))
    assert PASSWORD not in result.output
    assert dsn not in result.output


def test_a_postgres_database_answers_and_its_schema_is_checked(config_path: Path, fresh_postgres_database: str) -> None:
    dsn = fresh_postgres_database.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@")
    env: dict[str, str | None] = {"INTWA_STORAGE__BACKEND": "postgres", "INTWA_STORAGE__POSTGRES_DSN": dsn}
    intwa = Intwa(config_path)

    before = intwa("config", "check", env=env)
    assert intwa("db", "migrate", env=env).exit_code == 0
    after = intwa("config", "check", env=env)

    assert before.exit_code == 1
    assert findings(before.stdout)[1:3] == [
        "ok: the PostgreSQL database answers",
        "problem: the PostgreSQL database has no intwa schema: create it with `intwa db migrate`",
    ]
    assert after.exit_code == 0, after.output
    assert findings(after.stdout)[2] == "ok: the PostgreSQL database is migrated (schema version 7)"
    for result in (before, after):
        assert PASSWORD not in result.output
        assert dsn.split("@")[1] not in result.output
