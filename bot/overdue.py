"""The status of an overdue read from aspect and time, sentence by sentence.

``understanding.yaml`` ``overdue`` holds the phrase lists:

- ``current``: still unpaid, whatever else is said (还没还, 至今未还, 停止还款, 一直拖着, 逾期中);
- ``reported``: an overdue reported without its end (逾期五天, 已经逾期): current, unless the same
  or the next sentence says it was settled (``resolved``: 已经还了, 还清, 当时就还了) or dates it
  (``earlier``: 2023年的, 去年) without a present marker (``ongoing``: 现在, 至今, 还在);
- ``past``: an overdue in the past (逾期过, 以前逾期, 逾期已还);
- ``none_phrases``: never overdue (从不逾期, 没逾期过), as does a negated ``mention`` (没有逾期).

A negated phrase does not count (its negator's scope covers it). Over a message the strongest
status wins: current, then past, then none.
"""

from __future__ import annotations

from collections.abc import Mapping

from .matcher import Matcher
from .negation import NegationScope

__all__ = ["OverdueReader"]

_RANK = {"none": 0, "past": 1, "current": 2}


class OverdueReader:
    """Reads none / past / current from the sentences of one message."""

    def __init__(self, phrases: Mapping[str, list[str]], negation: NegationScope) -> None:
        self.tables = {name: Matcher(values) for name, values in phrases.items()}
        self.negation = negation

    def _said(self, table: str, clauses: list[str]) -> str | None:
        """The first clause where a phrase of ``table`` is said and not negated."""
        matcher = self.tables.get(table)
        if matcher is None:
            return None
        for clause in clauses:
            if any(not self.negation.negated(clause, s) for s, _ in matcher.find(clause)):
                return clause
        return None

    def _denied(self, clauses: list[str]) -> str | None:
        for clause in clauses:
            if self.tables["none_phrases"].find(clause):
                return clause
            mention = self.tables.get("mention")
            spans = mention.find(clause) if mention else []
            if spans and all(self.negation.negated(clause, s) for s, _ in spans):
                return clause
        return None

    def sentence(self, clauses: list[str], following: list[str]) -> tuple[str, str] | None:
        """(status, evidence clause) of one sentence; ``following`` is the next sentence."""
        current = self._said("current", clauses)
        if current:
            return "current", current
        reported = self._said("reported", clauses)
        past = self._said("past", clauses)
        if reported or past:
            evidence = reported or past or ""
            settled = self._said("resolved", clauses + following)
            if settled or self._dated(clauses) or not reported:
                return "past", evidence
            return "current", evidence
        mentioned = self._said("mention", clauses)
        if mentioned and (self._said("resolved", clauses + following) or self._dated(clauses)):
            return "past", mentioned  # 逾期是2023年的，已经还清了
        denied = self._denied(clauses)
        return ("none", denied) if denied else None

    def _dated(self, clauses: list[str]) -> bool:
        return bool(self._said("earlier", clauses)) and not self._said("ongoing", clauses)

    def read(self, sentences: list[list[str]]) -> tuple[str, str] | None:
        """(status, evidence clause) of a message given as sentences of clauses, or None."""
        best: tuple[str, str] | None = None
        for i, clauses in enumerate(sentences):
            following = sentences[i + 1] if i + 1 < len(sentences) else []
            found = self.sentence(clauses, following)
            if found and (best is None or _RANK[found[0]] >= _RANK[best[0]]):
                best = found
        return best
