"""Where log records go and how they look: LOG_LEVEL, and LOG_FORMAT text (a terminal) or json (a collector)."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The fields every JSON record has besides `time`; a record's `extra` fields (the access log's status, a connection's
# close code) are added beside them.
JSON_FIELDS = ("levelname", "name", "message")


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for `log_format` ("text" or "json")."""
    if log_format == "json":
        # python-json-logger: every extra field, exceptions and stack traces as JSON strings, one object a line.
        return JsonFormatter(
            JSON_FIELDS,
            rename_fields={"levelname": "level", "name": "logger"},
            # ISO 8601 in UTC, under "time".
            timestamp="time",
            json_ensure_ascii=False,
        )
    return logging.Formatter(TEXT_FORMAT)


def setup_logging(level: str, log_format: str) -> None:
    """Send every record at `level` or above to standard error, formatted as `log_format` says."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    logging.basicConfig(level=level, handlers=[handler], force=True)
