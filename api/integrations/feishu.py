"""Feishu (Lark): POST /feishu/events for the event subscription; text messages reach the advisor.

A request is trusted only when its verification token matches (401 otherwise). With an encrypt
key set, the ``encrypt`` field is decrypted with lark-oapi's ``AESCipher`` and every event but the
URL challenge must carry a valid ``X-Lark-Signature``. The webhook is answered at once; the turn
is computed and sent back through the IM API on a worker thread. Each event id is handled once.
One advisor session per chat, or per topic when the message is in one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping
from functools import partial
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from lark_oapi.core.const import LARK_REQUEST_NONCE, LARK_REQUEST_SIGNATURE, LARK_REQUEST_TIMESTAMP
from lark_oapi.core.utils import AESCipher

from core.settings import Settings

from ..errors import error
from . import messages
from .conversation import (
    AdvisorSource,
    Background,
    Conversations,
    RecentIds,
    chat_session_id,
    webhook_router,
)
from .feishu_im import FeishuMessenger

log = logging.getLogger("api.integrations")

PATH = "/feishu/events"
MESSAGE_RECEIVED = "im.message.receive_v1"
_MENTION_KEY = re.compile(r"@_(?:user_\d+|all)")


class Unverified(Exception):
    """The request cannot be authenticated."""


def lark_signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    """Feishu's request signature: hex SHA-256 of timestamp, nonce, encrypt key and body."""
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode("utf-8") + body).hexdigest()


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a Feishu text message without its @mention placeholders."""
    try:
        content = json.loads(message.get("content") or "{}")
    except ValueError:
        return ""
    text = content.get("text", "") if isinstance(content, dict) else ""
    for mention in message.get("mentions") or []:
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
        self.seen = RecentIds()
        self.background = Background("feishu")

    def handle(self, body: bytes, headers: Mapping[str, str]) -> Response:
        """Answer one callback: the challenge, an acknowledgement, or an error."""
        try:
            envelope = json.loads(body)
        except ValueError:
            return error(400, messages.NOT_JSON)
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
        header = payload.get("header") or {}
        event = payload.get("event")
        event_id = header.get("event_id")
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
        message = event.get("message") or {}
        message_id = message.get("message_id")
        sender = event.get("sender") or {}
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
        parts = ["feishu", str(message.get("chat_id") or "")] + ([str(topic)] if topic else [])
        turn = self.conversations.answer(chat_session_id(*parts), text)
        self.messenger.reply(message_id, turn.reply, in_thread)

    def _decrypted(self, envelope: dict[str, Any]) -> dict[str, Any]:
        if "encrypt" not in envelope:
            return envelope
        try:
            payload = json.loads(AESCipher(self.encrypt_key).decrypt_str(envelope["encrypt"]))
        except (ValueError, TypeError) as exc:
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
        expected = lark_signature(timestamp, nonce, self.encrypt_key, body)
        if not hmac.compare_digest(signature.encode("utf-8"), expected.encode("utf-8")):
            raise Unverified("bad X-Lark-Signature")


def router(settings: Settings, advisor: AdvisorSource) -> APIRouter:
    """POST /feishu/events, answered by the Feishu adapter."""
    return webhook_router(PATH, FeishuAdapter(settings, Conversations(advisor)))
