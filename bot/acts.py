"""Dialogue acts: what the user does with a turn, and which kind of question a question is.

The act decides the shape of the reply: a question is answered first; a statement of facts is
acknowledged with what was recorded; a correction says what changed; a summary request gets the
full picture again. Cues live in ``understanding.yaml`` (``acts``, ``questions``,
``question_order``); this module only applies them, after the intent and facts are known.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal, get_args

from knowledge.rules import UnderstandingRules

from .matcher import Table
from .understanding import Understanding

ActKind = Literal[
    "gives_facts", "corrects", "asks", "summary", "skip", "small_talk", "out_of_scope"
]
QuestionKind = Literal[
    "why_refused", "amount", "cost", "speed", "materials", "how_to_apply", "where_to_borrow",
    "collateral_guarantee", "eligibility", "compare", "definition", "policy",
    "collection_negotiation", "fraud_recovery",
]  # fmt: skip
QUESTION_KINDS: tuple[QuestionKind, ...] = get_args(QuestionKind)
_BY_INTENT: dict[str, QuestionKind] = {
    "compute_cost": "cost",
    "find_financing": "where_to_borrow",
    "diagnose": "why_refused",
    "ask_product": "definition",
}


@dataclass(frozen=True)
class DialogueAct:
    """The act of one turn; ``question`` is set when the act is ``asks``."""

    kind: ActKind
    question: QuestionKind | None = None


class ActReader:
    """Reads the dialogue act of a message from its words, intent and facts."""

    def __init__(self, rules: UnderstandingRules) -> None:
        self.rules = rules

    @cached_property
    def _acts(self) -> Table:
        return Table(dict(self.rules.acts))

    @cached_property
    def _questions(self) -> Table:
        return Table({k: v for k, v in self.rules.questions.items() if k in QUESTION_KINDS})

    def question_kind(self, text: str) -> QuestionKind | None:
        """The kind of question ``text`` asks by its words, None when no kind's words are there."""
        found = self._questions.find(text.lower())
        for kind in self.rules.question_order:
            if kind in found:
                return kind  # type: ignore[return-value]
        return None

    def read(self, text: str, u: Understanding) -> DialogueAct:
        """The act of a message already understood as ``u``."""
        lowered = text.lower().strip()
        cues = self._acts.find(lowered)
        if u.skip:
            return DialogueAct("skip")
        if "summary" in cues and len(lowered) <= 40:
            return DialogueAct("summary")
        if u.intent == "out_of_scope":
            return DialogueAct("out_of_scope")
        if u.intent == "small_talk" and not u.substantive_facts:
            return DialogueAct("small_talk")
        kind = self.question_kind(lowered)
        asking = "question_cues" in cues or u.intent in {"compute_cost", "unsafe"}
        if "corrects" in cues and not asking:
            return DialogueAct("corrects")
        if asking:
            return DialogueAct("asks", kind or _BY_INTENT.get(u.intent))
        if u.facts or u.hints:
            return DialogueAct("gives_facts")
        if kind is not None:
            return DialogueAct("asks", kind)  # "利率多少" without a question mark
        return DialogueAct("gives_facts")
