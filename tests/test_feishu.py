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


def question_cards(feishu: FakeChatServer, message_id: str) -> int:
    """How many follow-up questions with buttons were replied to ``message_id``: one per turn
    (a turn's last card), so a second count means the message was answered twice."""
    cards = [json.loads(call.json["content"]) for call in feishu.calls_to(reply_path(message_id))]
    return sum(any(e["tag"] == "action" for e in card["elements"]) for card in cards)


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


def post(
    client: TestClient,
    payload: dict[str, Any],
    encrypted: bool = False,
    path: str = "/feishu/events",
) -> Any:
    """Send a callback to ``path``, encrypted and signed like Feishu when ``encrypted``."""
    plaintext = json.dumps(payload, ensure_ascii=False)
    if not encrypted:
        return client.post(path, content=plaintext.encode())
    body = json.dumps({"encrypt": encrypt(plaintext)}).encode()
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex
    headers = {
        "X-Lark-Request-Timestamp": timestamp,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": lark_signature(timestamp, nonce, ENCRYPT_KEY, body),
    }
    return client.post(path, content=body, headers=headers)


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
    # one turn: the reply's card, then the follow-up question's card with its buttons
    reply, asked = feishu.wait_for(reply_path("om_first"), n=2)

    # A later, different message is answered: by then the duplicate would have been too.
    post(client, message_event("芝麻分580", "om_second", chat_id))
    feishu.wait_for(reply_path("om_second"))
    assert len(feishu.calls_to(reply_path("om_first"))) == 2
    assert [e["tag"] for e in json.loads(asked.json["content"])["elements"]] == [
        "markdown",
        "action",
    ]
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


def card_action(
    value: Any, message_id: str, chat_id: str, event_id: str | None = None
) -> dict[str, Any]:
    """A card.action.trigger callback: a person pressed a button whose value is ``value``."""
    return {
        "schema": "2.0",
        "header": {
            "event_id": event_id or uuid.uuid4().hex,
            "event_type": "card.action.trigger",
            "create_time": str(int(time.time() * 1_000_000)),
            "token": VERIFICATION_TOKEN,
            "app_id": "cli_test",
            "tenant_key": "tenant",
        },
        "event": {
            "operator": {"tenant_key": "tenant", "open_id": "ou_person", "union_id": "on_person"},
            "token": "c-update-token",
            "action": {"value": value, "tag": "button"},
            "host": "im_message",
            "context": {"open_message_id": message_id, "open_chat_id": chat_id},
        },
    }


def post_card(client: TestClient, payload: dict[str, Any], encrypted: bool = False) -> Any:
    """Send a card callback to Feishu's callback URL, signed like Feishu when ``encrypted``."""
    return post(client, payload, encrypted, path="/feishu/cards")


def asked_card(feishu: FakeChatServer, message_id: str) -> dict[str, Any]:
    """The last card of the reply to ``message_id``: the follow-up question with its buttons."""
    feishu.settled(reply_path(message_id))
    cards = [json.loads(call.json["content"]) for call in feishu.calls_to(reply_path(message_id))]
    assert all(
        call.json["msg_type"] == "interactive" for call in feishu.calls_to(reply_path(message_id))
    )
    return cards[-1]


def buttons(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for e in card["elements"] if e["tag"] == "action" for b in e["actions"]]


def ask_a_question(client: TestClient, feishu: FakeChatServer, chat_id: str) -> dict[str, Any]:
    post(client, message_event("借呗没额度，芝麻分580，没有逾期", "om_asks", chat_id))
    return asked_card(feishu, "om_asks")


def test_the_follow_up_comes_as_card_buttons_and_a_press_answers(
    client: TestClient, feishu: FakeChatServer, advisor: Advisor
) -> None:
    chat_id = f"oc_{uuid.uuid4().hex[:12]}"
    card = ask_a_question(client, feishu, chat_id)
    session = client.app.state.session_keys.keyed("feishu", chat_id)
    field = advisor.store.load(session).dialogue.pending
    question = advisor.engine.diagnoser.questions[field]
    pressed = buttons(card)
    assert [b["text"]["content"] for b in pressed] == [o.zh for o in question.options] + ["跳过"]
    assert question.zh in card["elements"][0]["content"]
    assert all(b["value"]["session"] == session and b["value"]["field"] == field for b in pressed)
    assert [b["value"]["choice"] for b in pressed] == [b["text"]["content"] for b in pressed]
    text = [e["content"] for call in feishu.calls_to(reply_path("om_asks"))
            for e in json.loads(call.json["content"])["elements"] if e["tag"] == "markdown"]  # fmt: skip
    assert sum(question.zh in t for t in text) == 1  # the question is asked once, with buttons
    assert not any("可以直接回复" in t for t in text)

    response = post_card(client, card_action(pressed[0]["value"], "om_card", chat_id))

    assert response.status_code == 200, response.text
    used = response.json()["card"]
    assert response.json()["card"]["type"] == "raw"
    assert buttons(used["data"]) == []
    shown = [e["content"] for e in used["data"]["elements"]]
    assert shown == [question.zh, f"已选择：{question.options[0].zh}"]
    assert response.json()["toast"]["content"] == f"已选择：{question.options[0].zh}"
    feishu.wait_for(reply_path("om_card"))
    assert getattr(advisor.profile(session), field) == question.options[0].value
    user_turns = [t["text"] for t in advisor.store.load(session).turns if t["role"] == "user"]
    assert user_turns[-1] == question.options[0].zh


def test_a_card_press_with_a_bad_signature_is_refused(
    encrypted_client: TestClient, feishu: FakeChatServer, advisor: Advisor
) -> None:
    chat_id = f"oc_{uuid.uuid4().hex[:12]}"
    post(
        encrypted_client, message_event("借呗没额度，芝麻分580，没有逾期", "om_asks", chat_id), True
    )
    value = buttons(asked_card(feishu, "om_asks"))[0]["value"]
    body = json.dumps({"encrypt": encrypt(json.dumps(card_action(value, "om_card", chat_id)))})
    timestamp = str(int(time.time()))
    forged = {
        "X-Lark-Request-Timestamp": timestamp,
        "X-Lark-Request-Nonce": "nonce",
        "X-Lark-Signature": lark_signature(timestamp, "nonce", "another-key", body.encode()),
    }

    response = encrypted_client.post("/feishu/cards", content=body, headers=forged)
    unsigned = encrypted_client.post("/feishu/cards", content=body)

    assert response.status_code == unsigned.status_code == 401
    message = response.json()["error"]
    assert message.endswith(".") and message.count(". ") == 0 and "signing" in message
    assert feishu.calls_to(reply_path("om_card")) == []
    signed = post_card(encrypted_client, card_action(value, "om_card", chat_id), encrypted=True)
    assert signed.status_code == 200, signed.text


def test_a_replayed_card_press_is_refused(
    client: TestClient, feishu: FakeChatServer, advisor: Advisor
) -> None:
    chat_id = f"oc_{uuid.uuid4().hex[:12]}"
    value = buttons(ask_a_question(client, feishu, chat_id))[-1]["value"]
    press = card_action(value, "om_card", chat_id, event_id="ev-press-once")

    assert post_card(client, press).status_code == 200
    replayed = post_card(client, press)

    assert replayed.status_code == 409
    assert replayed.json() == {
        "error": "This button press was already handled; press a button on the newest card."
    }
    feishu.settled(reply_path("om_card"))
    session = client.app.state.session_keys.keyed("feishu", chat_id)
    user_turns = [t["text"] for t in advisor.store.load(session).turns if t["role"] == "user"]
    assert user_turns.count(value["choice"]) == 1


def test_a_card_press_for_an_unknown_session_or_not_ours_is_a_clear_4xx(
    client: TestClient, feishu: FakeChatServer
) -> None:
    chat_id = f"oc_{uuid.uuid4().hex[:12]}"
    value = buttons(ask_a_question(client, feishu, chat_id))[0]["value"]
    forgotten = value | {"session": client.app.state.session_keys.keyed("feishu", "oc_gone")}
    rest = value | {
        "session": client.post("/v1/chat", json={"message": "花呗被降额"}).json()["session_id"]
    }

    unknown = post_card(client, card_action(forgotten, "om_card", chat_id))
    other_kind = post_card(client, card_action(rest, "om_card", chat_id))
    not_ours = post_card(client, card_action({"note": "x"}, "om_card", chat_id))
    too_long = post_card(client, card_action(value | {"choice": "借" * 601}, "om_card", chat_id))

    assert unknown.status_code == other_kind.status_code == 404
    assert "send the advisor a new message" in unknown.json()["error"]
    assert not_ours.status_code == too_long.status_code == 400
    assert "press a button on a card the advisor sent" in not_ours.json()["error"]
    assert "600 characters" in too_long.json()["error"]
    assert feishu.calls_to(reply_path("om_card")) == []


def test_a_press_on_an_answered_question_is_refused(
    client: TestClient, feishu: FakeChatServer, advisor: Advisor
) -> None:
    chat_id = f"oc_{uuid.uuid4().hex[:12]}"
    value = buttons(ask_a_question(client, feishu, chat_id))[0]["value"]
    assert post_card(client, card_action(value, "om_card", chat_id)).status_code == 200
    feishu.wait_for(reply_path("om_card"))

    again = post_card(client, card_action(value, "om_card_again", chat_id))

    assert again.status_code == 409
    assert "already answered" in again.json()["error"]
