"""POST /v1/chat and /v1/chat/stream (server-sent events)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from sse_starlette.sse import EventSourceResponse

from bot.turn import Turn

from ..deps import AdvisorDep
from ..schemas import ChatRequest

router = APIRouter(prefix="/v1/chat", tags=["chat"])
_PIECE = re.compile(r"[^。！？!?\n]*[。！？!?\n]+|[^。！？!?\n]+")


def turn_body(turn: Turn) -> dict[str, Any]:
    """The JSON body of a chat turn: session, reply, follow-up and every structured field."""
    return {
        "session_id": turn.session_id,
        "reply": turn.reply,
        "follow_up": turn.follow_up.model_dump() if turn.follow_up else None,
        "intent": turn.intent,
        "lang": turn.lang,
        **turn.contract(),
        "apr": turn.apr,
        "llm": turn.llm,
    }


def reply_pieces(reply: str) -> Iterator[str]:
    """The reply cut at sentence and line ends, in order (joined they give the reply back)."""
    yield from (m.group(0) for m in _PIECE.finditer(reply))


@router.post("")
def chat(body: ChatRequest, advisor: AdvisorDep) -> dict[str, Any]:
    """Answer one message; the reply plus reasons, recommendations, warnings and citations."""
    return turn_body(advisor.reply(body.session_id, body.message))


@router.post("/stream", response_class=EventSourceResponse)
async def chat_stream(body: ChatRequest, advisor: AdvisorDep) -> EventSourceResponse:
    """Stream the reply as `delta` events, then one `turn` event with the structured Turn."""
    turn = await run_in_threadpool(advisor.reply, body.session_id, body.message)

    async def events() -> Any:
        yield {"event": "session", "data": json.dumps({"session_id": turn.session_id})}
        for piece in reply_pieces(turn.reply):
            yield {"event": "delta", "data": json.dumps({"text": piece}, ensure_ascii=False)}
        yield {"event": "turn", "data": json.dumps(turn_body(turn), ensure_ascii=False)}

    return EventSourceResponse(events())
