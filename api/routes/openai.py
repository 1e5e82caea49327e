"""POST /v1/chat/completions and GET /v1/models: an OpenAI-compatible face for chat UIs.

The session is keyed by the request's ``user`` field (an HMAC of it, the API key and the
server's secret: no other client can address it) or by the ``X-Session-Id`` header, which must
be a session id this server issued (``finadvisor.session_id`` of an earlier answer, or one from
POST /v1/chat). Without either, the user messages in ``messages`` are replayed into a fresh
session so that a stateless client that resends its history still gets an answer that takes all
of it into account. Replay is bounded: at most ``openai_max_messages`` messages and
``openai_max_chars`` characters of user text (413 beyond), and each replayed message counts
against the client's rate limit like a request of its own.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from sse_starlette.sse import EventSourceResponse

from bot import messages
from bot.advisor import Advisor
from bot.pii import mask_pii, mask_pii_in
from bot.session_keys import SessionKeys
from bot.turn import Turn
from core.settings import Settings

from ..deps import (
    AdvisorDep,
    RateLimiterDep,
    SessionKeysDep,
    SettingsDep,
    known_session,
    presented_api_key,
)
from ..integrations.choices import with_choices
from ..schemas import BODY_ERRORS, SESSION_ID, ChatCompletionRequest, OpenAIMessage, checked_text
from ..schemas import errors as error_responses
from .chat import reply_pieces

router = APIRouter(prefix="/v1", tags=["openai"])
MODEL = "finadvisor"


def _text(message: OpenAIMessage) -> str:
    if isinstance(message.content, str):
        text = message.content
    else:
        parts = message.content or []
        text = "".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")
    try:
        return checked_text(text)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


def user_messages(body: ChatCompletionRequest, settings: Settings) -> list[str]:
    """The non-blank user messages of a request, within the replay bounds (413 beyond, 422 if none)."""
    if len(body.messages) > settings.openai_max_messages:
        limit = settings.openai_max_messages
        raise HTTPException(413, messages.OPENAI_TOO_MANY_MESSAGES.format(limit=limit))
    users = [text for text in (_text(m) for m in body.messages if m.role == "user") if text.strip()]
    if not users:
        raise HTTPException(422, "No user message in 'messages'; add one with role 'user'.")
    if sum(len(text) for text in users) > settings.openai_max_chars:
        limit = settings.openai_max_chars
        raise HTTPException(413, messages.OPENAI_TOO_MANY_CHARS.format(limit=limit))
    return users


def _answer(advisor: Advisor, users: list[str], session: str | None) -> Turn:
    if session:
        return advisor.reply(session, users[-1])
    session = f"oai-tmp-{uuid.uuid4().hex}"
    try:
        for earlier in users[:-1]:
            advisor.reply(session, earlier)
        return advisor.reply(session, users[-1])
    finally:
        advisor.reset(session)


def _follow_up(turn: Turn) -> dict[str, Any] | None:
    return turn.follow_up.model_dump() if turn.follow_up else None


def _session(
    request: Request, body: ChatCompletionRequest, header: str | None, keys: SessionKeys
) -> str | None:
    if body.user:
        return keys.keyed("oai", presented_api_key(request), body.user)
    if header:
        return known_session(request.app.state.advisor, header)
    return None


@router.get("/models", responses=error_responses(429))
def models() -> dict[str, Any]:
    """The one model this server offers."""
    return {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "finadvisor"}]}


_COMPLETION_RESPONSES = {
    200: {
        "description": "A chat completion, or with ``stream: true`` its chunks as server-sent events.",
        "content": {
            "application/json": {},
            "text/event-stream": {
                "schema": {  # each event: a chunk as JSON in ``data``, the last one "[DONE]"
                    "type": "object",
                    "properties": {"data": {"type": "string"}, "event": {"type": "string"}},
                    "required": ["data"],
                }
            },
        },
    },
    **error_responses(*BODY_ERRORS, 404),
}


@router.post("/chat/completions", response_model=None, responses=_COMPLETION_RESPONSES)
async def chat_completions(
    request: Request,
    body: ChatCompletionRequest,
    advisor: AdvisorDep,
    settings: SettingsDep,
    keys: SessionKeysDep,
    limiter: RateLimiterDep,
    x_session_id: Annotated[
        str | None, Header(pattern=SESSION_ID, description="A session id this server issued.")
    ] = None,
) -> dict[str, Any] | EventSourceResponse:
    """OpenAI chat completions, streaming (``stream: true``) or not."""
    if body.model != MODEL:
        raise HTTPException(404, f"Unknown model '{body.model[:40]}'; use model '{MODEL}'.")
    users = user_messages(body, settings)
    session = await run_in_threadpool(_session, request, body, x_session_id, keys)
    replayed = users[:-1] if session is None else []
    limiter.charge_texts(request, [*replayed, users[-1]], replayed=len(replayed))
    turn = await run_in_threadpool(_answer, advisor, users, session)
    reply = mask_pii(with_choices(turn))  # a text client sees the follow-up's choices as text
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    if not body.stream:
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "finadvisor": {"session_id": turn.session_id,
                           **mask_pii_in({**turn.contract(), "follow_up": _follow_up(turn)})},
        }  # fmt: skip

    def chunk(delta: dict[str, str], finish: str | None = None) -> str:
        return json.dumps({"id": completion_id, "object": "chat.completion.chunk", "created": created,
                           "model": MODEL, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]},
                          ensure_ascii=False)  # fmt: skip

    async def events() -> Any:
        yield {"data": chunk({"role": "assistant", "content": ""})}
        for piece in reply_pieces(reply):
            yield {"data": chunk({"content": piece})}
        yield {"data": chunk({}, "stop")}
        yield {"data": "[DONE]"}

    return EventSourceResponse(events())
