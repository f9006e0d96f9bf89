"""`intwa events`: an account's customer events as the feed gives them, and `--follow` (SPEC §4, §3.10)."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from tests.cli.conftest import Intwa, assert_fails
from tests.conftest import OTHER_WABA_ID, OTHER_WABA_PHONE_ID, PHONE_ID, SECOND_PHONE_ID, WABA_ID

INTWA = str(Path(sys.executable).parent / "intwa")


def bound_twice_and_unbound(intwa: Intwa) -> None:
    intwa.ok("account", "create", "IW0001")
    intwa.ok("bind", "IW0001", WABA_ID, PHONE_ID)
    intwa.ok("bind", "IW0001", WABA_ID, SECOND_PHONE_ID)
    intwa.ok("unbind", "IW0001", WABA_ID, SECOND_PHONE_ID)


def test_events_lists_an_operators_binds_and_unbinds_as_a_table(intwa: Intwa) -> None:
    bound_twice_and_unbound(intwa)

    lines = intwa.ok("events", "IW0001").splitlines()

    assert lines[0].split() == ["ID", "TIME", "TYPE", "WABA", "ID", "SEQ", "SUMMARY"]
    rows = [line.split() for line in lines[1:]]
    assert [(row[2], row[3], row[4]) for row in rows] == [
        ("binding.created", WABA_ID, "1"),
        ("binding.created", WABA_ID, "2"),
        ("binding.removed", WABA_ID, "3"),
    ]
    assert " ".join(rows[2][5:]) == f"{SECOND_PHONE_ID} (6285212340017) by operator"
    assert all(row[0].startswith("evt_") and len(row[0]) == 30 for row in rows)


def test_events_json_is_the_feeds_data_and_pages_with_after_and_limit(intwa: Intwa) -> None:
    bound_twice_and_unbound(intwa)

    first = intwa.json("events", "IW0001", "--limit", "2")
    rest = intwa.json("events", "IW0001", "--after", first["next"])
    after_all = intwa.json("events", "IW0001", "--after", rest["next"])

    assert list(first) == ["events", "next"]
    assert [event["type"] for event in first["events"]] == ["binding.created", "binding.created"]
    assert first["next"] == first["events"][-1]["id"]
    assert [(event["type"], event["data"]["source"]) for event in rest["events"]] == [("binding.removed", "operator")]
    assert after_all == {"events": [], "next": rest["next"]}
    assert intwa.json("events", "IW0001")["events"] == [*first["events"], *rest["events"]]


def test_an_account_without_events_says_so(intwa: Intwa) -> None:
    intwa.ok("account", "create", "IW0001")

    assert intwa.ok("events", "IW0001") == "no events of account IW0001\n"
    assert intwa.json("events", "IW0001") == {"events": [], "next": None}


def test_events_are_each_accounts_own(intwa: Intwa) -> None:
    bound_twice_and_unbound(intwa)
    intwa.ok("account", "create", "IW0002")
    intwa.ok("bind", "IW0002", OTHER_WABA_ID, OTHER_WABA_PHONE_ID)
    theirs = intwa.json("events", "IW0002")["events"][0]["id"]

    assert_fails(intwa("events", "IW0001", "--after", theirs), 40000, "`after`", theirs)
    assert [event["data"]["wabaId"] for event in intwa.json("events", "IW0002")["events"]] == [OTHER_WABA_ID]


def test_a_bad_limit_or_after_or_an_unknown_account_is_one_line_and_exit_code_1(intwa: Intwa) -> None:
    intwa.ok("account", "create", "IW0001")

    assert_fails(intwa("events", "IW0001", "--limit", "0"), 40000, "`limit`", "between 1 and 500")
    assert_fails(intwa("events", "IW0001", "--limit", "501"), 40000, "`limit`")
    assert_fails(intwa("events", "IW0001", "--after", "evt_nope"), 40000, "`after`")
    assert_fails(intwa("events", "IW0001", "--after", "evt_01M8E41EPV21PAHF04GANH11AT"), 40000, "`after`")
    assert_fails(intwa("events", "NOBODY"), 40402, "NOBODY")
    assert intwa("events", "IW0001", "--limit", "many").exit_code == 2


class Lines:
    """The lines a process prints, read by a thread of their own, so that a test waits for each one at most a while."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._lines: queue.Queue[bytes] = queue.Queue()
        self.reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.reader.start()

    def _read(self, stream: IO[bytes]) -> None:
        for line in stream:
            self._lines.put(line)

    def next(self, timeout: float = 20) -> bytes:
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the process printed no line in {timeout} s") from None


def test_follow_prints_each_event_as_a_json_line_new_ones_too_and_ctrl_c_ends_it_cleanly(intwa: Intwa) -> None:
    bound_twice_and_unbound(intwa)
    command = [INTWA, "--config", str(intwa.config_path), "events", "IW0001", "--follow", "--json"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        try:
            assert process.stdout is not None
            assert process.stderr is not None
            lines = Lines(process.stdout)
            shown: list[dict[str, Any]] = [json.loads(lines.next()) for _ in range(3)]
            intwa.ok("bind", "IW0001", WABA_ID, SECOND_PHONE_ID)  # written by another process, while it follows
            shown.append(json.loads(lines.next()))

            process.send_signal(signal.SIGINT)
            process.wait(timeout=20)
            stderr = process.stderr.read()
            lines.reader.join(timeout=5)
        finally:
            if process.poll() is None:
                process.kill()

    assert [(event["type"], event["data"]["sequence"]) for event in shown] == [
        ("binding.created", 1),
        ("binding.created", 2),
        ("binding.removed", 3),
        ("binding.created", 4),
    ]
    assert process.returncode == 0
    assert stderr == b""
