"""Request and response bodies of the HTTP API (the Turn fields come from ``bot.turn``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SESSION_ID = r"^[A-Za-z0-9_.:-]{1,64}$"


class ChatRequest(BaseModel):
    """One user message; omit ``session_id`` to start a new conversation."""

    model_config = ConfigDict(extra="forbid")

    session_id: str | None = Field(default=None, pattern=SESSION_ID)
    message: str = Field(description="The user's message (at most the configured length).")


class DiagnoseRequest(BaseModel):
    """A one-shot diagnosis of a described situation."""

    model_config = ConfigDict(extra="forbid")

    text: str


class ErrorBody(BaseModel):
    """Every error: one sentence that says what to do."""

    error: str


class SearchResult(BaseModel):
    """One passage of the knowledge base."""

    doc_id: str
    heading: str
    title: str
    text: str
    score: float


class OpenAIMessage(BaseModel):
    """A chat message in the OpenAI format."""

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    """The subset of OpenAI's chat-completions request this server honours."""

    model: str = "finadvisor"
    messages: list[OpenAIMessage] = Field(min_length=1)
    stream: bool = False
    user: str | None = Field(default=None, max_length=64)
    temperature: float | None = None
    max_tokens: int | None = None
