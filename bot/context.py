"""``TurnContext``: the frozen, typed state one turn carries from stage to stage.

Each stage of ``bot.pipeline`` reads a context and returns a new one with ``dataclasses.replace``;
nothing in a context is changed in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from .apr import AprResult
from .classify import Meaning
from .profile import Dialogue, Profile
from .turn import Citation, FollowUp, Reason, Recommendation, Warning
from .understanding import Understanding

Route = Literal["full", "short"]


@dataclass(frozen=True)
class Passage:
    """A retrieved passage offered as evidence for the reply."""

    doc_id: str
    heading: str
    title: str
    text: str
    updated: str = ""


@dataclass(frozen=True)
class TurnContext:
    """Everything known about one turn so far; later stages fill the later fields."""

    text: str
    previous: Profile = field(default_factory=Profile)
    dialogue_before: Dialogue = field(default_factory=Dialogue)
    understanding: Understanding = field(default_factory=Understanding)
    meaning: Meaning | None = None
    """What the meaning models predicted for the whole message (None without models)."""
    profile: Profile = field(default_factory=Profile)
    dialogue: Dialogue = field(default_factory=Dialogue)
    route: Route = "full"
    short_reply: str | None = None
    """The template key of a short reply (greeting, thanks, out of scope)."""
    reasons: tuple[Reason, ...] = ()
    recommendations: tuple[Recommendation, ...] = ()
    warnings: tuple[Warning, ...] = ()
    refusal: str | None = None
    refusal_kind: str | None = None
    apr: AprResult | None = None
    follow_up: FollowUp | None = None
    missing: tuple[str, ...] = ()
    passages: tuple[Passage, ...] | None = None
    show_diagnosis: bool = False
    citations: tuple[Citation, ...] = ()
    markers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """``doc_id#heading`` -> its ``[n]`` marker, numbered by the cite stage."""
    draft: str = ""
    reply: str = ""
    llm: Mapping[str, Any] | None = None
    over_budget: bool = False
    """The turn used its time budget: optional stages and the LLM were skipped."""

    @property
    def lang(self) -> str:
        """The language of the reply (the message's language)."""
        return self.understanding.lang

    @property
    def shown_reasons(self) -> tuple[Reason, ...]:
        """The reasons the reply shows."""
        return self.reasons if self.show_diagnosis else ()

    @property
    def shown_recommendations(self) -> tuple[Recommendation, ...]:
        """The recommendations the reply shows (credit steps stay shown with a refusal)."""
        return self.recommendations if self.show_diagnosis or self.refusal else ()
