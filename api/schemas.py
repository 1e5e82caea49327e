"""Request and response bodies of the HTTP API (the Turn fields come from ``bot.turn``).

Text fields are ``UserText``: at least one non-space character (the schema's ``pattern``), no
unpaired surrogates, no digit run longer than ``MAX_TEXT_DIGITS`` (no real amount, phone or
card number is that long; such runs only make number parsing overflow) and no longer run of
numerals (一二三…万亿, digits). Length limits depend on
the settings and are written into the OpenAPI schema by ``api.openapi``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from bot import messages
from bot.turn import Act, Citation, FollowUp, Intent, Reason, Recommendation, View, Warning

SESSION_ID = r"^s-[0-9a-f]{40}$"
NOT_BLANK = r"[^\s\x1c-\x1f\x85]"
# Not blank. Python's str.strip also removes the separators U+001C-U+001F and U+0085, which the
# schema's regex dialect (ECMA-262) counts as non-space: the pattern names them.
MAX_TEXT_DIGITS = 40
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_LONG_DIGITS = re.compile(rf"[\d,，]{{{MAX_TEXT_DIGITS + 1},}}")
# The understanding reads a run of numerals in time that grows with the square of its length
# (2,000 numerals: about 8 s of CPU); no real amount needs more than a few, so long runs are
# refused here, at the edge, instead of costing the server.
_LONG_NUMERALS = re.compile(rf"[零〇一二两三四五六七八九十百千万亿\d]{{{MAX_TEXT_DIGITS + 1},}}")


def checked_text(text: str) -> str:
    """``text`` when the engine can read it; otherwise a ``ValueError`` naming the fix."""
    if _SURROGATE.search(text):
        raise ValueError(messages.TEXT_INVALID_CHARACTERS)
    for run in _LONG_DIGITS.findall(text):
        if sum(char.isdigit() for char in run) > MAX_TEXT_DIGITS:
            raise ValueError(messages.TEXT_NUMBER_TOO_LONG.format(digits=MAX_TEXT_DIGITS))
    if _LONG_NUMERALS.search(text):
        raise ValueError(messages.TEXT_NUMERALS_TOO_LONG.format(count=MAX_TEXT_DIGITS))
    return text


UserText = Annotated[str, Field(min_length=1, pattern=NOT_BLANK), AfterValidator(checked_text)]
_STRICT = ConfigDict(extra="forbid", regex_engine="python-re")


class ChatRequest(BaseModel):
    """One user message; omit ``session_id`` to start a new conversation (its id comes back)."""

    model_config = _STRICT

    session_id: str | None = Field(
        default=None,
        pattern=SESSION_ID,
        description="An id this server returned earlier; any other id is refused with 404.",
    )
    message: UserText = Field(description="The user's message (at most the configured length).")


class DiagnoseRequest(BaseModel):
    """A one-shot diagnosis of a described situation."""

    model_config = _STRICT

    text: UserText


class ChatReply(BaseModel):
    """One chat turn: the reply text and every structured field behind it (the body of
    ``POST /v1/chat`` and the ``turn`` event of ``/v1/chat/stream``)."""

    session_id: str
    reply: str
    follow_up: FollowUp | None
    intent: Intent
    lang: Literal["zh", "en"]
    view: View = Field(
        description="`full`: the reply text shows the whole diagnosis; `delta`: it shows only "
        "what changed since the last reply (the fields below still hold the whole picture)."
    )
    act: Act | None = Field(description="What the user's message did (asks, corrects, summary…).")
    profile: dict[str, Any]
    reasons: list[Reason]
    recommendations: list[Recommendation]
    warnings: list[Warning]
    missing: list[str]
    citations: list[Citation]
    apr: dict[str, Any] | None
    llm: dict[str, Any] | None


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

    model_config = ConfigDict(regex_engine="python-re")

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None


def _json_number(value: object) -> object:
    """``value`` when JSON Schema calls it a number (so 2.0 is an integer), else a ValueError."""
    if isinstance(value, bool | str):
        raise ValueError("a number is expected, not true, false or a string")
    return value


class ChatCompletionRequest(BaseModel):
    """The subset of OpenAI's chat-completions request this server honours."""

    model_config = ConfigDict(regex_engine="python-re")

    model: str = "finadvisor"
    messages: list[OpenAIMessage] = Field(min_length=1)
    # the schema says boolean, number and integer: true is not a temperature (lax validation
    # read it as 1.0; schemathesis found it), 1 is not a stream flag, "5" is no token count
    stream: bool = Field(default=False, strict=True)
    user: str | None = Field(
        default=None,
        max_length=64,
        description="Keys a server-side session (HMAC with the server's secret); omit to replay.",
    )
    temperature: float | None = Field(default=None, strict=True)
    max_tokens: Annotated[int | None, BeforeValidator(_json_number)] = None


_DESCRIPTIONS = {
    400: "The body is not UTF-8 JSON, nests too deep or holds a number too long.",
    401: "An API key is required (only when FINADVISOR_API_KEYS is set).",
    404: "No such resource (for sessions: an id this server never issued, or one that expired).",
    408: "The request body did not arrive in time.",
    413: "The body or a text field is too large.",
    422: "A field is missing or invalid.",
    429: "Too many requests from this client; see Retry-After.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error statuses a route can answer with."""
    documented: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {"model": ErrorBody, "description": _DESCRIPTIONS[code]}
        if code == 429:
            entry["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
        documented[code] = entry
    return documented


BODY_ERRORS = (400, 408, 413, 422, 429)
QUERY_ERRORS = (422, 429)
