"""Server logging: one line per record, with the request id, as text or JSON (``log_format``).

Every record made while a request is served carries ``request_id`` (a log-record factory sets it
from ``api.request_context``; '-' outside a request), so a line from the engine, an adapter or
uvicorn's access log can be traced to the request and its ``X-Request-Id`` header. Text lines
read ``2025-01-01 12:00:00,000 INFO bot.advisor [3f2a…] turn session=…``; JSON lines are one
object each with ``time``, ``level``, ``logger``, ``request_id``, ``message`` (and ``exc`` for a
traceback). PII is masked in both (``bot.pii.PiiLogFilter``).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from functools import partial
from typing import IO, Any, Literal

from bot.pii import PiiLogFilter

from .request_context import current_request_id

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
APP_LOGGERS = ("api", "bot", "knowledge", "cli")
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        line: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def formatter(log_format: LogFormat) -> logging.Formatter:
    """The formatter of ``log_format``."""
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def install_request_ids() -> None:
    """Make every new log record carry the current request id (idempotent)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "sets_request_id", False):
        return

    def with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.request_id = current_request_id()
        return record

    with_request_id.sets_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(with_request_id)


class _AppHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler this module installs (recognised, so set-up can be repeated).

    Without an explicit stream it writes to whatever ``sys.stderr`` is at the time of the
    record, as ``logging.lastResort`` does (test runners swap it).
    """

    def __init__(self, stream: IO[str] | None = None) -> None:
        super().__init__(stream)
        self._explicit = stream

    @property
    def stream(self) -> IO[str]:
        """The explicit stream, else the current ``sys.stderr``."""
        return self._explicit if self._explicit is not None else sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        """Set by ``StreamHandler.__init__``; the explicit stream is kept in ``_explicit``."""


def configure_logging(log_format: LogFormat, stream: IO[str] | None = None) -> Callable[[], None]:
    """Request ids on every record; app and server records in one format, at the server's level.

    The app's loggers (``api``, ``bot``…) get one handler and the level uvicorn was started with
    (``--log-level``; INFO outside uvicorn); uvicorn's own handlers keep their streams but take
    the same formatter, so access lines carry the request id too. Returns the undo (the app's
    lifespan calls it at shutdown, so an app leaves no handler behind in its process).
    """
    install_request_ids()
    chosen = formatter(log_format)
    served = bool(logging.getLogger("uvicorn").handlers)  # uvicorn configured its logging
    level = logging.getLogger("uvicorn.error").getEffectiveLevel() if served else logging.INFO
    undo: list[Callable[[], None]] = []
    for name in APP_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if not isinstance(h, _AppHandler)]
        handler: logging.Handler = _AppHandler(stream)
        handler.setFormatter(chosen)
        handler.addFilter(PiiLogFilter())
        logger.addHandler(handler)
        undo.append(partial(_restore, logger, handler, logger.level))
        logger.setLevel(level)
    for name in SERVER_LOGGERS:
        for server_handler in logging.getLogger(name).handlers:
            undo.append(partial(server_handler.setFormatter, server_handler.formatter))
            server_handler.setFormatter(chosen)

    def restore() -> None:
        for step in reversed(undo):
            step()

    return restore


def _restore(logger: logging.Logger, handler: logging.Handler, level: int) -> None:
    logger.removeHandler(handler)
    logger.setLevel(level)
