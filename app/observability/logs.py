"""Where log records go and how they look: LOG_LEVEL, and LOG_FORMAT text (a terminal) or json (a collector)."""

from __future__ import annotations

import logging
import sys
import threading
from types import TracebackType
from typing import NoReturn

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


# The logger of errors nothing caught (a crash at start-up, in a thread).
UNCAUGHT_LOGGER = "app.uncaught"


def _log_uncaught(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
    """sys.excepthook: an uncaught error is a CRITICAL record with its traceback, so with LOG_FORMAT=json even a
    crash at start-up is one JSON line, not Python's plain traceback."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, trace)
        return
    logging.getLogger(UNCAUGHT_LOGGER).critical("uncaught %s: %s", kind.__name__, error, exc_info=(kind, error, trace))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    """threading.excepthook: the same for a thread's uncaught error."""
    if args.exc_value is None or issubclass(args.exc_type, SystemExit):
        return
    _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)


def setup_logging(level: str, log_format: str) -> None:
    """Send every record at `level` or above to standard error, formatted as `log_format` says; errors nothing
    catches, in the main thread or another, are logged too (CRITICAL, logger `app.uncaught`)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def refuse_start(message: str, log_format: str) -> NoReturn:
    """Stop start-up with exit status 1 and one line saying why: the plain `message` on standard error, or with
    LOG_FORMAT=json (`log_format`, "text" or "json") a CRITICAL record, so that every line stays JSON."""
    if log_format == "json":
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(formatter(log_format))
        refusal = logging.getLogger("app.start")
        refusal.handlers, refusal.propagate = [handler], False
        refusal.critical(message)
    else:
        print(message, file=sys.stderr)
    sys.exit(1)
