"""The structured result of one turn (design.md contracts): what every interface renders."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, Field, computed_field

from .profile import Dialogue, Profile

Intent = Literal[
    "diagnose", "find_financing", "ask_product", "compute_cost", "small_talk", "out_of_scope",
    "unsafe",
]  # fmt: skip
INTENTS: tuple[Intent, ...] = get_args(Intent)
CREDIT_IMPROVEMENT = "credit_improvement"
"""The channel of credit-repair steps (``catalog.yaml: credit_improvement``)."""


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
    channel_label: str = ""
    """The channel's taxonomy label in the turn's language (what cards show instead of the code)."""
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

    @computed_field  # type: ignore[prop-decorator]
    @property
    def credit_step(self) -> bool:
        """A step that restores credit (``why`` is what to do, ``speed`` its time to effect),
        not a loan."""
        return self.channel == CREDIT_IMPROVEMENT


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


class Label(BaseModel):
    """A text in Simplified Chinese and English."""

    zh: str
    en: str

    def text(self, lang: str) -> str:
        """The text in ``lang`` (``zh`` or ``en``)."""
        return self.en if lang == "en" else self.zh


OptionValue = bool | int | float | str | list[str]
"""A profile value typed as the field expects (bool before int, so ``true`` stays a bool)."""

SKIP_LABEL = Label(zh="跳过", en="Skip")


class Option(BaseModel):
    """One answer to a follow-up: the profile value it sets and its label.

    A client sends ``label`` in the turn's language as the next message (the advisor reads every
    label back to ``value``); ``value`` is for clients that show or store the structured answer.
    """

    value: OptionValue
    label: Label


class FollowUp(BaseModel):
    """The one question worth asking next, with the answers to offer and how to skip it."""

    field: str
    question: str
    options: list[Option] = []
    skip: Label = SKIP_LABEL
    """The label of the choice that skips the question (sent as the message, like an option)."""

    def choices(self, lang: str) -> list[str]:
        """Every label a person may pick in ``lang``: the options, then the skip choice."""
        return [o.label.text(lang) for o in self.options] + [self.skip.text(lang)]


View = Literal["full", "delta"]
"""How much of the advice the reply text shows: all of it, or only what changed since the last
reply (the Turn's structured fields always hold the whole picture)."""


class Act(BaseModel):
    """What the user did with the message (``bot.acts``): ``kind`` such as ``asks``,
    ``gives_facts``, ``corrects`` or ``summary``; ``question`` the kind of question asked."""

    kind: str
    question: str | None = None


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
    view: View = "full"
    """``delta`` when the reply text shows only what changed; interfaces show the rest folded."""
    act: Act | None = None
    """The dialogue act of the user's message (None for a one-shot diagnosis)."""

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
