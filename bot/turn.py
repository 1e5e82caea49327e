"""The structured result of one turn (design.md contracts): what every interface renders."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, Field

from .profile import Dialogue, Profile

Intent = Literal[
    "diagnose", "find_financing", "ask_product", "compute_cost", "small_talk", "out_of_scope",
    "unsafe",
]  # fmt: skip
INTENTS: tuple[Intent, ...] = get_args(Intent)


class Reason(BaseModel):
    """A reason code with confidence (0-1) and the evidence behind it."""

    code: str
    label: str = ""
    confidence: float
    evidence: str
    advice: str = ""
    doc_id: str = Field(default="", exclude=True)
    """The document that explains this reason (the cite stage turns it into ``citations``)."""
    citations: list[str] = []


class Recommendation(BaseModel):
    """A ranked alternative: which channel and product, why it fits, cost, speed, materials."""

    channel: str
    product: str
    title: str
    provider: str = ""
    fit: float
    why: str
    apr: str
    speed: str = ""
    materials: list[str] = []
    doc_id: str = Field(default="", exclude=True)
    """The document the product comes from (the cite stage turns it into ``citations``)."""
    citations: list[str] = []


class Warning(BaseModel):
    """A warning code with its message."""

    code: str
    message: str


class Citation(BaseModel):
    """A source passage the reply relies on; ``n`` is its [n] marker in the reply."""

    n: int
    doc_id: str
    heading: str
    title: str
    updated: str = ""

    @property
    def anchor(self) -> str:
        """``doc_id#heading``."""
        return f"{self.doc_id}#{self.heading}"


class FollowUp(BaseModel):
    """The one question worth asking next."""

    field: str
    question: str
    options: list[str] = []


class Turn(BaseModel):
    """One advisor turn: reply text plus every structured field behind it."""

    session_id: str = ""
    intent: Intent = "diagnose"
    lang: Literal["zh", "en"] = "zh"
    reply: str = ""
    profile: Profile = Profile()
    dialogue: Dialogue = Dialogue()
    reasons: list[Reason] = []
    recommendations: list[Recommendation] = []
    warnings: list[Warning] = []
    missing: list[str] = []
    citations: list[Citation] = []
    follow_up: FollowUp | None = None
    apr: dict[str, Any] | None = None
    llm: dict[str, Any] | None = None
    """When an LLM is configured: whether its text was used, attempts, violations, error."""

    def contract(self) -> dict[str, Any]:
        """The JSON shape of ``diagnose --json`` and ``POST /v1/diagnose``."""
        return {
            "profile": self.profile.model_dump(exclude_none=True),
            "reasons": [r.model_dump() for r in self.reasons],
            "recommendations": [r.model_dump() for r in self.recommendations],
            "warnings": [w.model_dump() for w in self.warnings],
            "missing": self.missing,
            "citations": [c.model_dump() for c in self.citations],
        }
