"""Dialogue acts: what the user does with a turn, and which kind of question a question is.

The act decides the shape of the reply: a question is answered first; a statement of facts is
acknowledged with what was recorded; a correction says what changed; a summary request gets the
full picture again. Cues live in ``understanding.yaml`` (``acts``, ``questions``,
``question_order``); this module only applies them, after the intent and facts are known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Literal, get_args

from knowledge.rules import UnderstandingRules

from .matcher import Table
from .mentions import pieces
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
_CJK = re.compile(r"[\u3400-\u9fff]")
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

    def focus(self, text: str, budget: float) -> str:
        """The words of ``text`` a dense retrieval query embeds, at most ``budget`` in size
        (a Chinese character counts 1, any other character 0.5: about what each costs the
        embedder). ``text`` when it fits; else its clauses that ask (a question cue or a
        question kind's words), then its first clause (where a post names its topic), then the
        clauses nearest before a question, kept in the order written. When no clause asks, the
        clauses from the end."""
        if _size(text) <= budget:
            return text
        cut = pieces(text)
        sizes = [_size(piece) for piece in cut]
        asking = [i for i, piece in enumerate(cut) if self._asks(piece)]
        last = asking[-1] if asking else len(cut)

        def distance(i: int) -> int:  # before an asking clause: how far; after the last: beyond
            ahead = [a - i for a in asking if a > i]
            if ahead:
                return min(ahead)
            return len(cut) + (i - last) if asking else len(cut) - i  # none asks: from the end

        first = [0] if asking and asking[0] != 0 else []
        placed = {*asking, *first}
        order = (
            asking + first + sorted((i for i in range(len(cut)) if i not in placed), key=distance)
        )
        kept: list[int] = []
        size = 0.0
        for i in order:
            if size + sizes[i] <= budget:
                kept.append(i)
                size += sizes[i]
        if not kept:  # one clause longer than the budget: its end, where a question is asked
            return _tail(cut[order[0]], budget)
        return "".join(cut[i] for i in sorted(kept)).strip()

    def _asks(self, piece: str) -> bool:
        lowered = piece.lower()
        return (
            "question_cues" in self._acts.find(lowered) or self.question_kind(lowered) is not None
        )

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


def _size(text: str) -> float:
    """What ``text`` costs the embedder, in Chinese characters (other characters count half)."""
    cjk = len(_CJK.findall(text))
    return cjk + 0.5 * (len(text) - cjk)


def _tail(text: str, budget: float) -> str:
    """The end of ``text`` that fits ``budget``."""
    size = 0.0
    for start in range(len(text) - 1, -1, -1):
        size += _size(text[start])
        if size > budget:
            return text[start + 1 :].strip()
    return text.strip()
