"""DingTalk: POST /dingtalk/events for the robot callback; text messages reach the advisor.

A callback is trusted only when its ``sign`` header is base64(HMAC-SHA256(app secret,
"{timestamp}\\n{app secret}")) and its ``timestamp`` (milliseconds) is within an hour of now;
otherwise 401. The callback is answered at once; the turn is computed on a worker thread and
posted as Markdown to the callback's ``sessionWebhook``. One advisor session per conversation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from core.settings import Settings

from ..errors import error
from . import messages
from .conversation import (
    AdvisorSource,
    Background,
    Conversations,
    RecentIds,
    chat_session_id,
    split_text,
    webhook_router,
)

log = logging.getLogger("api.integrations")

PATH = "/dingtalk/events"
MAX_CLOCK_SKEW_MS = 3600 * 1000
MARKDOWN_LIMIT = 4000  # characters per Markdown message


def dingtalk_sign(timestamp: str, app_secret: str) -> str:
    """DingTalk's callback signature for ``timestamp`` (milliseconds, as sent)."""
    digest = hmac.new(
        app_secret.encode("utf-8"), f"{timestamp}\n{app_secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def verified(timestamp: str | None, sign: str | None, app_secret: str, now_ms: int) -> bool:
    """Whether a callback's ``timestamp`` is within an hour of now and ``sign`` matches it."""
    if not timestamp or not sign or not timestamp.isdigit():
        return False
    if abs(now_ms - int(timestamp)) > MAX_CLOCK_SKEW_MS:
        return False
    expected = dingtalk_sign(timestamp, app_secret)
    return hmac.compare_digest(sign.encode("utf-8"), expected.encode("utf-8"))


class DingTalkAdapter:
    """Verifies DingTalk robot callbacks and answers through their session webhooks."""

    def __init__(self, settings: Settings, conversations: Conversations) -> None:
        self.app_secret = settings.dingtalk_app_secret or ""
        self.conversations = conversations
        self.seen = RecentIds()
        self.background = Background("dingtalk")
        self._http = httpx.Client(timeout=10.0)

    def handle(self, body: bytes, headers: Mapping[str, str]) -> Response:
        """Answer one callback: an acknowledgement, or an error."""
        now_ms = int(time.time() * 1000)
        if not verified(headers.get("timestamp"), headers.get("sign"), self.app_secret, now_ms):
            log.info("refused a DingTalk callback with a bad or expired signature")
            return error(401, messages.UNAUTHORIZED)
        try:
            callback = json.loads(body)
        except ValueError:
            return error(400, messages.NOT_JSON)
        if not isinstance(callback, dict):
            return error(400, messages.NOT_JSON)
        webhook = callback.get("sessionWebhook")
        message_id = callback.get("msgId")
        if not isinstance(webhook, str) or urlsplit(webhook).scheme not in {"http", "https"}:
            log.info("DingTalk callback without an http(s) sessionWebhook; nothing to reply to")
        elif not isinstance(message_id, str) or self.seen.first_time(message_id):
            self.background.run(partial(self.on_message, callback, webhook))
        return JSONResponse({})

    def on_message(self, callback: Mapping[str, Any], webhook: str) -> None:
        """Post the advisor's turn (or a hint for non-text messages) to the session webhook."""
        if callback.get("msgtype") != "text":
            self.send(webhook, messages.TEXT_ONLY)
            return
        content = (callback.get("text") or {}).get("content", "")
        text = str(content).strip()
        if text.lower() in messages.HELP_WORDS:
            self.send(webhook, messages.HELP)
            return
        session_id = chat_session_id("dingtalk", str(callback.get("conversationId") or ""))
        self.send(webhook, self.conversations.answer(session_id, text).reply)

    def send(self, webhook: str, markdown: str) -> None:
        """Post ``markdown`` to a session webhook, in as many messages as its length needs."""
        for piece in split_text(markdown, MARKDOWN_LIMIT):
            message = {
                "msgtype": "markdown",
                "markdown": {"title": messages.DINGTALK_TITLE, "text": piece},
            }
            response = self._http.post(webhook, json=message)
            response.raise_for_status()
            answer = response.json()
            if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
                log.warning("DingTalk refused a reply: %s", answer.get("errmsg"))
                return


def router(settings: Settings, advisor: AdvisorSource) -> APIRouter:
    """POST /dingtalk/events, answered by the DingTalk adapter."""
    return webhook_router(PATH, DingTalkAdapter(settings, Conversations(advisor)))
