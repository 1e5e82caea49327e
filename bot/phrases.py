"""Phrase tables as the rule files write them: plain substrings and ``re:`` regexes."""

from __future__ import annotations

import re


class Phrases:
    """A list of plain substrings and ``re:`` regexes, matched case-insensitively."""

    def __init__(self, phrases: list[str]) -> None:
        self.plain = [p.lower() for p in phrases if not p.startswith("re:")]
        self.regexes = [re.compile(p[3:], re.IGNORECASE) for p in phrases if p.startswith("re:")]

    def find(self, text: str) -> list[tuple[int, int]]:
        """Spans of every match in ``text`` (already lower-cased)."""
        spans = []
        for phrase in self.plain:
            start = text.find(phrase)
            while start >= 0:
                spans.append((start, start + len(phrase)))
                start = text.find(phrase, start + 1)
        for regex in self.regexes:
            spans.extend(m.span() for m in regex.finditer(text))
        return sorted(spans)

    def said(self, text: str) -> bool:
        """Whether any phrase occurs in ``text`` (any case)."""
        lowered = text.lower()
        return any(p in lowered for p in self.plain) or any(r.search(text) for r in self.regexes)
