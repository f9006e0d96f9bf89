"""The CLI run as an operator runs it: `--config` pointing at a TOML file with SQLite under `tmp_path`."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from dependency_injector import providers

from intwa.adapters.provider.fake import FakeProvider
from intwa.container import Container, build_container
from intwa.domain.accounts import Authenticate
from intwa.domain.models import Account
from intwa.entrypoints.cli import CliContext, cli
from intwa.settings import Settings, load_settings


@pytest.fixture(autouse=True)
def _no_intwa_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shell's INTWA_* variables must not leak into the tests."""
    for variable in list(os.environ):
        if variable.startswith("INTWA_"):
            monkeypatch.delenv(variable)


def write_config(path: Path, storage_path: Path, provider: str = "fake", fake_data: str = "", extra: str = "") -> Path:
    path.write_text(
        f'[storage]\nsqlite_path = "{storage_path}"\n\n'
        f'[provider]\nbackend = "{provider}"\nfake_data = "{fake_data}"\n{extra}',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def config_path(tmp_path: Path, fake_data_path: Path) -> Path:
    return write_config(tmp_path / "intwa.toml", tmp_path / "var" / "intwa.db", fake_data=str(fake_data_path))


class Intwa:
    """Runs `intwa --config <file> ...` in-process and keeps what it printed apart: stdout, stderr."""

    def __init__(self, config_path: Path, obj: CliContext | None = None) -> None:
        self.config_path = config_path
        self.obj = obj

    def __call__(self, *args: str, env: dict[str, str | None] | None = None) -> Result:
        return CliRunner().invoke(cli, ["--config", str(self.config_path), *args], obj=self.obj, env=env)

    def ok(self, *args: str) -> str:
        """Stdout of a command that must succeed."""
        result = self(*args)
        assert result.exit_code == 0, result.output
        assert result.stderr == ""
        return result.stdout

    def json(self, *args: str) -> Any:
        """The one JSON document that a `--json` command printed."""
        return json.loads(self.ok(*args, "--json"))

    def settings(self) -> Settings:
        return load_settings(self.config_path)

    def authenticate(self, api_key: str) -> Account:
        """Authenticate with a key as the HTTP API would, through a container of the same settings."""

        async def check(container: Container) -> Account:
            authenticate: Authenticate = await container.authenticate()
            return await authenticate(api_key)

        return asyncio.run(with_container(self.settings(), check))


async def with_container(settings: Settings, use: Callable[[Container], Any]) -> Any:
    container = build_container(settings)
    try:
        return await use(container)
    finally:
        await container.shutdown_resources()


@pytest.fixture
def fake_provider(fake_data_path: Path) -> FakeProvider:
    return FakeProvider.from_file(str(fake_data_path))


def with_provider(provider: FakeProvider) -> CliContext:
    """A CLI context whose containers use this provider: tests change its data or make it fail."""

    def container_factory(settings: Settings) -> Container:
        container = build_container(settings)
        container.provider.override(providers.Object(provider))
        return container

    return CliContext(container_factory=container_factory)


@pytest.fixture
def intwa(config_path: Path, fake_provider: FakeProvider) -> Intwa:
    """The CLI on a migrated database, with the shared fake provider of `fake_provider`."""
    run = Intwa(config_path, with_provider(fake_provider))
    run.ok("db", "migrate")
    return run


def assert_fails(result: Result, code: int | None, *words: str) -> str:
    """A failure: exit code 1, nothing on stdout, one line on stderr naming the code and `words`."""
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output
    line = result.stderr
    assert line.endswith("\n")
    assert line.count("\n") == 1, line
    assert line.startswith("error: " if code is None else f"error {code}: "), line
    for word in words:
        assert word in line
    return line
