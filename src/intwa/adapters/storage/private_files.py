"""Database files that only their owner may read (SPEC §7): they hold key hashes, bindings and phone numbers.

Modes are given when intwa creates a file or folder, never changed afterwards: a file or folder that
exists already keeps the mode its operator chose (a group-readable folder for a backup user, say).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def create_private_file(path: Path) -> None:
    """Create `path` empty with mode 0600, and its missing parent folders with 0700; nothing if it exists.

    An empty file is an empty SQLite database. SQLite creates a database's `-wal`, `-shm` and journal
    files with the database file's mode, so they are private too.
    """
    create_private_folders(path.parent)
    # O_EXCL: a file another process created meanwhile is left as it is. The umask may only narrow the mode.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))


def create_private_folders(folder: Path) -> None:
    """Create `folder` and its missing parents, each with mode 0700 (`mkdir -p` would give them 0755)."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for each in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            each.mkdir(mode=FOLDER_MODE)
