"""Slack: a bolt ``App`` behind POST /slack/events; mentions, DMs and /finadvisor reach the advisor.

Bolt verifies every request's signature (HMAC of ``v0:timestamp:body``, at most five minutes
old) before anything else and answers a generic 401 otherwise. Events are acknowledged at once
and answered from bolt's listener threads; an event id seen before (Slack retries with
``X-Slack-Retry-Num``) is acknowledged without being answered again. Each Slack thread is one
advisor session; a slash command's session is its user in that channel.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from slack_bolt import Ack, App, BoltRequest, BoltResponse, Respond
from slack_bolt.adapter.fastapi import SlackRequestHandler
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_bolt.middleware import Middleware
from slack_bolt.middleware.request_verification import RequestVerification
from slack_sdk import WebClient

from bot.turn import Turn
from core.settings import Settings

from . import messages
from .conversation import AdvisorSource, Conversations, RecentIds, chat_session_id
from .slack_blocks import fallback_text, turn_blocks

log = logging.getLogger("api.integrations")

PATH = "/slack/events"
SLASH_COMMAND = "/finadvisor"
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_INVALID = {"error": "invalid request"}


class SignedRequests(RequestVerification):
    """Bolt's signature check; a malformed timestamp is refused with 401 like a bad signature."""

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        """Pass signed, fresh requests on; answer 401 to the rest."""
        timestamp = req.headers.get("x-slack-request-timestamp", ["0"])[0]
        if not timestamp.isdigit():
            return BoltResponse(status=401, body=_INVALID)
        return super().process(req=req, resp=resp, next=next)


class SkipRedeliveries(Middleware):
    """Acknowledges an event already received (a Slack retry) without handling it again."""

    def __init__(self, seen: RecentIds) -> None:
        self.seen = seen

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        """Stop here for a known event id; otherwise go on to the listeners."""
        event_id = req.body.get("event_id")
        if isinstance(event_id, str) and not self.seen.first_time(event_id):
            retry = req.headers.get("x-slack-retry-num", ["?"])[0]
            log.info("skipped Slack event %s, already received (retry %s)", event_id, retry)
            return BoltResponse(status=200, body="", headers={"X-Slack-No-Retry": "1"})
        return next()


class ThreadedRequestHandler(SlackRequestHandler):
    """Bolt's FastAPI handler, with bolt's blocking dispatch moved off the event loop."""

    async def handle(
        self, req: Request, addition_context_properties: dict[str, Any] | None = None
    ) -> Response:
        """Translate the request for bolt, dispatch it in a worker thread, translate back."""
        if req.method != "POST":
            return await super().handle(req, addition_context_properties)
        body = await req.body()
        bolt_request = to_bolt_request(req, body, addition_context_properties)
        return to_starlette_response(await run_in_threadpool(self.app.dispatch, bolt_request))


def is_direct_message(event: dict[str, Any]) -> bool:
    """A person's own message in a DM with the bot (no bot messages, edits or other subtypes)."""
    return event.get("channel_type") == "im" and "subtype" not in event and "bot_id" not in event


class SlackAdapter:
    """The bolt app and its listeners: each maps a Slack message to one advisor turn."""

    def __init__(self, settings: Settings, conversations: Conversations) -> None:
        self.conversations = conversations
        client = WebClient(
            token=settings.slack_bot_token, base_url=settings.slack_api_url.rstrip("/") + "/"
        )
        secret = settings.slack_signing_secret or ""
        self.bolt = App(
            name="finadvisor",
            client=client,
            signing_secret=secret,
            # auth.test runs on the first request instead, so start-up never needs Slack
            token_verification_enabled=False,
            request_verification_enabled=False,
            before_authorize=SignedRequests(secret),
            process_before_response=False,
            listener_executor=ThreadPoolExecutor(max_workers=8, thread_name_prefix="slack"),
        )
        self.bolt.use(SkipRedeliveries(RecentIds()))
        self.bolt.event("app_mention")(self.on_mention)
        self.bolt.event("message", matchers=[is_direct_message])(self.on_direct_message)
        self.bolt.event("message")(self.on_other_message)
        self.bolt.command(SLASH_COMMAND)(self.on_command)
        self.handler = ThreadedRequestHandler(self.bolt)

    def on_mention(self, event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        """Answer a mention in its thread."""
        self._answer_in_thread(event, body, client)

    def on_direct_message(
        self, event: dict[str, Any], body: dict[str, Any], client: WebClient
    ) -> None:
        """Answer a direct message in its thread."""
        self._answer_in_thread(event, body, client)

    def on_other_message(self) -> None:
        """Acknowledge channel chatter, bot messages and edits without answering them."""

    def on_command(self, ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        """Acknowledge /finadvisor at once, then send the turn through the response URL."""
        text = command.get("text", "").strip()
        session_id = chat_session_id(
            "slack",
            command.get("team_id", ""),
            command.get("channel_id", ""),
            command.get("user_id", ""),
        )
        if text.lower() in messages.HELP_WORDS:
            ack(text=messages.HELP)
            return
        if text.lower() in messages.RESET_WORDS:
            self.conversations.reset(session_id)
            ack(text=messages.RESET_DONE)
            return
        ack(text=messages.THINKING)
        turn = self.conversations.answer(session_id, text)
        respond(text=fallback_text(turn), blocks=self._blocks(turn))

    def _answer_in_thread(
        self, event: dict[str, Any], body: dict[str, Any], client: WebClient
    ) -> None:
        channel = event["channel"]
        thread_ts = event.get("thread_ts") or event["ts"]
        team = body.get("team_id") or event.get("team") or ""
        session_id = chat_session_id("slack", team, channel, thread_ts)
        text = _MENTION.sub("", event.get("text", "")).strip()
        if text.lower() in messages.HELP_WORDS:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=messages.HELP)
            return
        turn = self.conversations.answer(session_id, text)
        client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=fallback_text(turn),
            blocks=self._blocks(turn),
        )

    def _blocks(self, turn: Turn) -> list[dict[str, Any]]:
        return turn_blocks(turn, lambda code: self.conversations.label("channels", code, turn.lang))


def router(settings: Settings, advisor: AdvisorSource) -> APIRouter:
    """POST /slack/events, answered by the bolt app."""
    adapter = SlackAdapter(settings, Conversations(advisor))
    slack = APIRouter(tags=["integrations"])

    @slack.post(PATH, include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        return await adapter.handler.handle(request)

    return slack
