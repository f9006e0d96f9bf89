"""Storage outages as one process sees them: noticed once, logged once, ended once (SPEC §3.8 `50301`).

During an outage every request fails the same way; a log line (let alone a traceback) per request would
bury the one thing an operator needs to know: when it started, why, and when it ended.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from intwa.domain.errors import STORAGE_RETRY_AFTER_SECONDS, StorageUnavailable

OUTAGE_LOGGER = "intwa.storage.outage"
logger = logging.getLogger(OUTAGE_LOGGER)

SETTLE_SECONDS = 1.0
"""How long calls must succeed after the last failure before an outage counts as over."""


def describe(error: BaseException) -> str:
    """A library error in one line: its type and message."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class StorageOutage:
    """Whether a store answers, as the calls of one adapter find it; logs when that changes, never per call.

    The adapter reports each call at its choke points: `unavailable()` for a failure that means the store
    cannot be used (it returns the domain error to raise instead), `answered()` for a success. The first
    failure logs a warning and opens the outage; it ends, with one line at INFO, when a call succeeds at
    least `settle_seconds` after the last failure, so the last broken connections of a pool failing just
    after the store came back do not open another one. A failure that leaves reads working (a full disk,
    a read-only store, a write lock held too long) ends only with a successful write: the reads that go on
    succeeding prove nothing about it. Nothing here awaits, so the callers of one event loop, however many
    at once, see one start and one end.
    """

    __slots__ = (
        "_describe",
        "_effect",
        "_failures",
        "_last_failure",
        "_logger",
        "_monotonic",
        "_retry_after",
        "_settle",
        "_started",
        "_what",
        "_writes_only",
        "failing",
    )

    def __init__(
        self,
        what: str = "storage",
        *,
        effect: str = "requests that need it are answered 50301 until it answers again",
        describe: Callable[[BaseException], str] = describe,
        retry_after_seconds: int = STORAGE_RETRY_AFTER_SECONDS,
        settle_seconds: float = SETTLE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        log: logging.Logger = logger,
    ) -> None:
        self._what = what
        self._effect = effect
        self._describe = describe
        self._retry_after = retry_after_seconds
        self._settle = settle_seconds
        self._monotonic = monotonic
        self._logger = log
        self.failing = False
        """Whether an outage is open: a call failed and none has succeeded since (read-only)."""
        self._writes_only = False
        self._started = self._last_failure = 0.0
        self._failures = 0

    def unavailable(self, reason: str, error: BaseException, *, writes_only: bool = False) -> StorageUnavailable:
        """Note a call that failed because the store cannot be used; the error to raise in place of `error`.

        `reason` is a few words for clients ("disk full"); the log line has `error` itself too.
        """
        now = self._monotonic()
        if not self.failing:
            self.failing, self._writes_only, self._started, self._failures = True, writes_only, now, 0
            self._logger.warning(
                "%s is unavailable (%s): %s; %s", self._what, reason, self._describe(error), self._effect
            )
        elif not writes_only:
            self._writes_only = False
        self._last_failure = now
        self._failures += 1
        return StorageUnavailable(
            f"{self._what} is unavailable ({reason}); retry in {self._retry_after} s",
            retry_after_seconds=self._retry_after,
        )

    def answered(self, *, wrote: bool) -> None:
        """Note a call that succeeded; `wrote`: it committed a write."""
        if not self.failing or (self._writes_only and not wrote):
            return
        now = self._monotonic()
        if now - self._last_failure < self._settle:
            return
        self.failing = False
        self._logger.info(
            "%s answers again: unavailable for %.1f s, %d calls failed",
            self._what,
            self._last_failure - self._started,
            self._failures,
        )
