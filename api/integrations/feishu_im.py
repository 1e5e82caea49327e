"""Feishu's IM API: replies to a message as Markdown cards, with a cached tenant access token.

A turn's follow-up question comes last, in a card with one button per choice
(``feishu_cards``); pressing one, or replying with a choice's text, answers it.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from urllib.parse import quote

import httpx

from bot.turn import Turn

from .conversation import split_text
from .feishu_cards import CARD_TEXT_LIMIT, Card, turn_cards

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
REPLY_PATH = "/open-apis/im/v1/messages/{message_id}/reply"
TOKEN_MARGIN_SECONDS = 300  # renew this long before Feishu says the token expires
# Feishu's codes for a missing, invalid or expired tenant access token
STALE_TOKEN_CODES = frozenset({99991661, 99991663, 99991668})


class FeishuApiError(Exception):
    """Feishu answered an API call with a non-zero code (kept in ``code``)."""

    def __init__(self, message: str, code: object = None) -> None:
        super().__init__(message)
        self.code = code


class FeishuMessenger:
    """Replies to Feishu messages through the IM API as app ``app_id``."""

    def __init__(self, api_url: str, app_id: str, app_secret: str, timeout: float = 10.0) -> None:
        self._http = httpx.Client(base_url=api_url.rstrip("/"), timeout=timeout)
        self._app_id, self._app_secret = app_id, app_secret
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def tenant_token(self) -> str:
        """The tenant access token, fetched once and reused until shortly before it expires."""
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires:
                body = self._call(
                    TOKEN_PATH, {"app_id": self._app_id, "app_secret": self._app_secret}
                )
                self._token = str(body["tenant_access_token"])
                lifetime = int(body.get("expire", 0)) - TOKEN_MARGIN_SECONDS
                self._expires = time.monotonic() + max(lifetime, 0)
            return self._token

    def reply_turn(self, message_id: str, turn: Turn, in_thread: bool = False) -> None:
        """Reply with an advisor turn: its Markdown, then the follow-up with its buttons."""
        self.reply_cards(message_id, turn_cards(turn), in_thread)

    def reply(self, message_id: str, markdown: str, in_thread: bool = False) -> None:
        """Reply to ``message_id`` with ``markdown``, in as many cards as its length needs."""
        cards = [
            {"config": {"wide_screen_mode": True}, "elements": [{"tag": "markdown", "content": p}]}
            for p in split_text(markdown, CARD_TEXT_LIMIT)
        ]
        self.reply_cards(message_id, cards, in_thread)

    def reply_cards(self, message_id: str, cards: list[Card], in_thread: bool = False) -> None:
        """Reply to ``message_id`` with ``cards``, one message each, in order."""
        path = REPLY_PATH.format(message_id=quote(message_id, safe=""))
        for card in cards:
            payload = {
                "msg_type": "interactive",
                "content": json.dumps(card, ensure_ascii=False),
                "reply_in_thread": in_thread,
            }
            try:
                self._call(path, payload, self.tenant_token())
            except FeishuApiError as exc:
                if exc.code not in STALE_TOKEN_CODES:
                    raise
                self._forget_token()
                self._call(path, payload, self.tenant_token())

    def _forget_token(self) -> None:
        with self._lock:
            self._token = None

    def _call(self, path: str, payload: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self._http.post(path, json=payload, headers=headers)
        try:
            body = response.json()
        except ValueError:
            response.raise_for_status()
            raise FeishuApiError(f"{path} answered with non-JSON") from None
        if not isinstance(body, dict) or body.get("code") != 0:
            code = body.get("code") if isinstance(body, dict) else None
            message = body.get("msg") if isinstance(body, dict) else None
            raise FeishuApiError(f"{path} failed with code {code}: {message}", code)
        return body
