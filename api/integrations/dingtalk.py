"""DingTalk: POST /dingtalk/events for the robot callback; text messages reach the advisor.

A callback is trusted only when its ``sign`` header is base64(HMAC-SHA256(app secret,
"{timestamp}\\n{app secret}")) and its ``timestamp`` (milliseconds) is within an hour of now;
otherwise 401. The signature covers only the timestamp, so a (timestamp, sign) pair is accepted
for one body only: the same pair with another body within the hour is refused with 401.

The callback is answered at once; the turn is computed on a worker thread and posted as Markdown
to the callback's ``sessionWebhook``, but only when that URL is on a DingTalk host
(``Settings.dingtalk_reply_hosts``): the server never posts to an address a caller chose. A
message is answered once: redeliveries of a ``msgId`` are skipped, and a message without one is
recognised by its conversation, sender, text and time. One advisor session per conversation.
The follow-up's choices are ``dtmd://dingtalkclient/sendMessage`` links: a click sends the
choice's label as the next message, which the advisor reads as that option's value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Mapping
from functools import partial
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from bot.turn import Turn
from core.settings import Settings

from ..body import parse_json
from ..errors import error
from . import messages
from .choices import choices_line, with_choices
from .conversation import Background, Conversations, split_text, webhook_router

log = logging.getLogger("api.integrations")

PATH = "/dingtalk/events"
MAX_CLOCK_SKEW_MS = 3600 * 1000
MARKDOWN_LIMIT = 4000  # characters per Markdown message
MAX_TIMESTAMP_DIGITS = 13
SEND_MESSAGE = "dtmd://dingtalkclient/sendMessage?content="
"""DingTalk's link scheme that sends its ``content`` as the reader's message when clicked."""


def allowed_origins(hosts: str) -> frozenset[tuple[str, str]]:
    """(scheme, host[:port]) pairs from the setting: bare hosts mean https on them."""
    origins = set()
    for entry in (part.strip().lower() for part in hosts.split(",")):
        if entry:
            parts = urlsplit(entry if "://" in entry else f"https://{entry}")
            origins.add((parts.scheme, parts.netloc))
    return frozenset(origins)


def reply_url_allowed(url: object, origins: frozenset[tuple[str, str]]) -> bool:
    """Whether ``url`` is an http(s) URL on an allowed origin, without credentials."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
        origin = (parts.scheme.lower(), parts.netloc.lower())
    except ValueError:
        return False
    return "@" not in parts.netloc and origin in origins


def dingtalk_sign(timestamp: str, app_secret: str) -> str:
    """DingTalk's callback signature for ``timestamp`` (milliseconds, as sent)."""
    digest = hmac.new(
        app_secret.encode("utf-8"), f"{timestamp}\n{app_secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def verified(timestamp: str | None, sign: str | None, app_secret: str, now_ms: int) -> bool:
    """Whether a callback's ``timestamp`` is within an hour of now and ``sign`` matches it."""
    if not timestamp or not sign or not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if len(timestamp) > MAX_TIMESTAMP_DIGITS or not sign.isascii():
        return False
    if abs(now_ms - int(timestamp)) > MAX_CLOCK_SKEW_MS:
        return False
    expected = dingtalk_sign(timestamp, app_secret)
    return hmac.compare_digest(sign.encode("utf-8"), expected.encode("utf-8"))


class DingTalkAdapter:
    """Verifies DingTalk robot callbacks and answers through their session webhooks."""

    def __init__(self, settings: Settings, conversations: Conversations) -> None:
        self.app_secret = settings.dingtalk_app_secret or ""
        self.origins = allowed_origins(settings.dingtalk_reply_hosts)
        self.conversations = conversations
        window = 2 * MAX_CLOCK_SKEW_MS / 1000
        self.seen = conversations.seen_ids("dingtalk_messages", window)
        self.signatures = conversations.seen_ids("dingtalk_signatures", window)
        self.background = Background("dingtalk")
        self._http = httpx.Client(timeout=10.0)

    def handle(self, body: bytes, headers: Mapping[str, str]) -> Response:
        """Answer one callback: an acknowledgement, or an error."""
        now_ms = int(time.time() * 1000)
        timestamp, sign = headers.get("timestamp"), headers.get("sign")
        if not verified(timestamp, sign, self.app_secret, now_ms):
            log.info("refused a DingTalk callback with a bad or expired signature")
            return error(401, messages.UNAUTHORIZED)
        digest = hashlib.sha256(body).hexdigest()
        earlier = self.signatures.remember(f"{timestamp}:{sign}", digest)
        if earlier is not None and earlier != digest:
            log.warning("refused a DingTalk callback replaying a signature with another body")
            return error(401, messages.UNAUTHORIZED)
        callback = parse_json(body)
        if not isinstance(callback, dict):
            return error(400, messages.NOT_JSON)
        webhook = callback.get("sessionWebhook")
        if not reply_url_allowed(webhook, self.origins):
            log.warning("DingTalk callback whose sessionWebhook is not on a DingTalk host; ignored")
        elif self.seen.first_time(self.message_key(callback, str(timestamp))):
            self.background.run(partial(self.on_message, callback, str(webhook)))
        return JSONResponse({})

    @staticmethod
    def message_key(callback: Mapping[str, Any], timestamp: str) -> str:
        """What makes a message itself: its msgId, else conversation, sender, text and minute."""
        message_id = callback.get("msgId")
        if isinstance(message_id, str) and message_id:
            return f"id:{message_id}"
        created = callback.get("createAt")
        minute = str(created) if created is not None else str(int(timestamp) // 60_000)
        parts = [
            str(callback.get(name, "")) for name in ("conversationId", "senderId", "senderStaffId")
        ]
        content = json_text(callback.get("text"))
        raw = "\x1f".join([*parts, content, minute])
        return "content:" + hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()

    def on_message(self, callback: Mapping[str, Any], webhook: str) -> None:
        """Post the advisor's turn (or a hint for non-text messages) to the session webhook."""
        if callback.get("msgtype") != "text":
            self.send(webhook, messages.TEXT_ONLY)
            return
        text = json_text(callback.get("text")).strip()
        if text.lower() in messages.HELP_WORDS:
            self.send(webhook, messages.HELP)
            return
        conversation = str(callback.get("conversationId") or "")
        session_id = self.conversations.session_id("dingtalk", conversation)
        self.send(webhook, turn_markdown(self.conversations.answer(session_id, text)))

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


def choice_link(label: str) -> str:
    """A Markdown link that, clicked in DingTalk, sends ``label`` as the person's message."""
    return f"[{label}]({SEND_MESSAGE}{quote(label, safe='')})"


def turn_markdown(turn: Turn) -> str:
    """A turn as DingTalk Markdown: the reply, the follow-up's choices as links after it."""
    return with_choices(turn, choices_line(turn, choice_link))


def json_text(text: object) -> str:
    """The ``content`` of a callback's ``text`` object ('' when it has another shape)."""
    content = text.get("content", "") if isinstance(text, dict) else ""
    return content if isinstance(content, str) else ""


def router(settings: Settings, conversations: Conversations) -> APIRouter:
    """POST /dingtalk/events, answered by the DingTalk adapter."""
    return webhook_router(PATH, DingTalkAdapter(settings, conversations))
