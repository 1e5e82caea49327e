"""Local fakes of the chat platforms' web APIs: real HTTP servers on 127.0.0.1 that record calls.

Each ``FakeChatServer`` answers like its platform (Slack's ``{"ok": true}``, Feishu's
``{"code": 0}``, DingTalk's ``{"errcode": 0}``) and lets a test wait, with a deadline, until the
calls it expects have arrived. ``GatedAdvisor`` wraps the real advisor so a test can prove a
webhook is acknowledged before the turn is computed.
"""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.advisor import Advisor
from bot.turn import Turn

WAIT_SECONDS = 20.0
SLACK_TEAM = "T0FAKE"
SLACK_BOT_USER = "UBOTFAKE"
FEISHU_TOKEN = "t-fake-tenant-token"


@dataclass(frozen=True)
class Call:
    """One request the fake server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    @property
    def form(self) -> dict[str, str]:
        """The body parsed as a URL-encoded form."""
        return dict(parse_qsl(self.body.decode("utf-8")))


Answer = Callable[[Call], tuple[int, Any]]


class FakeChatServer:
    """A real HTTP server on 127.0.0.1 in a thread, recording calls and answering with ``answer``."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.calls: list[Call] = []
        """The calls answered so far, in the order they arrived."""
        self._arrived: list[int] = []  # each call's place in arrival order, parallel to ``calls``
        self._arrivals = count()
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """The server's base URL, without a trailing slash."""
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> FakeChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def calls_to(self, path: str) -> list[Call]:
        """The calls received so far on ``path``."""
        with self._changed:
            return [call for call in self.calls if call.path == path]

    def wait_for(self, path: str, n: int = 1, timeout: float = WAIT_SECONDS) -> list[Call]:
        """Block until ``n`` calls have reached ``path`` (fail after ``timeout`` seconds)."""
        with self._changed:
            arrived = self._changed.wait_for(
                lambda: sum(call.path == path for call in self.calls) >= n, timeout
            )
            paths = [call.path for call in self.calls]
        assert arrived, f"expected {n} call(s) to {path} within {timeout}s; got {paths}"
        return self.calls_to(path)

    def settled(self, path: str, quiet: float = 1.0, timeout: float = WAIT_SECONDS) -> list[Call]:
        """Every call to ``path`` once at least one came and none more for ``quiet`` seconds
        (a long reply arrives in several messages)."""
        self.wait_for(path, timeout=timeout)
        with self._changed:
            count = -1
            while count != len(self.calls):
                count = len(self.calls)
                self._changed.wait(quiet)
        return self.calls_to(path)

    def _arrival(self) -> int:
        with self._changed:
            return next(self._arrivals)

    def _record(self, call: Call, arrival: int) -> None:
        # A call is recorded once answered, but in its place by arrival: a handler thread held up
        # after answering must not let the next call (sent on that answer) be listed before it.
        with self._changed:
            place = bisect.bisect(self._arrived, arrival)
            self._arrived.insert(place, arrival)
            self.calls.insert(place, call)
            self._changed.notify_all()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrival = server._arrival()
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                call = Call(
                    method="POST",
                    path=parts.path,
                    query=dict(parse_qsl(parts.query)),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length),
                )
                status, reply = server.answer(call)
                payload = reply.encode() if isinstance(reply, str) else json.dumps(reply).encode()
                content_type = "text/plain" if isinstance(reply, str) else "application/json"
                self.send_response(status)
                self.send_header("Content-Type", f"{content_type}; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                # Record after answering, so a waiting test sees the call completed.
                server._record(call, arrival)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


_TS = count(1)


def slack_api(call: Call) -> tuple[int, Any]:
    """Slack's Web API (``/api/<method>``) and response URLs (``/respond/...``)."""
    if call.path.startswith("/respond/"):
        return 200, "ok"
    if call.path == "/api/auth.test":
        return 200, {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": "Fake",
            "user": "finadvisor",
            "team_id": SLACK_TEAM,
            "user_id": SLACK_BOT_USER,
            "bot_id": "BFAKE",
            "is_enterprise_install": False,
        }
    if call.path == "/api/chat.postMessage":
        body = call.json
        ts = f"1800000000.{next(_TS):06d}"
        return 200, {"ok": True, "channel": body.get("channel"), "ts": ts, "message": body}
    if call.path == "/api/chat.update":
        body = call.json
        return 200, {"ok": True, "channel": body.get("channel"), "ts": body.get("ts"),
                     "text": body.get("text", ""), "message": body}  # fmt: skip
    return 200, {"ok": False, "error": "unknown_method"}


def feishu_api(call: Call) -> tuple[int, Any]:
    """Feishu's tenant-token and message-reply endpoints."""
    if call.path == "/open-apis/auth/v3/tenant_access_token/internal":
        return 200, {"code": 0, "msg": "ok", "tenant_access_token": FEISHU_TOKEN, "expire": 7200}
    if call.path.startswith("/open-apis/im/v1/messages/") and call.path.endswith("/reply"):
        if call.headers.get("authorization") != f"Bearer {FEISHU_TOKEN}":
            return 200, {"code": 99991663, "msg": "Invalid access token for authorization."}
        return 200, {"code": 0, "msg": "success", "data": {"message_id": "om_reply"}}
    return 404, {"code": 404, "msg": "not found"}


def dingtalk_webhook(call: Call) -> tuple[int, Any]:
    """A DingTalk session webhook."""
    return 200, {"errcode": 0, "errmsg": "ok"}


class GatedAdvisor:
    """The real advisor, holding every reply until the test opens ``gate``."""

    def __init__(self, advisor: Advisor) -> None:
        self._advisor = advisor
        self.gate = threading.Event()

    def reply(self, session_id: str | None, text: str) -> Turn:
        """The real advisor's reply, once the gate is open."""
        assert self.gate.wait(WAIT_SECONDS), "the test never opened the gate"
        return self._advisor.reply(session_id, text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._advisor, name)
