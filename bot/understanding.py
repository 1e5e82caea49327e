"""``Understanding``: what one message says, frozen; ``Draft``: the same while being read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .turn import Intent

EVIDENCE_MAX = 40
"""Evidence is the user's own words, cut to this many characters."""


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Understanding:
    """What one message says: facts (Profile fields), hints, intent, language. Immutable."""

    facts: Mapping[str, Any] = field(default_factory=_empty)
    evidence: Mapping[str, str] = field(default_factory=_empty)
    hints: Mapping[str, str] = field(default_factory=_empty)
    guesses: Mapping[str, str] = field(default_factory=_empty)
    """Reason codes a meaning model reads in the words (possibilities, not findings)."""
    intent: Intent = "diagnose"
    lang: str = "zh"
    skip: bool = False
    consumer_product_for_business: bool = False

    @property
    def substantive_facts(self) -> set[str]:
        """Facts that say something about credit (timing and place alone do not)."""
        return set(self.facts) - {"urgency", "region"}

    def with_facts(self, facts: Mapping[str, Any], evidence: Mapping[str, str]) -> Understanding:
        """A copy with ``facts`` added (their evidence too); existing facts are replaced."""
        draft = Draft.of(self)
        for name, value in facts.items():
            draft.set(name, value, evidence.get(name, ""))
        return draft.freeze()


@dataclass
class Draft:
    """The understanding of one message while it is being read (private to understanding)."""

    facts: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, str] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)
    guesses: dict[str, str] = field(default_factory=dict)
    intent: Intent = "diagnose"
    lang: str = "zh"
    skip: bool = False
    consumer_product_for_business: bool = False

    @classmethod
    def of(cls, understanding: Understanding) -> Draft:
        """A draft holding copies of a frozen understanding's values."""
        u = understanding
        return cls(dict(u.facts), dict(u.evidence), dict(u.hints), dict(u.guesses), u.intent,
                   u.lang, u.skip, u.consumer_product_for_business)  # fmt: skip

    @property
    def substantive_facts(self) -> set[str]:
        """Facts that say something about credit (timing and place alone do not)."""
        return set(self.facts) - {"urgency", "region"}

    def set(self, name: str, value: Any, clause: str) -> None:
        """Record a fact with the words it came from (later mentions in a message win)."""
        self.facts[name] = value
        self.evidence[name] = clause[:EVIDENCE_MAX]

    def unmasked(self, written: Mapping[str, str]) -> None:
        """Evidence read from masked words (``written`` maps them back) in the words as written."""
        for words in (self.evidence, self.hints):
            for name, quote in words.items():
                words[name] = written.get(quote, quote)

    def in_own_words(self, read: str, typed: str) -> None:
        """Evidence in the words as typed: ``read`` is ``typed`` with typos mended letter for
        letter (借被 -> 借呗), so a quote found in it stands at the same place in ``typed``."""
        read, typed = read.lower(), typed.lower()  # quotes are of the lower-cased clauses
        for words in (self.evidence, self.hints):
            for name, quote in words.items():
                at = read.find(quote)
                if at >= 0:
                    words[name] = typed[at : at + len(quote)]

    def freeze(self) -> Understanding:
        """The immutable understanding."""
        return Understanding(
            facts=MappingProxyType(dict(self.facts)),
            evidence=MappingProxyType(dict(self.evidence)),
            hints=MappingProxyType(dict(self.hints)),
            guesses=MappingProxyType(dict(self.guesses)),
            intent=self.intent,
            lang=self.lang,
            skip=self.skip,
            consumer_product_for_business=self.consumer_product_for_business,
        )
