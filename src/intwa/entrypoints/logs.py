"""Logging set-up shared by the HTTP server and the CLI: text or one JSON object a line."""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from intwa.settings import LoggingSettings

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_RECORD_ATTRIBUTES = frozenset(
    {
        *vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)),
        "message",
        "asctime",
        "taskName",
        "color_message",  # uvicorn's own copy of the message, with terminal colours
    }
)
"""What every record has; anything else on a record was given with `extra=`."""


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, fields, and the exception if any.

    Fields are the record's `extra=` attributes and, when the message is formatted from one mapping
    (`%(name)s` style), the mapping's keys: the request log's method, path, status, code, account,
    duration_ms and request_id are keys of their own. Names starting with `_` are left out.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields: Iterable[tuple[str, Any]] = record.__dict__.items()
        if isinstance(record.args, Mapping):
            fields = itertools.chain(fields, record.args.items())
        for key, value in fields:
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`_TEXT_FORMAT`, with the timestamp's text made once a second: the request log writes a line per request."""

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT)
        self._second = -1
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", self.converter(record.created))
            self._second = second
        return f"{self._stamp},{int(record.msecs):03d}"


def configure_logging(settings: LoggingSettings) -> None:
    """Log at the configured level, the request log only with `access_log`; httpx is kept to warnings.

    httpx logs full URLs at INFO. Records skip what no intwa format shows — the caller's file and line,
    thread and process names — which saves a third of what a record costs (the logging HOWTO's
    "Optimization"): one is made per request.
    """
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if settings.format == "json" else TextFormatter())
    logging.basicConfig(level=settings.level, handlers=[handler], force=True)
    logging.getLogger("intwa.access").setLevel(logging.NOTSET if settings.access_log else logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
