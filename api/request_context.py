"""Who asked: a request id and an interface for every request, and its timing for the metrics.

``RequestContext`` is the outermost middleware. It takes the caller's ``X-Request-Id`` when it
is sane (1-64 characters of letters, digits and ``._:-``; anything else is replaced), else
generates one, echoes it in the response header and keeps it in a context variable for the
request's lifetime, so every log line written while the request is served carries it (worker
threads started for it copy the context). It also names the interface (``interface_of``), which
``Metrics.turn_finished`` reads, and reports method, route template, status and duration.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import ContextVar, copy_context
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from fastapi.routing import iter_route_contexts
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from .metrics import Metrics

REQUEST_ID_HEADER = b"x-request-id"
_SANE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
_request_id: ContextVar[str] = ContextVar("finadvisor_request_id", default="-")
_interface: ContextVar[str] = ContextVar("finadvisor_interface", default="api")
UNMATCHED = "unmatched"
_P = ParamSpec("_P")
_T = TypeVar("_T")


def current_request_id() -> str:
    """The id of the request being served ('-' outside a request)."""
    return _request_id.get()


def current_interface() -> str:
    """The interface of the request being served ('api' outside a request: CLI, tests)."""
    return _interface.get()


def interface_of(path: str, headers: dict[bytes, bytes]) -> str:
    """web, api, sse, openai, slack, feishu or dingtalk for a request path.

    The web page calls ``/v1/chat`` and ``/v1/chat/stream`` from this origin; browsers mark such
    calls ``Sec-Fetch-Site: same-origin``, which other clients do not send.
    """
    if path.startswith("/v1/chat/completions"):
        return "openai"
    if path in ("/v1/chat", "/v1/chat/stream"):
        if headers.get(b"sec-fetch-site") == b"same-origin":
            return "web"
        return "sse" if path.endswith("/stream") else "api"
    for platform in ("slack", "feishu", "dingtalk"):
        if path.startswith(f"/{platform}/"):
            return platform
    return "api"


def incoming_request_id(headers: dict[bytes, bytes]) -> str:
    """The caller's request id when it is sane, else a new one."""
    given = headers.get(REQUEST_ID_HEADER, b"").decode("latin-1")
    return given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex


def route_templates(app: ASGIApp) -> list[tuple[re.Pattern[str], str]]:
    """(path pattern, template) of every route of a FastAPI app, included routers too."""
    templates = []
    for context in iter_route_contexts(getattr(app, "routes", [])):
        template = context.path_format
        if template:
            templates.append((compile_path(template)[0], template))
    return templates


class RouteNames:
    """The route template of a request, even one answered before routing (429, 413, 408)."""

    def __init__(self, app: ASGIApp | None) -> None:
        self.app = app
        self._templates: list[tuple[re.Pattern[str], str]] | None = None

    def __call__(self, scope: Scope) -> str:
        """``/v1/docs/{doc_id}`` for ``/v1/docs/x``; ``unmatched`` for an unknown path."""
        route = scope.get("route")
        path = getattr(route, "path_format", None) if route is not None else None
        if path:
            return str(path)
        if self.app is None:
            return UNMATCHED
        if self._templates is None:  # routes are all added before the first request
            self._templates = route_templates(self.app)
        asked = scope.get("path", "")
        return next((t for pattern, t in self._templates if pattern.match(asked)), UNMATCHED)


class RequestContext:
    """Sets request id and interface, echoes ``X-Request-Id``, reports each request's timing."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None, root: ASGIApp | None = None):
        self.app, self.metrics, self.route_name = app, metrics, RouteNames(root)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = incoming_request_id(headers)
        id_token = _request_id.set(request_id)
        interface_token = _interface.set(interface_of(scope.get("path", ""), headers))
        encoded = request_id.encode("latin-1")
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", encoded)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException as exc:
            if self.metrics is not None and isinstance(exc, Exception):
                self.metrics.error(exc)
            raise
        finally:
            if self.metrics is not None:
                seconds = time.perf_counter() - started
                route = self.route_name(scope)
                self.metrics.request_finished(scope["method"], route, status, seconds)
            _interface.reset(interface_token)
            _request_id.reset(id_token)


class ContextThreadPool(ThreadPoolExecutor):
    """A thread pool whose work runs in the submitter's context (request id, interface).

    The chat adapters answer after the webhook's HTTP answer, on their own threads; with this
    pool their log lines and turn counts still belong to the request that brought the message.
    """

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        """Run ``fn(*args, **kwargs)`` on a worker thread, in a copy of the current context."""
        context = copy_context()

        def in_context() -> _T:
            return context.run(fn, *args, **kwargs)

        return super().submit(in_context)
