"""``TurnContext``: the frozen, typed state one turn carries from stage to stage.

Each stage of ``bot.pipeline`` reads a context and returns a new one with ``dataclasses.replace``;
nothing in a context is changed in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from .acts import DialogueAct
from .apr import AprResult
from .classify import Meaning
from .profile import Dialogue, Profile
from .turn import Citation, FollowUp, Reason, Recommendation, Warning
from .understanding import Understanding

Route = Literal["full", "short"]
View = Literal["full", "delta"]
"""``full``: the whole picture; ``delta``: the answer, then only what changed since last shown."""


@dataclass(frozen=True)
class Answer:
    """The direct answer a reply opens with, and the sources it rests on (``doc_id[#heading]``)."""

    text: str
    anchors: tuple[str, ...] = ()


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
    act: DialogueAct | None = None
    """What the user does with this turn (asks, gives facts, corrects, wants a summary...)."""
    view: View = "full"
    answer: Answer | None = None
    """The direct answer to a question, shown first."""

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

    # ---- what the reply text shows (the Turn keeps every structured field) ------------------

    def _new(self, prefix: str, codes: tuple[str, ...]) -> set[str]:
        before = {i.partition(":")[2] for i in self.dialogue_before.shown if i.startswith(prefix)}
        return set(codes) - before

    @property
    def visible_reasons(self) -> tuple[Reason, ...]:
        """Reasons in the text: all in the full view, only new ones in the delta view."""
        if self.view == "full":
            return self.shown_reasons
        new = self._new("reason:", tuple(r.code for r in self.shown_reasons))
        return tuple(r for r in self.shown_reasons if r.code in new)

    @property
    def ranking_changed(self) -> bool:
        """Whether the top three products differ from those shown last (order aside: ties)."""
        now = {r.product for r in self.shown_recommendations[:3]}
        before = set([i[8:] for i in self.dialogue_before.shown if i.startswith("product:")][:3])
        return now != before

    @property
    def visible_recommendations(self) -> tuple[Recommendation, ...]:
        """Cards in the text: all in the full view; in the delta view only a changed ranking."""
        if self.view == "full" or self.ranking_changed:
            return self.shown_recommendations
        return ()

    @property
    def visible_warnings(self) -> tuple[Warning, ...]:
        """Warnings in the text: all in the full view, only new ones in the delta view."""
        if self.view == "full":
            return self.warnings
        new = self._new("warning:", tuple(w.code for w in self.warnings))
        return tuple(w for w in self.warnings if w.code in new)

    def shown_items(self) -> tuple[str, ...]:
        """What this reply's advice now stands at (kept for the next turn's delta)."""
        return (
            *(f"reason:{r.code}" for r in self.shown_reasons),
            *(f"product:{r.product}" for r in self.shown_recommendations),
            *(f"warning:{w.code}" for w in self.warnings),
        )
