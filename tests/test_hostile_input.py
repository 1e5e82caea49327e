"""No input triggers a 5xx: each class of hostile input is sent to every route of the real app.

Classes (issue 13): lone surrogates, huge numbers, deep nesting, bad encodings, huge or
non-ASCII headers, wrong shapes. Every answer must be below 500, carry no traceback, and no
unhandled error may be logged. Webhooks are reached both unsigned and correctly signed, so
their parsing after verification is exercised too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.main import create_app
from bot.advisor import Advisor

from .helpers import free_port

SLACK_SECRET = "hostile-slack-secret"
DINGTALK_SECRET = "hostile-dingtalk-secret"
FEISHU_TOKEN = "hostile-feishu-token"
SESSION_LIKE = "s-" + "0" * 40
JSON = {"content-type": "application/json"}

Request = tuple[str, str, dict[str, Any]]  # method, url, httpx keyword arguments


@pytest.fixture(scope="module")
def client(advisor: Advisor) -> Iterator[TestClient]:
    """The real app with every adapter mounted (Slack's API on a closed loopback port)."""
    settings = advisor.settings.model_copy(
        update={
            "rate_limit": "100000/minute",
            "slack_bot_token": "xoxb-hostile",
            "slack_signing_secret": SLACK_SECRET,
            "slack_api_url": f"http://127.0.0.1:{free_port()}/api/",
            "feishu_app_id": "cli_hostile",
            "feishu_app_secret": "secret",
            "feishu_verification_token": FEISHU_TOKEN,
            "feishu_api_url": f"http://127.0.0.1:{free_port()}",
            "dingtalk_app_secret": DINGTALK_SECRET,
            "api_docs": True,
        }
    )
    app = create_app(settings, advisor=advisor)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def slack_signed(body: bytes, timestamp: str | None = None) -> dict[str, str]:
    timestamp = timestamp or str(int(time.time()))
    base = b"v0:" + timestamp.encode() + b":" + body
    digest = hmac.new(SLACK_SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": timestamp, "x-slack-signature": f"v0={digest}"}


def dingtalk_signed() -> dict[str, str]:
    timestamp = str(int(time.time() * 1000))
    digest = hmac.new(
        DINGTALK_SECRET.encode(), f"{timestamp}\n{DINGTALK_SECRET}".encode(), hashlib.sha256
    ).digest()
    return {"timestamp": timestamp, "sign": base64.b64encode(digest).decode()}


def raw_posts(body: bytes, content_type: str = "application/json") -> list[Request]:
    """``body`` as-is to every POST route, webhooks unsigned and signed."""
    headers = {"content-type": content_type}
    posts: list[Request] = [
        ("POST", path, {"content": body, "headers": headers})
        for path in ("/v1/chat", "/v1/chat/stream", "/v1/diagnose", "/v1/chat/completions")
    ]
    for path in ("/slack/events", "/feishu/events", "/dingtalk/events"):
        posts.append(("POST", path, {"content": body, "headers": headers}))
    posts.append(
        ("POST", "/slack/events", {"content": body, "headers": headers | slack_signed(body)})
    )
    posts.append(
        ("POST", "/dingtalk/events", {"content": body, "headers": headers | dingtalk_signed()})
    )
    return posts


def text_requests(text: str) -> list[Request]:
    """``text`` in every text field and parameter of every route."""
    escaped = json.dumps(text)  # ASCII-only JSON; a lone surrogate stays a \\ud800 escape

    def body(template: str) -> dict[str, Any]:
        return {"content": template.replace("TEXT", escaped).encode(), "headers": JSON}

    slack_event = (
        '{"type": "event_callback", "team_id": "T1", "event_id": "EvNOW", "event": {"type":'
        ' "app_mention", "text": TEXT, "channel": "C1", "ts": "1.1"}}'
    ).replace("NOW", str(time.time_ns()))
    feishu_event = (
        (
            '{"schema": "2.0", "header": {"token": "TOKEN", "event_id": "eNOW", "event_type":'
            ' "im.message.receive_v1"}, "event": {"message": {"message_id": "om1", "chat_id": "oc1",'
            ' "message_type": "text", "content": TEXT}}}'
        )
        .replace("TOKEN", FEISHU_TOKEN)
        .replace("NOW", str(time.time_ns()))
    )
    dingtalk = '{"msgtype": "text", "text": {"content": TEXT}, "sessionWebhook": TEXT}'
    slack_body = slack_event.replace("TEXT", escaped).encode()
    part = quote(text.encode("utf-8", "surrogatepass"), safe="")
    query = f"?q={part}&segment={part}&channel={part}&purpose={part}"
    return [
        ("POST", "/v1/chat", body('{"message": TEXT}')),
        ("POST", "/v1/chat/stream", body('{"message": TEXT}')),
        ("POST", "/v1/diagnose", body('{"text": TEXT}')),
        ("POST", "/v1/chat/completions", body('{"messages": [{"role": "user", "content": TEXT}]}')),
        (
            "POST",
            "/v1/chat/completions",
            body('{"user": TEXT, "messages": [{"role": "user", "content": "hi"}]}'),
        ),
        ("GET", "/v1/search" + query, {}),
        ("GET", "/v1/channels" + query, {}),
        ("GET", "/v1/models" + query, {}),
        ("GET", "/healthz" + query, {}),
        ("GET", f"/v1/docs/{part}" + query, {}),
        ("GET", f"/v1/sessions/{part}", {}),
        ("DELETE", f"/v1/sessions/{part}", {}),
        (
            "POST",
            "/slack/events",
            {"content": slack_body, "headers": JSON | slack_signed(slack_body)},
        ),
        ("POST", "/feishu/events", body(feishu_event)),
        ("POST", "/dingtalk/events", body(dingtalk) | {"headers": JSON | dingtalk_signed()}),
    ]


def surrogates() -> list[Request]:
    return (
        text_requests("\ud800借呗没额度")
        + text_requests("\udfff")
        + [
            ("GET", "/v1/search?q=%ED%A0%80", {}),
            ("GET", "/v1/docs/%ED%A0%80", {}),
        ]
    )


def huge_numbers() -> list[Request]:
    big = "9" * 5000
    requests = text_requests("分" + "9" * 400 + "期") + text_requests("借" + "９" * 400 + "万")
    requests += raw_posts(f'{{"message": {big}, "text": {big}}}'.encode())
    requests += raw_posts(f'{{"message": "hi", "temperature": 1{"0" * 400}.5}}'.encode())
    requests += [("GET", f"/v1/search?q=hi&k={big}", {}), ("GET", f"/v1/sessions/{big}", {})]
    return requests


def deep_nesting() -> list[Request]:
    depth = 20_000
    return (
        raw_posts(b"[" * depth + b"]" * depth)
        + raw_posts(b'{"message": ' + b"[" * depth + b"]" * depth + b"}")
        + raw_posts(b"payload=" + b"%5B" * depth, "application/x-www-form-urlencoded")
        + raw_posts(b"[" * depth, "text/plain")
    )


def bad_encodings() -> list[Request]:
    utf16 = json.dumps({"message": "借呗没额度"}, ensure_ascii=False).encode("utf-16")
    return (
        raw_posts(b'{"message": "\xff\xfe\xfa"}')
        + raw_posts(utf16)
        + raw_posts(utf16[2:])
        + raw_posts(b'{"message": "\xed\xa0\x80"}')  # a surrogate encoded as UTF-8
        + raw_posts(b'{"message": "hi"}', "application/json; charset=utf-16")
        + raw_posts(b"\xff" * 64, "text/plain")
    )


def hostile_headers() -> list[Request]:
    requests: list[Request] = []
    body = b'{"message": "hi"}'
    for value in ("9" * 5000, "\u00b2", "-1", "1e3", "0x10", " 1", "\u0661\u0662"):
        try:
            raw = value.encode("latin-1")  # '²' arrives as '²' (servers decode headers as latin-1)
        except UnicodeEncodeError:
            raw = value.encode("utf-8")
        headers = {
            "x-slack-request-timestamp": raw,
            "x-slack-signature": b"v0=" + b"a" * 64,
            "timestamp": raw,
            "sign": raw,
            "x-lark-request-timestamp": raw,
            "x-lark-signature": raw,
            "x-session-id": raw,
            "authorization": b"Bearer " + raw,
            "content-type": b"application/json",
        }
        for path in (
            "/slack/events",
            "/dingtalk/events",
            "/feishu/events",
            "/v1/chat",
            "/v1/chat/completions",
        ):
            requests.append(("POST", path, {"content": body, "headers": headers}))
    return requests


def wrong_shapes() -> list[Request]:
    shapes = [b"[]", b'"x"', b"5", b"null", b"true", b"{}", b'{"message": {"a": 1}}',
              b'{"messages": "x"}', b'{"messages": [5]}', b'{"messages": [{"role": "user", "content": [5, "x"]}]}',
              b'{"header": "x", "token": "%s"}' % FEISHU_TOKEN.encode(),
              b'{"header": {"token": "%s", "event_type": "im.message.receive_v1", "event_id": 5}, "event": "x"}' % FEISHU_TOKEN.encode(),
              b'{"encrypt": 5}', b'{"type": "url_verification", "token": 5}',
              b'{"msgtype": "text", "text": "x", "sessionWebhook": 5, "msgId": []}',
              b'{"type": "event_callback", "event": "x", "event_id": 5}',
              b'{"command": 5, "trigger_id": 5}']  # fmt: skip
    requests = [request for shape in shapes for request in raw_posts(shape)]
    requests += raw_posts(
        b"command=%2Ffinadvisor&text=hi&payload=x", "application/x-www-form-urlencoded"
    )
    requests += raw_posts(b'payload={"type": 5}', "application/x-www-form-urlencoded")
    requests += [("GET", "/v1/search?q=a&k=x&mode=nope&kind=1&kind=2", {}),
                 ("GET", "/v1/docs/tax-loan?format=pdf", {}), ("PUT", "/v1/chat", {}),
                 ("PATCH", "/v1/sessions/" + SESSION_LIKE, {})]  # fmt: skip
    return requests


CLASSES: dict[str, Callable[[], list[Request]]] = {
    "surrogates": surrogates,
    "huge-numbers": huge_numbers,
    "deep-nesting": deep_nesting,
    "bad-encodings": bad_encodings,
    "hostile-headers": hostile_headers,
    "wrong-shapes": wrong_shapes,
}


def route_keys(client: TestClient) -> set[tuple[str, str]]:
    """(method, path template) of every route the app serves, webhooks included."""
    keys = set()
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and not route.path.startswith(("/docs", "/redoc")):
            keys |= {(method, route.path) for method in route.methods if method != "HEAD"}
    return keys


def template_of(path: str) -> str:
    for prefix, template in (("/v1/docs/", "/v1/docs/{doc_id}"),
                             ("/v1/sessions/", "/v1/sessions/{session_id}")):  # fmt: skip
        if path.startswith(prefix):
            return template
    return path.split("?")[0]


def test_every_route_is_covered(client: TestClient) -> None:
    covered = {(m, template_of(p)) for m, p, _ in text_requests("x")}
    assert route_keys(client) - covered <= {("GET", "/")}, "a route has no hostile-input case"


@pytest.mark.parametrize("name", list(CLASSES))
def test_no_hostile_input_gets_a_server_error(
    client: TestClient, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    failures = []
    with caplog.at_level(logging.ERROR):
        for method, url, kwargs in CLASSES[name]():
            response = client.request(method, url, **kwargs)
            if response.status_code >= 500 or "Traceback" in response.text:
                failures.append((method, url[:60], response.status_code, response.text[:120]))
            elif response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
                assert set(response.json()) == {"error"}, (method, url[:60], response.text[:200])
    assert not failures, failures
    unhandled = [r for r in caplog.records if r.name == "api" and "unhandled" in r.getMessage()]
    assert not unhandled, [r.getMessage() for r in unhandled]
