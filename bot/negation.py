"""Negation with scope: a negator covers its own predicate up to a clause or conjunction boundary.

"没逾期也没被起诉" negates both; "没有逾期，借了五家网贷" only the first clause; "入不敷出、以贷养贷"
negates nothing, because 入不敷出 is a lexicalised word that holds a 不 but no negation. The words
live in ``understanding.yaml``: ``negators``, ``negation_exceptions`` (plain or ``re:``, masked
before negators are looked for) and ``negation_boundaries`` (where a scope ends).
"""

from __future__ import annotations

from bisect import bisect_right
from functools import lru_cache

from .matcher import Matcher

__all__ = ["NegationScope"]


class NegationScope:
    """Which spans of a clause a negator covers."""

    def __init__(self, negators: list[str], exceptions: list[str], boundaries: list[str]) -> None:
        self.negators = Matcher(negators)
        self.exceptions = Matcher(exceptions)
        self.boundaries = Matcher(boundaries)
        self.scopes = lru_cache(maxsize=4096)(self._scopes)

    def _scopes(self, clause: str) -> tuple[tuple[int, int], ...]:
        """(start, end) of each negated stretch of ``clause``: after a negator's first character
        up to the next boundary (a phrase starting at the negator itself, 没有抵押, is not in it)."""
        masked = list(clause)
        for s, e in self.exceptions.find(clause):
            masked[s:e] = "□" * (e - s)
        text = "".join(masked)
        stops = sorted({s for s, _ in self.boundaries.find(clause)})
        scopes: list[tuple[int, int]] = []
        for start, end in self.negators.find(text):
            stop = next((s for s in stops if s >= end), len(clause))
            scopes.append((start + 1, stop))  # 没有 covers the 有逾期 that starts inside it
        return tuple(scopes)

    def negated(self, clause: str, start: int) -> bool:
        """Whether a phrase starting at ``start`` of ``clause`` lies in a negator's scope.

        Scopes come in order of their start and their ends never decrease (each runs to the
        next boundary), so the last scope starting at or before ``start`` decides.
        """
        scopes = self.scopes(clause)
        i = bisect_right(scopes, (start, len(clause) + 1))
        return i > 0 and start < scopes[i - 1][1]
