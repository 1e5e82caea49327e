"""The DingTalk adapter end to end: signed callbacks into the real app, replies on a fake webhook."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from bot.advisor import Advisor
from core.settings import Settings

from .fake_chat_servers import FakeChatServer, GatedAdvisor, dingtalk_webhook

APP_SECRET = "test-dingtalk-app-secret"
WEBHOOK_PATH = "/robot/sendBySession"


def sign(timestamp: str, secret: str = APP_SECRET) -> str:
    """DingTalk's signature: base64 of HMAC-SHA256(secret, "timestamp\\nsecret")."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def callback(text: str, conversation_id: str, webhook: str) -> dict[str, Any]:
    """A robot callback for a text message."""
    return {
        "msgtype": "text",
        "text": {"content": f" {text}"},
        "msgId": f"msg{uuid.uuid4().hex}",
        "conversationId": conversation_id,
        "conversationType": "2",
        "senderStaffId": "staff1",
        "senderNick": "张三",
        "sessionWebhook": webhook,
        "sessionWebhookExpiredTime": int(time.time() * 1000) + 3600_000,
    }


def post(
    client: TestClient,
    payload: dict[str, Any],
    timestamp_ms: int | None = None,
    secret: str = APP_SECRET,
) -> Any:
    """Send a callback signed with ``secret`` at ``timestamp_ms`` (now by default)."""
    timestamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"timestamp": timestamp, "sign": sign(timestamp, secret)}
    return client.post("/dingtalk/events", content=body, headers=headers)


@pytest.fixture
def webhook() -> Iterator[FakeChatServer]:
    """A fake DingTalk session webhook on 127.0.0.1."""
    with FakeChatServer(dingtalk_webhook) as server:
        yield server


def dingtalk_client(settings: Settings, advisor: Any, webhook: FakeChatServer) -> TestClient:
    """The real app with DingTalk configured; the fake webhook's origin is the allowed host."""
    configured = settings.model_copy(
        update={"dingtalk_app_secret": APP_SECRET, "dingtalk_reply_hosts": webhook.url}
    )
    return TestClient(create_app(configured, advisor=advisor))


@pytest.fixture
def client(settings: Settings, advisor: Advisor, webhook: FakeChatServer) -> Iterator[TestClient]:
    """A client of the app answering with the real advisor."""
    with dingtalk_client(settings, advisor, webhook) as test_client:
        yield test_client


def test_signed_callback_is_acknowledged_then_answered_in_markdown(
    settings: Settings, advisor: Advisor, webhook: FakeChatServer
) -> None:
    gated = GatedAdvisor(advisor)
    url = f"{webhook.url}{WEBHOOK_PATH}?session=abc"
    with dingtalk_client(settings, gated, webhook) as client:
        response = post(client, callback("借呗没额度，芝麻分580", "cid-markdown", url))
        assert response.status_code == 200
        assert webhook.calls == []
        gated.gate.set()
        (call,) = webhook.wait_for(WEBHOOK_PATH)

    assert call.query == {"session": "abc"}
    message = call.json
    assert message["msgtype"] == "markdown"
    assert message["markdown"]["title"] == "融资顾问"
    assert "**" in message["markdown"]["text"]


def test_one_conversation_is_one_advisor_session(
    client: TestClient, webhook: FakeChatServer, advisor: Advisor
) -> None:
    conversation = f"cid{uuid.uuid4().hex[:12]}"
    url = f"{webhook.url}{WEBHOOK_PATH}"
    post(client, callback("借呗没额度", conversation, url))
    webhook.wait_for(WEBHOOK_PATH)
    post(client, callback("芝麻分580", conversation, url))
    webhook.wait_for(WEBHOOK_PATH, n=2)

    profile = advisor.profile(client.app.state.session_keys.keyed("dingtalk", conversation))
    assert profile.platform == "jiebei" and profile.zhima_score == 580


@pytest.mark.parametrize(
    ("timestamp_ms", "secret"),
    [
        (None, "wrong-secret"),
        (int(time.time() * 1000) - 2 * 3600 * 1000, APP_SECRET),
        (int(time.time() * 1000) + 2 * 3600 * 1000, APP_SECRET),
    ],
    ids=["bad-sign", "old-timestamp", "future-timestamp"],
)
def test_bad_sign_or_timestamp_is_refused_with_401(
    client: TestClient, webhook: FakeChatServer, timestamp_ms: int | None, secret: str
) -> None:
    payload = callback("借呗没额度", "cid-refused", f"{webhook.url}{WEBHOOK_PATH}")

    response = post(client, payload, timestamp_ms, secret)

    assert response.status_code == 401
    assert webhook.calls == []


def test_missing_headers_are_refused_with_401(client: TestClient) -> None:
    assert client.post("/dingtalk/events", content=b"{}").status_code == 401


def test_only_http_session_webhooks_are_answered(
    client: TestClient, webhook: FakeChatServer
) -> None:
    assert post(client, callback("借呗没额度", "cid-file", "file:///etc/passwd")).status_code == 200

    # A later, valid callback is answered: by then the first would have been too.
    post(client, callback("借呗没额度", "cid-http", f"{webhook.url}{WEBHOOK_PATH}"))
    assert len(webhook.wait_for(WEBHOOK_PATH)) == 1


def test_follow_up_choices_are_links_that_send_their_label(
    client: TestClient, webhook: FakeChatServer, advisor: Advisor
) -> None:
    conversation = f"cid{uuid.uuid4().hex[:12]}"
    url = f"{webhook.url}{WEBHOOK_PATH}"
    post(
        client,
        callback("Jiebei gives me no limit, Sesame score 580, never overdue", conversation, url),
    )
    parts = webhook.settled(WEBHOOK_PATH)  # a long reply comes in several messages
    session = client.app.state.session_keys.keyed("dingtalk", conversation)
    field = advisor.store.load(session).dialogue.pending
    question = advisor.engine.diagnoser.questions[field]
    text = "".join(part.json["markdown"]["text"] for part in parts)
    links = re.findall(r"\[([^\]]+)\]\(dtmd://dingtalkclient/sendMessage\?content=([^)]+)\)", text)
    assert [label for label, _ in links] == [o.en for o in question.options] + ["Skip"], text
    assert [unquote(content) for _, content in links] == [label for label, _ in links]
    assert "You can reply: " in text

    post(client, callback(unquote(links[0][1]), conversation, url))
    webhook.wait_for(WEBHOOK_PATH, n=len(parts) + 1)
    assert getattr(advisor.profile(session), field) == question.options[0].value
