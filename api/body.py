"""Request bodies, read whole and checked before any route sees them.

``RequestBodyGuard`` answers, before the app is called:

- 413 when the body is (or is declared) larger than the byte cap;
- 408 when the whole body has not arrived within ``timeout`` seconds (a slow or stalled client
  cannot hold a connection open indefinitely);
- 400 when a JSON body (``application/json``, ``+json`` or no content type) is not UTF-8, not
  JSON, nests deeper than ``MAX_DEPTH`` or holds a number of more than ``MAX_DIGITS`` digits.

The route then reads the same bytes. ``parse_json`` applies the same rules for adapters that
parse bodies themselves.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import messages

from .errors import error

MAX_DEPTH = 32
MAX_DIGITS = 100
_STRING_OR_ESCAPE = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(rb"[\[\]{}]")


class BodyProblem(ValueError):
    """A body that cannot be used; ``status`` and ``message`` make the answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _depth(raw: bytes) -> int:
    """The deepest bracket nesting in JSON text, strings ignored (no recursion)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRING_OR_ESCAPE.sub(b"", raw)):
        depth += 1 if bracket in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise BodyProblem(400, messages.BODY_NUMBER_TOO_LONG.format(digits=MAX_DIGITS))
    return int(text)


def _bounded_float(text: str) -> float:
    if sum(char.isdigit() for char in text) > MAX_DIGITS:
        raise BodyProblem(400, messages.BODY_NUMBER_TOO_LONG.format(digits=MAX_DIGITS))
    return float(text)


def parse_json(raw: bytes) -> Any:
    """``raw`` parsed as UTF-8 JSON, or a ``BodyProblem`` (400) saying what is wrong with it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyProblem(400, messages.BODY_NOT_UTF8) from None
    if _depth(raw) > MAX_DEPTH:
        raise BodyProblem(400, messages.BODY_TOO_DEEP.format(depth=MAX_DEPTH))
    try:
        return json.loads(text, parse_int=_bounded_int, parse_float=_bounded_float)
    except BodyProblem:
        raise
    except (ValueError, RecursionError):
        raise BodyProblem(400, messages.BODY_BAD_JSON) from None


def _is_json(scope: Scope) -> bool:
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"").lower()
    media = content_type.split(b";")[0].strip()
    return not media or media == b"application/json" or media.endswith(b"+json")


class RequestBodyGuard:
    """Reads each request body with a size cap and a deadline, checks JSON, then calls the app."""

    def __init__(self, app: ASGIApp, limit: int, timeout: float) -> None:
        self.app, self.limit, self.timeout = app, limit, timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            body = await self._body(scope, receive)
            if body and _is_json(scope):
                parse_json(body)
        except BodyProblem as problem:
            headers = {"Connection": "close"} if problem.status in {408, 413} else None
            await error(problem.status, problem.message, headers)(scope, receive, send)
            return
        except _Disconnected:
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: disconnects, for streaming responses

        await self.app(scope, replay, send)

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        too_large = BodyProblem(413, messages.BODY_TOO_LARGE.format(kb=self.limit // 1024))
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and (len(declared) > 12 or int(declared) > self.limit):
            raise too_large
        chunks: list[bytes] = []
        size = 0

        async def read_all() -> None:
            nonlocal size
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _Disconnected
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.limit:
                    raise too_large
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return

        try:
            await asyncio.wait_for(read_all(), self.timeout)
        except TimeoutError:
            seconds = f"{self.timeout:g}"
            raise BodyProblem(408, messages.BODY_TOO_SLOW.format(seconds=seconds)) from None
        return b"".join(chunks)


class _Disconnected(Exception):
    """The client went away before its body arrived."""
