"""The Feishu adapter end to end: callbacks into the real app, replies on a fake Feishu API."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from Crypto.Cipher import AES
from fastapi.testclient import TestClient

from api.integrations.feishu import lark_signature, message_text
from api.main import create_app
from bot.advisor import Advisor
from core.settings import Settings

from .fake_chat_servers import FEISHU_TOKEN, FakeChatServer, GatedAdvisor, feishu_api

VERIFICATION_TOKEN = "test-verification-token"
ENCRYPT_KEY = "test-encrypt-key"
TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"


def reply_path(message_id: str) -> str:
    """Where the reply to ``message_id`` is posted."""
    return f"/open-apis/im/v1/messages/{message_id}/reply"


def encrypt(plaintext: str, key: str = ENCRYPT_KEY) -> str:
    """Encrypt like Feishu: AES-256-CBC with sha256(key), PKCS7, random IV first, base64."""
    data = plaintext.encode()
    pad = AES.block_size - len(data) % AES.block_size
    iv = os.urandom(AES.block_size)
    cipher = AES.new(hashlib.sha256(key.encode()).digest(), AES.MODE_CBC, iv)
    return base64.b64encode(iv + cipher.encrypt(data + bytes([pad]) * pad)).decode()


def message_event(
    text: str,
    message_id: str,
    chat_id: str,
    event_id: str | None = None,
    token: str = VERIFICATION_TOKEN,
) -> dict[str, Any]:
    """An im.message.receive_v1 event: a person @-mentions the bot with ``text``."""
    return {
        "schema": "2.0",
        "header": {
            "event_id": event_id or uuid.uuid4().hex,
            "event_type": "im.message.receive_v1",
            "create_time": str(int(time.time() * 1000)),
            "token": token,
            "app_id": "cli_test",
            "tenant_key": "tenant",
        },
        "event": {
            "sender": {"sender_id": {"open_id": "ou_person"}, "sender_type": "user"},
            "message": {
                "message_id": message_id,
                "chat_id": chat_id,
                "chat_type": "group",
                "message_type": "text",
                "content": json.dumps({"text": f"@_user_1 {text}"}, ensure_ascii=False),
                "mentions": [{"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "融资顾问"}],
            },
        },
    }


def post(client: TestClient, payload: dict[str, Any], encrypted: bool = False) -> Any:
    """Send a callback, encrypted and signed like Feishu when ``encrypted``."""
    plaintext = json.dumps(payload, ensure_ascii=False)
    if not encrypted:
        return client.post("/feishu/events", content=plaintext.encode())
    body = json.dumps({"encrypt": encrypt(plaintext)}).encode()
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex
    headers = {
        "X-Lark-Request-Timestamp": timestamp,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": lark_signature(timestamp, nonce, ENCRYPT_KEY, body),
    }
    return client.post("/feishu/events", content=body, headers=headers)


@pytest.fixture
def feishu() -> Iterator[FakeChatServer]:
    """A fake Feishu open platform on 127.0.0.1."""
    with FakeChatServer(feishu_api) as server:
        yield server


def feishu_client(
    settings: Settings, advisor: Any, feishu: FakeChatServer, encrypt_key: str | None = None
) -> TestClient:
    """The real app with Feishu configured against the fake API."""
    configured = settings.model_copy(
        update={
            "feishu_app_id": "cli_test",
            "feishu_app_secret": "test-app-secret",
            "feishu_verification_token": VERIFICATION_TOKEN,
            "feishu_encrypt_key": encrypt_key,
            "feishu_api_url": feishu.url,
        }
    )
    return TestClient(create_app(configured, advisor=advisor))


@pytest.fixture
def client(settings: Settings, advisor: Advisor, feishu: FakeChatServer) -> Iterator[TestClient]:
    """A client of the app with plain (unencrypted) callbacks."""
    with feishu_client(settings, advisor, feishu) as test_client:
        yield test_client


@pytest.fixture
def encrypted_client(
    settings: Settings, advisor: Advisor, feishu: FakeChatServer
) -> Iterator[TestClient]:
    """A client of the app with an encrypt key set."""
    with feishu_client(settings, advisor, feishu, ENCRYPT_KEY) as test_client:
        yield test_client


def test_plain_challenge_is_echoed(client: TestClient) -> None:
    challenge = {
        "challenge": "ajls384kdjx98XX",
        "token": VERIFICATION_TOKEN,
        "type": "url_verification",
    }

    response = post(client, challenge)

    assert response.status_code == 200
    assert response.json() == {"challenge": "ajls384kdjx98XX"}


def test_encrypted_challenge_is_decrypted_and_echoed(encrypted_client: TestClient) -> None:
    challenge = {
        "challenge": "encrypted-challenge",
        "token": VERIFICATION_TOKEN,
        "type": "url_verification",
    }
    body = json.dumps({"encrypt": encrypt(json.dumps(challenge))})

    response = encrypted_client.post("/feishu/events", content=body)

    assert response.status_code == 200
    assert response.json() == {"challenge": "encrypted-challenge"}


def test_wrong_verification_token_is_refused_with_401(
    client: TestClient, feishu: FakeChatServer
) -> None:
    challenge = {"challenge": "x", "token": "wrong", "type": "url_verification"}
    event = message_event("借呗没额度", "om_wrong", "oc_wrong", token="wrong")

    assert post(client, challenge).status_code == 401
    assert post(client, event).status_code == 401
    assert post(client, {"challenge": "x", "type": "url_verification"}).status_code == 401
    assert feishu.calls == []


def test_undecryptable_or_unsigned_events_are_refused_with_401(
    encrypted_client: TestClient, feishu: FakeChatServer
) -> None:
    event = message_event("借呗没额度", "om_unsigned", "oc_unsigned")
    wrong_key = json.dumps({"encrypt": encrypt(json.dumps(event), key="another-key")})
    unsigned = json.dumps({"encrypt": encrypt(json.dumps(event))})

    assert encrypted_client.post("/feishu/events", content=wrong_key).status_code == 401
    assert encrypted_client.post("/feishu/events", content=unsigned).status_code == 401
    assert feishu.calls == []


def test_message_is_answered_once_in_reply_with_a_cached_tenant_token(
    client: TestClient, feishu: FakeChatServer, advisor: Advisor
) -> None:
    chat_id = f"oc_{uuid.uuid4().hex[:12]}"
    event = message_event("借呗没额度", "om_first", chat_id, event_id="ev-duplicate")

    assert post(client, event).status_code == 200
    assert post(client, event).status_code == 200
    (reply,) = feishu.wait_for(reply_path("om_first"))

    # A later, different message is answered: by then the duplicate would have been too.
    post(client, message_event("芝麻分580", "om_second", chat_id))
    feishu.wait_for(reply_path("om_second"))
    assert len(feishu.calls_to(reply_path("om_first"))) == 1
    assert len(feishu.calls_to(TOKEN_PATH)) == 1
    assert feishu.calls_to(TOKEN_PATH)[0].json == {
        "app_id": "cli_test",
        "app_secret": "test-app-secret",
    }
    assert reply.headers["authorization"] == f"Bearer {FEISHU_TOKEN}"
    assert reply.json["msg_type"] == "interactive"
    card = json.loads(reply.json["content"])
    assert "**" in card["elements"][0]["content"]

    state = advisor.store.load(client.app.state.session_keys.keyed("feishu", chat_id))
    assert [t["text"] for t in state.turns if t["role"] == "user"] == ["借呗没额度", "芝麻分580"]
    assert state.profile.platform == "jiebei" and state.profile.zhima_score == 580


def test_encrypted_event_is_acknowledged_before_the_reply(
    settings: Settings, advisor: Advisor, feishu: FakeChatServer
) -> None:
    gated = GatedAdvisor(advisor)
    with feishu_client(settings, gated, feishu, ENCRYPT_KEY) as client:
        response = post(client, message_event("网商贷被拒了", "om_encrypted", "oc_encrypted"), True)
        assert response.status_code == 200
        assert feishu.calls_to(reply_path("om_encrypted")) == []
        gated.gate.set()
        (reply,) = feishu.wait_for(reply_path("om_encrypted"))
    assert json.loads(reply.json["content"])["elements"][0]["content"]


def test_mentions_are_stripped_from_text() -> None:
    message = {
        "content": json.dumps({"text": "@_user_1 借呗没额度 @_all"}),
        "mentions": [{"key": "@_user_1", "name": "融资顾问"}],
    }

    assert message_text(message) == "借呗没额度"


def test_the_card_shows_the_follow_up_choices_and_a_choice_answers(
    client: TestClient, feishu: FakeChatServer, advisor: Advisor
) -> None:
    chat_id = f"oc_{uuid.uuid4().hex[:12]}"
    post(client, message_event("借呗没额度，芝麻分580，没有逾期", "om_choices", chat_id))
    (reply,) = feishu.wait_for(reply_path("om_choices"))
    card = "\n".join(
        element["content"] for element in json.loads(reply.json["content"])["elements"]
    )
    session = client.app.state.session_keys.keyed("feishu", chat_id)
    field = advisor.store.load(session).dialogue.pending
    question = advisor.engine.diagnoser.questions[field]
    line = "可以直接回复：" + " / ".join([o.zh for o in question.options] + ["跳过"])
    blocks = card.split("\n\n")
    assert line in blocks, card
    assert question.zh in blocks[blocks.index(line) - 1]  # right after the question

    post(client, message_event(question.options[0].zh, "om_chosen", chat_id))
    feishu.wait_for(reply_path("om_chosen"))
    assert getattr(advisor.profile(session), field) == question.options[0].value
