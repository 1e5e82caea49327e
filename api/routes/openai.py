"""POST /v1/chat/completions and GET /v1/models: an OpenAI-compatible face for chat UIs.

The session is keyed by the request's ``user`` field or the ``X-Session-Id`` header. Without
either, the user messages in ``messages`` are replayed into a fresh session so that a stateless
client that resends its history still gets an answer that takes all of it into account.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException
from fastapi.concurrency import run_in_threadpool
from sse_starlette.sse import EventSourceResponse

from bot.advisor import Advisor
from bot.turn import Turn

from ..deps import AdvisorDep
from ..schemas import ChatCompletionRequest, OpenAIMessage
from .chat import reply_pieces

router = APIRouter(prefix="/v1", tags=["openai"])
MODEL = "finadvisor"


def _text(message: OpenAIMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    parts = message.content or []
    return "".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")


def _answer(advisor: Advisor, body: ChatCompletionRequest, session_header: str | None) -> Turn:
    users = [_text(m) for m in body.messages if m.role == "user"]
    if not users:
        raise HTTPException(422, "No user message in 'messages'; add one with role 'user'.")
    key = body.user or session_header
    if key:
        return advisor.reply(f"oai-{uuid.uuid5(uuid.NAMESPACE_URL, key).hex}", users[-1])
    session = f"oai-tmp-{uuid.uuid4().hex}"
    try:
        for earlier in users[:-1]:
            if earlier.strip():
                advisor.reply(session, earlier)
        return advisor.reply(session, users[-1])
    finally:
        advisor.reset(session)


@router.get("/models")
def models() -> dict[str, Any]:
    """The one model this server offers."""
    return {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "finadvisor"}]}


@router.post("/chat/completions", response_model=None)
async def chat_completions(
    body: ChatCompletionRequest,
    advisor: AdvisorDep,
    x_session_id: Annotated[str | None, Header(max_length=64)] = None,
) -> dict[str, Any] | EventSourceResponse:
    """OpenAI chat completions, streaming (``stream: true``) or not."""
    if body.model != MODEL:
        raise HTTPException(404, f"Unknown model '{body.model[:40]}'; use model '{MODEL}'.")
    turn = await run_in_threadpool(_answer, advisor, body, x_session_id)
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    if not body.stream:
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": turn.reply},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "finadvisor": {"session_id": turn.session_id, **turn.contract()},
        }  # fmt: skip

    def chunk(delta: dict[str, str], finish: str | None = None) -> str:
        return json.dumps({"id": completion_id, "object": "chat.completion.chunk", "created": created,
                           "model": MODEL, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]},
                          ensure_ascii=False)  # fmt: skip

    async def events() -> Any:
        yield {"data": chunk({"role": "assistant", "content": ""})}
        for piece in reply_pieces(turn.reply):
            yield {"data": chunk({"content": piece})}
        yield {"data": chunk({}, "stop")}
        yield {"data": "[DONE]"}

    return EventSourceResponse(events())
