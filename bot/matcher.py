"""Phrase tables, matched fast: plain substrings indexed by first character, and ``re:`` regexes.

Plain phrases are indexed by their first character: on a clause only the phrases whose first
character occurs in it are looked for, so a table of hundreds of phrases costs a few ``str.find``
calls per clause instead of one per phrase. ``re:`` entries are compiled regexes (the rule files
keep their quantifiers bounded).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

__all__ = ["Matcher", "Table"]


@lru_cache(maxsize=8192)
def _chars(text: str) -> frozenset[str]:
    return frozenset(text)


class Matcher:
    """A list of plain substrings and ``re:`` regexes, matched case-insensitively."""

    def __init__(self, phrases: list[str]) -> None:
        self.plain = list(dict.fromkeys(p.lower() for p in phrases if not p.startswith("re:")))
        self.regexes = [re.compile(p[3:], re.IGNORECASE) for p in phrases if p.startswith("re:")]
        self._by_first: dict[str, list[str]] = {}
        for phrase in self.plain:
            if phrase:
                self._by_first.setdefault(phrase[0], []).append(phrase)
        self._firsts = frozenset(self._by_first)

    def find(self, text: str) -> list[tuple[int, int]]:
        """Spans of every match in ``text`` (already lower-cased), sorted."""
        spans: list[tuple[int, int]] = []
        for first in self._firsts.intersection(_chars(text)):
            for phrase in self._by_first[first]:
                start = text.find(phrase)
                while start >= 0:
                    spans.append((start, start + len(phrase)))
                    start = text.find(phrase, start + 1)
        for regex in self.regexes:
            spans.extend(m.span() for m in regex.finditer(text))
        spans.sort()
        return spans

    def said(self, text: str) -> bool:
        """Whether any phrase occurs in ``text`` (any case)."""
        lowered = text.lower()
        return any(p in lowered for p in self.plain) or any(r.search(text) for r in self.regexes)


class Table:
    """A phrase table (code -> phrases) matched in one pass: ``find`` gives code -> spans.

    Plain phrases are indexed by their first two characters, so a clause costs one dictionary
    look-up per character plus a ``startswith`` per candidate: linear in the text, whatever the
    number of phrases.
    """

    def __init__(self, table: dict[Any, list[str]]) -> None:
        self.codes = list(table)
        self._by_prefix: dict[str, dict[str, list[Any]]] = {}
        self._regexes: list[tuple[Any, re.Pattern[str]]] = []
        for code, phrases in table.items():
            for phrase in phrases:
                if phrase.startswith("re:"):
                    self._regexes.append((code, re.compile(phrase[3:], re.IGNORECASE)))
                elif phrase:
                    p = phrase.lower()
                    codes = self._by_prefix.setdefault(p[:2], {}).setdefault(p, [])
                    if code not in codes:
                        codes.append(code)
        self._singles = {k for k in self._by_prefix if len(k) == 1}

    def find(self, text: str) -> dict[Any, list[tuple[int, int]]]:
        """Code -> sorted spans of its phrases in ``text`` (already lower-cased)."""
        found: dict[Any, list[tuple[int, int]]] = {}
        index, singles = self._by_prefix, self._singles
        for i in range(len(text)):
            for key in (
                (text[i : i + 2], text[i]) if singles and text[i] in singles else (text[i : i + 2],)
            ):
                candidates = index.get(key)
                if candidates is None:
                    continue
                for phrase, codes in candidates.items():
                    if text.startswith(phrase, i):
                        for code in codes:
                            found.setdefault(code, []).append((i, i + len(phrase)))
        for code, regex in self._regexes:
            for match in regex.finditer(text):
                found.setdefault(code, []).append(match.span())
        for spans in found.values():
            spans.sort()
        return found
