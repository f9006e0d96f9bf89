"""SQLite on a disk that fills up: binds 50301 with `Retry-After`, reads answer, binds work once there is room.

The disk is a small tmpfs that the test mounts (it needs root, or CAP_SYS_ADMIN; skipped otherwise).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from intwa.adapters.provider.fake import FakeProvider
from intwa.adapters.storage.outage import OUTAGE_LOGGER
from intwa.container import Container, build_container
from intwa.entrypoints.http.app import create_app
from tests.conftest import OTHER_WABA_ID, OTHER_WABA_PHONE_ID, PHONE_ID, WABA_ID, make_settings
from tests.e2e.conftest import INTWA
from tests.http.conftest import ACCOUNT, Api

DISK_BYTES = 4 * 1024 * 1024
FULL = {"code": 50301, "message": "storage is unavailable (disk full); retry in 5 s", "data": None}


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of `DISK_BYTES` mounted for this test, unmounted after it."""
    mount = shutil.which("mount")
    if not sys.platform.startswith("linux") or mount is None:
        pytest.skip("mounting a small tmpfs needs Linux and `mount`")
    path = tmp_path / "disk"
    path.mkdir()
    mounted = subprocess.run(
        [mount, "-t", "tmpfs", "-o", f"size={DISK_BYTES},mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.fixture
async def container(disk: Path, tmp_path: Path, fake_data_path: Path) -> AsyncIterator[Container]:
    settings = make_settings(
        tmp_path, fake_data_path, STORAGE__SQLITE_PATH=str(disk / "var" / "intwa.db"), SYNC__INTERVAL_SECONDS="0"
    )
    container = build_container(settings)
    container.provider.override(providers.Object(FakeProvider.from_file(str(fake_data_path))))
    await (await container.storage()).migrate()
    yield container
    await container.shutdown_resources()


@pytest.fixture
async def api(container: Container) -> AsyncIterator[Api]:
    accounts = await container.accounts()
    key = (await accounts.create(ACCOUNT)).api_key
    async with AsyncTestClient(app=create_app(container)) as client:
        yield Api(client, {ACCOUNT: key})


def fill(disk: Path) -> Path:
    """Write a file until the disk has no room left; the file."""
    filler = disk / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (b"\0" * 1024 * 1024, b"\0" * 4096, b"\0"):
            while True:
                try:
                    os.write(descriptor, chunk)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(descriptor)
    return filler


async def test_a_full_disk_is_50301_for_binds_while_reads_answer_and_binds_work_again_once_there_is_room(
    api: Api, container: Container, disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert (await api.bind(WABA_ID, PHONE_ID)).status_code == 200

    with caplog.at_level(logging.INFO, logger=OUTAGE_LOGGER):
        filler = fill(disk)
        binds = [await api.bind(OTHER_WABA_ID, OTHER_WABA_PHONE_ID) for _ in range(10)]
        await asyncio.sleep(1.1)  # past the memory layer's second: the reads below read the file
        phone_info = await api.post("phoneInfo", {"accountName": ACCOUNT, "wabaId": WABA_ID})
        waba_info = await api.post("wabaInfo", {"accountName": ACCOUNT})
        cli = await asyncio.to_thread(
            subprocess.run,
            [INTWA, "account", "create", "IW0002"],
            env=_env(container),
            capture_output=True,
            text=True,
            check=False,
        )
        filler.unlink()
        await asyncio.sleep(1.1)  # an outage ends with a success a second after its last failure
        bound = await api.bind(OTHER_WABA_ID, OTHER_WABA_PHONE_ID)
        wabas = await api.post("wabaInfo", {"accountName": ACCOUNT})

    assert [(response.status_code, response.headers.get("retry-after")) for response in binds] == [(503, "5")] * 10
    assert {str(response.json()) for response in binds} == {str(FULL)}
    assert (phone_info.status_code, [phone["id"] for phone in phone_info.json()["data"]][:1]) == (200, [PHONE_ID])
    assert (waba_info.status_code, [waba["wabaId"] for waba in waba_info.json()["data"]]) == (200, [WABA_ID])
    assert (cli.returncode, cli.stdout, cli.stderr) == (1, "", f"error 50301: {FULL['message']}\n")
    assert bound.status_code == 200
    assert [waba["wabaId"] for waba in wabas.json()["data"]] == [WABA_ID, OTHER_WABA_ID]
    outage = [(record.levelname, record.getMessage()) for record in caplog.records if record.name == OUTAGE_LOGGER]
    assert [level for level, _ in outage] == ["WARNING", "INFO"], outage
    assert outage[0][1].startswith("storage is unavailable (disk full): OperationalError: database or disk is full")
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


def _env(container: Container) -> dict[str, str]:
    """The environment of an `intwa` command on the test's database and fake provider."""
    settings = container.settings()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("INTWA_")}
    return {
        **environment,
        "INTWA_STORAGE__SQLITE_PATH": settings.storage.sqlite_path,
        "INTWA_PROVIDER__BACKEND": "fake",
        "INTWA_PROVIDER__FAKE_DATA": settings.provider.fake_data,
    }
