"""POST /v1/chat and /v1/chat/stream (server-sent events)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from sse_starlette.sse import EventSourceResponse

from bot.pii import mask_pii, mask_pii_in
from bot.turn import Turn

from ..deps import AdvisorDep, RateLimiterDep, SessionKeysDep, known_session
from ..schemas import BODY_ERRORS, ChatReply, ChatRequest, errors

router = APIRouter(prefix="/v1/chat", tags=["chat"])
_PIECE = re.compile(r"[^。！？!?\n]*[。！？!?\n]+|[^。！？!?\n]+")


def turn_body(turn: Turn) -> dict[str, Any]:
    """The JSON body of a chat turn: session, reply, follow-up and every structured field.

    Phone, ID, card numbers and e-mail addresses in it (the user's own words quoted as evidence,
    too) are masked, as they are in the stored session.
    """
    body = {
        "session_id": turn.session_id,
        "reply": turn.reply,
        "follow_up": turn.follow_up.model_dump() if turn.follow_up else None,
        "intent": turn.intent,
        "lang": turn.lang,
        "view": turn.view,
        "act": turn.act.model_dump() if turn.act else None,
        **turn.contract(),
        "apr": turn.apr,
        "llm": turn.llm,
    }
    masked: dict[str, Any] = mask_pii_in(body)
    return masked


def reply_pieces(reply: str) -> Iterator[str]:
    """The reply cut at sentence and line ends, in order (joined they give the reply back)."""
    yield from (m.group(0) for m in _PIECE.finditer(reply))


def session_for(body: ChatRequest, advisor: AdvisorDep, keys: SessionKeysDep) -> str:
    """The request's session: a new server-issued id, or one issued earlier (else 404)."""
    if body.session_id is None:
        return keys.issue()
    return known_session(advisor, body.session_id)


_TURN: dict[int | str, dict[str, Any]] = {200: {"model": ChatReply, "description": "The turn."}}


@router.post("", response_model=None, responses={**_TURN, **errors(*BODY_ERRORS, 404)})
def chat(
    request: Request,
    body: ChatRequest,
    advisor: AdvisorDep,
    keys: SessionKeysDep,
    limiter: RateLimiterDep,
) -> dict[str, Any]:
    """Answer one message; the reply plus reasons, recommendations, warnings and citations."""
    limiter.charge_texts(request, [body.message])
    return turn_body(advisor.reply(session_for(body, advisor, keys), body.message))


@router.post("/stream", response_class=EventSourceResponse, responses=errors(*BODY_ERRORS, 404))
async def chat_stream(
    request: Request,
    body: ChatRequest,
    advisor: AdvisorDep,
    keys: SessionKeysDep,
    limiter: RateLimiterDep,
) -> EventSourceResponse:
    """Stream the reply as `delta` events, then one `turn` event with the structured Turn."""
    limiter.charge_texts(request, [body.message])
    session_id = await run_in_threadpool(session_for, body, advisor, keys)
    turn = await run_in_threadpool(advisor.reply, session_id, body.message)

    async def events() -> Any:
        yield {"event": "session", "data": json.dumps({"session_id": turn.session_id})}
        for piece in reply_pieces(turn.reply):
            text = mask_pii(piece)
            yield {"event": "delta", "data": json.dumps({"text": text}, ensure_ascii=False)}
        yield {"event": "turn", "data": json.dumps(turn_body(turn), ensure_ascii=False)}

    return EventSourceResponse(events())
