"""Baton's log: as text, or one JSON object per line for log shippers.

At INFO the server says one line per delivery it handled (see `app.pipeline.processing`); each
GitHub request is a DEBUG line of its own (`app.github.client`), in place of httpx's line per
request.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Final, TextIO

LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMATS: Final = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries whose own line per request Baton's DEBUG line replaces.
REQUEST_LOGGERS = ("httpx", "httpcore")
# The attributes every record has; any other was given as `extra` and is a field of its own
# (but uvicorn's copy of its message with terminal colours).
_NOT_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


def one_line(text: str, limit: int = 500) -> str:
    """`text` as one line of printable characters, cut at `limit`: words that quote what
    people wrote cannot break a log line or forge the next one."""
    printable = "".join(c if c.isprintable() else " " for c in text)
    line = " ".join(printable.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: time, level, logger, message, and the `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update((k, v) for k, v in vars(record).items() if k not in _NOT_FIELDS)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


def configure_logging(level: str, form: str, *, stream: TextIO | None = None) -> None:
    """Log at `level` and above to `stream` (standard error), as `form` ("text" or "json")."""
    handler = logging.StreamHandler(stream)
    handler.setLevel(level)  # whatever level a library gives its own logger
    handler.setFormatter(JsonFormatter() if form == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for name in REQUEST_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
