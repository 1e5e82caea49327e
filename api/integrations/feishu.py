"""Feishu (Lark): POST /feishu/events for the event subscription; text messages reach the advisor.

A request is trusted only when its verification token matches (401 otherwise). With an encrypt
key set, the ``encrypt`` field is decrypted with lark-oapi's ``AESCipher`` and every event but the
URL challenge must carry a valid ``X-Lark-Signature`` whose ``X-Lark-Request-Timestamp`` is within
five minutes of now (an old signed request cannot be replayed). Without an encrypt key Feishu
signs nothing, so set one in production. The webhook is answered at once; the turn
is computed and sent back through the IM API on a worker thread. Each event id is handled once.
One advisor session per chat, or per topic when the message is in one.

A press of a follow-up button (``card.action.trigger``, at ``/feishu/cards`` or on the events
path) is verified the same way. It is answered at once with the question's card redrawn as
"已选择：<label>" (its buttons gone) and the choice's label runs the turn on a worker thread,
replied to the card. A press is refused with a one-sentence 4xx when its value is not one of
the advisor's buttons (400), its event id was seen before (409: a replay), its session is not
stored (404) or its question is no longer the one pending (409).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Mapping
from functools import partial
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from lark_oapi.core.const import LARK_REQUEST_NONCE, LARK_REQUEST_SIGNATURE, LARK_REQUEST_TIMESTAMP
from lark_oapi.core.utils import AESCipher

from core.settings import Settings

from ..body import parse_json
from ..errors import error
from . import messages
from .conversation import Background, Conversations, webhook_router
from .feishu_cards import Choice, ChoiceProblem, read_choice
from .feishu_im import FeishuMessenger

log = logging.getLogger("api.integrations")

PATH = "/feishu/events"
CARDS_PATH = "/feishu/cards"
MESSAGE_RECEIVED = "im.message.receive_v1"
CARD_ACTION = "card.action.trigger"
SESSION_KIND = "feishu"
_MENTION_KEY = re.compile(r"@_(?:user_\d+|all)")
MAX_SIGNATURE_AGE_SECONDS = 300
REPLAY_WINDOW_SECONDS = 24 * 3600  # an event id is remembered this long after its first delivery


class Unverified(Exception):
    """The request cannot be authenticated."""


def lark_signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    """Feishu's request signature: hex SHA-256 of timestamp, nonce, encrypt key and body."""
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode("utf-8") + body).hexdigest()


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a Feishu text message without its @mention placeholders."""
    raw = message.get("content")
    try:
        content = parse_json(raw.encode("utf-8", "replace")) if isinstance(raw, str) else {}
    except ValueError:
        return ""
    text = content.get("text", "") if isinstance(content, dict) else ""
    mentions = message.get("mentions")
    for mention in mentions if isinstance(mentions, list) else []:
        key = mention.get("key") if isinstance(mention, dict) else None
        if isinstance(key, str) and key:
            text = text.replace(key, "")
    return _MENTION_KEY.sub("", str(text)).strip()


class FeishuAdapter:
    """Verifies Feishu's event callbacks and answers text messages through the IM API."""

    def __init__(self, settings: Settings, conversations: Conversations) -> None:
        self.verification_token = settings.feishu_verification_token or ""
        self.encrypt_key = settings.feishu_encrypt_key or ""
        self.conversations = conversations
        self.messenger = FeishuMessenger(
            settings.feishu_api_url, settings.feishu_app_id or "", settings.feishu_app_secret or ""
        )
        self.seen = conversations.seen_ids("feishu_events", REPLAY_WINDOW_SECONDS)
        self.background = Background("feishu")

    def handle(self, body: bytes, headers: Mapping[str, str]) -> Response:
        """Answer one callback: the challenge, an acknowledgement, or an error."""
        envelope = parse_json(body)
        if not isinstance(envelope, dict):
            return error(400, messages.NOT_JSON)
        if "encrypt" in envelope and not self.encrypt_key:
            return error(400, messages.NO_ENCRYPT_KEY)
        try:
            payload = self._decrypted(envelope)
            self._check_token(payload)
            if payload.get("type") == "url_verification":
                return JSONResponse({"challenge": payload.get("challenge")})
            self._check_signature(headers, body)
        except Unverified as exc:
            log.info("refused a Feishu callback: %s", exc)
            return error(401, messages.UNAUTHORIZED)
        header = payload.get("header")
        header = header if isinstance(header, dict) else {}
        event = payload.get("event")
        event_id = header.get("event_id")
        if header.get("event_type") == CARD_ACTION:
            return self.on_card_action(event, event_id)
        if (
            header.get("event_type") == MESSAGE_RECEIVED
            and isinstance(event, dict)
            and isinstance(event_id, str)
            and self.seen.first_time(event_id)
        ):
            self.background.run(partial(self.on_message, event))
        return JSONResponse({})

    def on_message(self, event: Mapping[str, Any]) -> None:
        """Reply to a person's message with the advisor's turn (or a hint for non-text)."""
        message, sender = event.get("message"), event.get("sender")
        message = message if isinstance(message, dict) else {}
        sender = sender if isinstance(sender, dict) else {}
        message_id = message.get("message_id")
        if not isinstance(message_id, str) or sender.get("sender_type", "user") != "user":
            return
        topic = message.get("thread_id") or message.get("root_id") or ""
        in_thread = bool(message.get("thread_id"))
        if message.get("message_type") != "text":
            self.messenger.reply(message_id, messages.TEXT_ONLY, in_thread)
            return
        text = message_text(message)
        if text.lower() in messages.HELP_WORDS:
            self.messenger.reply(message_id, messages.HELP, in_thread)
            return
        parts = [str(message.get("chat_id") or "")] + ([str(topic)] if topic else [])
        turn = self.conversations.answer(self.conversations.session_id(SESSION_KIND, *parts), text)
        self.messenger.reply_turn(message_id, turn, in_thread)

    def on_card_action(self, event: object, event_id: object) -> Response:
        """Answer a button press with the used card; its choice runs the turn in the background."""
        event = event if isinstance(event, dict) else {}
        action, context = event.get("action"), event.get("context")
        try:
            choice = read_choice(action.get("value") if isinstance(action, dict) else None)
        except ChoiceProblem as exc:
            return error(400, str(exc))
        message_id = context.get("open_message_id") if isinstance(context, dict) else None
        if not isinstance(message_id, str) or not message_id:
            return error(400, messages.NOT_A_CHOICE)
        if not isinstance(event_id, str) or not self.seen.first_time(event_id):
            return error(409, messages.CHOICE_REPLAYED)
        store = self.conversations.advisor.store
        if not (choice.session.startswith(SESSION_KIND + "-") and store.exists(choice.session)):
            return error(404, messages.CHOICE_UNKNOWN_SESSION)
        if store.load(choice.session).dialogue.pending != choice.field:
            return error(409, messages.CHOICE_ANSWERED)
        self.background.run(partial(self.on_choice, choice, message_id))
        toast = {"type": "info", "content": messages.CHOSEN[choice.lang].format(label=choice.label)}
        return JSONResponse({"toast": toast, "card": {"type": "raw", "data": choice.used_card()}})

    def on_choice(self, choice: Choice, message_id: str) -> None:
        """Run the turn with the chosen label and reply to the card that offered it."""
        turn = self.conversations.answer(choice.session, choice.label)
        self.messenger.reply_turn(message_id, turn)

    def _decrypted(self, envelope: dict[str, Any]) -> dict[str, Any]:
        if "encrypt" not in envelope:
            return envelope
        try:
            decrypted = AESCipher(self.encrypt_key).decrypt_str(envelope["encrypt"])
            payload = parse_json(decrypted.encode("utf-8", "replace"))
        except Exception as exc:  # a body that does not decrypt, in whatever way, is unverified
            raise Unverified("the encrypt field does not decrypt with the encrypt key") from exc
        if not isinstance(payload, dict):
            raise Unverified("the decrypted event is not a JSON object")
        return payload

    def _check_token(self, payload: dict[str, Any]) -> None:
        header = payload.get("header")
        token = header.get("token") if isinstance(header, dict) else payload.get("token")
        if not isinstance(token, str) or not hmac.compare_digest(
            token.encode("utf-8"), self.verification_token.encode("utf-8")
        ):
            raise Unverified("wrong verification token")

    def _check_signature(self, headers: Mapping[str, str], body: bytes) -> None:
        if not self.encrypt_key:
            return
        timestamp = headers.get(LARK_REQUEST_TIMESTAMP, "")
        nonce = headers.get(LARK_REQUEST_NONCE, "")
        signature = headers.get(LARK_REQUEST_SIGNATURE, "")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            raise Unverified("bad X-Lark-Request-Timestamp")
        if abs(time.time() - int(timestamp)) > MAX_SIGNATURE_AGE_SECONDS:
            raise Unverified("X-Lark-Request-Timestamp is more than five minutes from now")
        expected = lark_signature(timestamp, nonce, self.encrypt_key, body)
        if not hmac.compare_digest(signature.encode("utf-8", "replace"), expected.encode("utf-8")):
            raise Unverified("bad X-Lark-Signature")


def router(settings: Settings, conversations: Conversations) -> APIRouter:
    """POST /feishu/events and /feishu/cards (Feishu's callback URL), answered by one adapter."""
    adapter = FeishuAdapter(settings, conversations)
    events = webhook_router(PATH, adapter)
    events.include_router(webhook_router(CARDS_PATH, adapter))
    return events
