"""Errors become one-sentence JSON bodies at the HTTP edge; no stack trace reaches a client."""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot import messages
from core.errors import (
    EmptyInputError,
    FinadvisorError,
    InputError,
    InputTooLongError,
    RetrievalError,
    SessionError,
    StateError,
)

from .schemas import NOT_BLANK

log = logging.getLogger("api")

MALFORMED_JSON = (
    'The request body is not valid JSON; send a JSON object such as {"message": "..."}.'
)
SERVER_ERROR = "Something went wrong on our side; please try again in a moment."
STORAGE_UNAVAILABLE = "The advisor's storage is unavailable right now; try again shortly."


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON error response with a one-sentence message."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> tuple[int, str]:
    for problem in exc.errors():
        if problem.get("type") == "json_invalid":
            return 400, MALFORMED_JSON
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    kind = first.get("type", "")
    if kind == "missing":
        return 422, f"Field '{where}' is required; add it to the request."
    if kind in {"model_attributes_type", "dict_type"}:
        return 422, 'The request body must be a JSON object; send {"message": "..."}.'
    if (
        kind in {"string_too_short", "string_pattern_mismatch"}
        and first.get("ctx", {}).get("pattern", NOT_BLANK) == NOT_BLANK
    ):
        return 422, f"{messages.EMPTY_MESSAGE['zh']}（{messages.EMPTY_MESSAGE['en']}）"
    if kind == "value_error":
        return 422, str(first.get("msg", "")).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return 422, f"Field '{where}' is not accepted; remove it from the request."
    return 422, f"Field '{where}' is invalid ({first.get('msg', 'bad value')}); fix it and retry."


def _count_failure(request: Request, exc: Exception) -> None:
    """Count a server-side failure in the app's metrics (unhandled ones are counted outside)."""
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.error(exc)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every failure into a one-sentence JSON error."""

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, message = _validation_message(exc)
        return error(status, message)

    @app.exception_handler(json.JSONDecodeError)
    async def on_bad_json(request: Request, exc: json.JSONDecodeError) -> JSONResponse:
        return error(400, MALFORMED_JSON)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "Request failed."
        return error(exc.status_code, detail, getattr(exc, "headers", None))

    @app.exception_handler(FinadvisorError)
    async def on_domain(request: Request, exc: FinadvisorError) -> JSONResponse:
        if isinstance(exc, InputTooLongError):
            return error(413, str(exc))
        if isinstance(exc, EmptyInputError | InputError):
            return error(422, str(exc))
        _count_failure(request, exc)
        if isinstance(exc, SessionError | StateError | RetrievalError):
            log.error("backend failure: %s", exc)
            return error(503, STORAGE_UNAVAILABLE)
        log.error("domain error: %s", exc)
        return error(500, SERVER_ERROR)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error(500, SERVER_ERROR)
