"""Slack: a bolt ``App`` behind POST /slack/events; mentions, DMs and /finadvisor reach the advisor.

Bolt verifies every request's signature (HMAC of ``v0:timestamp:body``, at most five minutes
old) before anything else and answers a generic 401 otherwise. Events are acknowledged at once
and answered from bolt's listener threads; an event id seen before (Slack retries with
``X-Slack-Retry-Num``) is acknowledged without being answered again, and so is a slash command
seen before (same ``trigger_id``, or the same signed request replayed). Each Slack thread is one
advisor session; a slash command's session is its user in that channel. A click on a follow-up
button is that button's label sent as the next message of the conversation it was shown in;
the message that offered it is updated at once (``chat.update``, or its response URL when it
was only shown to the person) so that its buttons read "已选择：<label>".

The bot's identity (``auth.test``) is fetched lazily with a short timeout and cached; while
Slack's API cannot be reached it is retried at most once a minute and the failure is logged, so
a signed event is still acknowledged with 200 at once (Slack wants that within 3 s).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from slack_bolt import Ack, App, BoltRequest, BoltResponse, Respond
from slack_bolt.adapter.fastapi import SlackRequestHandler
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.middleware import Middleware
from slack_bolt.middleware.request_verification import RequestVerification
from slack_sdk import WebClient

from bot.turn import Turn
from bot.understand import language
from core.errors import StateError
from core.settings import Settings

from ..body import BodyProblem, parse_json
from ..errors import STORAGE_UNAVAILABLE, error
from ..request_context import ContextThreadPool
from ..shared_state import SeenIds
from . import messages
from .conversation import Conversations
from .slack_blocks import CHOICE_ACTION, fallback_text, turn_blocks, used_blocks

log = logging.getLogger("api.integrations")

PATH = "/slack/events"
SLASH_COMMAND = "/finadvisor"
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_INVALID = {"error": "invalid request"}
AUTH_TEST_TIMEOUT_SECONDS = 2
AUTH_TEST_RETRY_SECONDS = 60.0
REPLAY_WINDOW_SECONDS = 600


class BotIdentity:
    """The bot's ``auth.test`` answer, fetched on first need, cached, and never raised on."""

    def __init__(self, api_url: str, token: str) -> None:
        self.token = token
        self._client = WebClient(token=token, base_url=api_url, timeout=AUTH_TEST_TIMEOUT_SECONDS)
        self._identity: dict[str, Any] | None = None
        self._next_try = 0.0
        self._lock = threading.Lock()

    def identity(self) -> dict[str, Any]:
        """``auth.test``'s fields, or {} while Slack cannot be reached (retried once a minute)."""
        with self._lock:
            if self._identity is None and time.monotonic() >= self._next_try:
                try:
                    self._identity = dict(self._client.auth_test().data)  # type: ignore[arg-type]
                except Exception as exc:  # Slack down or refusing: log, answer without it
                    self._next_try = time.monotonic() + AUTH_TEST_RETRY_SECONDS
                    log.warning("Slack auth.test failed (%s); retrying in a minute", exc)
            return self._identity or {}

    def authorize(self, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        """Bolt's authorization: the bot token, with the bot's ids when known."""
        known = self.identity()
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id or known.get("team_id"),
            bot_token=self.token,
            bot_id=known.get("bot_id"),
            bot_user_id=known.get("user_id"),
        )


class SignedRequests(RequestVerification):
    """Bolt's signature check; a malformed timestamp is refused with 401 like a bad signature."""

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        """Pass signed, fresh requests on; answer 401 to the rest."""
        timestamp = req.headers.get("x-slack-request-timestamp", ["0"])[0]
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return BoltResponse(status=401, body=_INVALID)
        return super().process(req=req, resp=resp, next=next)


class SkipRedeliveries(Middleware):
    """Acknowledges an event or command already received without handling it again."""

    def __init__(self, seen: SeenIds) -> None:
        self.seen = seen

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        """Stop here for a known event id; otherwise go on to the listeners."""
        key = self.delivery_key(req)
        try:
            repeated = key is not None and not self.seen.first_time(key)
        except StateError as exc:  # not marked as received: Slack retries it
            log.error("Slack delivery not accepted: %s", exc)
            return BoltResponse(status=503, body={"error": STORAGE_UNAVAILABLE})
        if repeated:
            retry = req.headers.get("x-slack-retry-num", ["?"])[0]
            log.info("skipped Slack delivery %s, already received (retry %s)", key, retry)
            return BoltResponse(status=200, body="", headers={"X-Slack-No-Retry": "1"})
        return next()

    @staticmethod
    def delivery_key(req: BoltRequest) -> str | None:
        """What identifies a delivery: its event id, a command's trigger id, else its signature."""
        event_id = req.body.get("event_id")
        if isinstance(event_id, str):
            return f"event:{event_id}"
        if "command" in req.body:
            trigger = req.body.get("trigger_id")
            signature = req.headers.get("x-slack-signature", [""])[0]
            return f"command:{trigger}" if isinstance(trigger, str) else f"signed:{signature}"
        return None


class ThreadedRequestHandler(SlackRequestHandler):
    """Bolt's FastAPI handler, with bolt's blocking dispatch moved off the event loop."""

    async def handle(
        self, req: Request, addition_context_properties: dict[str, Any] | None = None
    ) -> Response:
        """Translate the request for bolt, dispatch it in a worker thread, translate back."""
        if req.method != "POST":
            return await super().handle(req, addition_context_properties)
        body = await req.body()
        try:
            bolt_request = to_bolt_request(req, body, addition_context_properties)
            payload = bolt_request.body.get("payload")
            if isinstance(payload, str):
                parse_json(payload.encode("utf-8", "replace"))
        except BodyProblem as problem:
            return error(problem.status, problem.message)
        except (
            ValueError,
            RecursionError,
            AttributeError,
            TypeError,
            KeyError,
        ):  # bolt parsing odd bodies
            return error(400, messages.NOT_JSON)
        if not well_formed(bolt_request.body):
            return error(400, messages.NOT_SLACK_SHAPE)
        try:
            answer = await run_in_threadpool(self.app.dispatch, bolt_request)
        except (AttributeError, TypeError, KeyError, ValueError) as exc:  # bolt on odd shapes
            log.warning("refused a malformed Slack request (%s)", type(exc).__name__)
            return error(400, messages.NOT_SLACK_SHAPE)
        return to_starlette_response(answer)


_STRING_FIELDS = ("type", "team_id", "event_id", "api_app_id", "command", "trigger_id",
                  "user_id", "channel_id", "response_url", "text", "enterprise_id", "token")  # fmt: skip
_OBJECT_FIELDS = ("event", "team", "user", "channel", "enterprise", "container", "view")


def well_formed(body: object) -> bool:
    """Whether a Slack body has the shape bolt relies on (objects and strings where expected)."""
    if not isinstance(body, dict):
        return False
    if any(name in body and not isinstance(body[name], str) for name in _STRING_FIELDS):
        return False
    if any(body.get(name) is not None and not isinstance(body[name], dict | str)
           for name in _OBJECT_FIELDS if name != "event"):  # fmt: skip
        return False
    event = body.get("event")
    authorizations = body.get("authorizations", [])
    return (
        (event is None or isinstance(event, dict))
        and isinstance(authorizations, list)
        and all(isinstance(entry, dict) for entry in authorizations)
    )


def is_direct_message(event: dict[str, Any]) -> bool:
    """A person's own message in a DM with the bot (no bot messages, edits or other subtypes)."""
    return event.get("channel_type") == "im" and "subtype" not in event and "bot_id" not in event


class SlackAdapter:
    """The bolt app and its listeners: each maps a Slack message to one advisor turn."""

    def __init__(self, settings: Settings, conversations: Conversations) -> None:
        self.conversations = conversations
        api_url = settings.slack_api_url.rstrip("/") + "/"
        self.identity = BotIdentity(api_url, settings.slack_bot_token or "")
        identity = self.identity

        def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            return identity.authorize(enterprise_id, team_id)

        secret = settings.slack_signing_secret or ""
        self.bolt = App(
            name="finadvisor",
            client=WebClient(base_url=api_url),
            signing_secret=secret,
            # the bot's identity is fetched lazily and cached, so neither start-up nor an event
            # waits on (or fails with) Slack's API
            authorize=authorize,
            request_verification_enabled=False,
            before_authorize=SignedRequests(secret),
            process_before_response=False,
            listener_executor=ContextThreadPool(max_workers=8, thread_name_prefix="slack"),
        )
        self.bolt.use(
            SkipRedeliveries(conversations.seen_ids("slack_deliveries", REPLAY_WINDOW_SECONDS))
        )
        self.bolt.event("app_mention")(self.on_mention)
        self.bolt.event("message", matchers=[is_direct_message])(self.on_direct_message)
        self.bolt.event("message")(self.on_other_message)
        self.bolt.command(SLASH_COMMAND)(self.on_command)
        self.bolt.action(re.compile(f"^{re.escape(CHOICE_ACTION)}"))(self.on_choice)
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
        text = str(command.get("text", "")).strip()
        session_id = self.conversations.session_id(
            "slack",
            str(command.get("team_id", "")),
            str(command.get("channel_id", "")),
            str(command.get("user_id", "")),
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

    def on_choice(
        self, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient,
        respond: Respond,
    ) -> None:  # fmt: skip
        """A follow-up button: its label answers in the conversation the button was shown in
        (the message's thread, or a slash command's user in that channel)."""
        ack()
        text = str(action.get("value", "")).strip()
        self._mark_chosen(body, action, client, respond, text)
        team = str(_field(body, "team", "id") or body.get("team_id") or "")
        channel = str(_field(body, "channel", "id") or _field(body, "container", "channel_id"))
        thread_ts = _field(body, "message", "thread_ts") or _field(body, "container", "thread_ts")
        if thread_ts:
            session_id = self.conversations.session_id("slack", team, channel, str(thread_ts))
            turn = self.conversations.answer(session_id, text)
            self._post(client, channel=channel, thread_ts=thread_ts, text=fallback_text(turn),
                       blocks=self._blocks(turn))  # fmt: skip
            return
        user = str(_field(body, "user", "id"))
        session_id = self.conversations.session_id("slack", team, channel, user)
        turn = self.conversations.answer(session_id, text)
        respond(text=fallback_text(turn), blocks=self._blocks(turn))

    def _answer_in_thread(
        self, event: dict[str, Any], body: dict[str, Any], client: WebClient
    ) -> None:
        channel = event["channel"]
        thread_ts = event.get("thread_ts") or event["ts"]
        team = body.get("team_id") or event.get("team") or ""
        session_id = self.conversations.session_id("slack", str(team), str(channel), str(thread_ts))
        text = _MENTION.sub("", str(event.get("text", ""))).strip()
        if text.lower() in messages.HELP_WORDS:
            self._post(client, channel=channel, thread_ts=thread_ts, text=messages.HELP)
            return
        turn = self.conversations.answer(session_id, text)
        self._post(client, channel=channel, thread_ts=thread_ts, text=fallback_text(turn),
                   blocks=self._blocks(turn))  # fmt: skip

    @staticmethod
    def _mark_chosen(
        body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond,
        label: str,
    ) -> None:  # fmt: skip
        """Replace the pressed buttons in the message that showed them by what was chosen."""
        message = body.get("message")
        blocks = message.get("blocks") if isinstance(message, dict) else None
        if not isinstance(message, dict) or not isinstance(blocks, list):
            return
        lang = language(label) or "zh"
        used = used_blocks(blocks, str(action.get("block_id", "")), label, lang)
        text = str(message.get("text", ""))
        try:
            if _field(body, "container", "is_ephemeral") is True or not message.get("ts"):
                respond(text=text, blocks=used, replace_original=True)
            else:
                channel = _field(body, "channel", "id") or _field(body, "container", "channel_id")
                client.chat_update(channel=str(channel), ts=str(message["ts"]), text=text,
                                   blocks=used)  # fmt: skip
        except Exception as exc:  # Slack down or refusing: the answer still comes
            log.warning("could not mark the used follow-up buttons in Slack (%s)", exc)

    @staticmethod
    def _post(client: WebClient, **message: Any) -> None:
        """Post a reply; Slack being down or refusing it is logged, not raised."""
        try:
            client.chat_postMessage(**message)
        except Exception as exc:  # URLError, SlackApiError, timeouts: nothing to retry here
            log.warning("could not post a reply to Slack (%s)", exc)

    def _blocks(self, turn: Turn) -> list[dict[str, Any]]:
        return turn_blocks(turn, lambda code: self.conversations.label("channels", code, turn.lang))


def _field(body: dict[str, Any], name: str, key: str) -> Any:
    """``body[name][key]`` of an interaction payload ('' when absent or of another shape)."""
    part = body.get(name)
    return part.get(key, "") if isinstance(part, dict) else ""


def router(settings: Settings, conversations: Conversations) -> APIRouter:
    """POST /slack/events, answered by the bolt app."""
    adapter = SlackAdapter(settings, conversations)
    slack = APIRouter(tags=["integrations"])

    @slack.post(PATH, include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        return await adapter.handler.handle(request)

    return slack
