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


_SUFFIXES = ("s", "es", "ed", "d", "ing", "er", "ers")
"""Endings an English phrase may take and still be itself (loan -> loans, hack -> hacked)."""


def _letter(char: str) -> bool:
    return char.isascii() and char.isalpha()


def _whole(text: str, start: int, end: int) -> bool:
    """Whether an English phrase at ``start:end`` is a whole word: "rent" is not in "current"
    or "different", but "loan" is in "loans". Chinese has no word boundary to check."""
    if _letter(text[start]) and start > 0 and _letter(text[start - 1]):
        return False
    if not _letter(text[end - 1]) or end >= len(text) or not _letter(text[end]):
        return True
    tail = end
    while tail < len(text) and _letter(text[tail]):
        tail += 1
    return text[end:tail] in _SUFFIXES


def _starts(text: str, phrase: str) -> list[int]:
    found, start = [], text.find(phrase)
    while start >= 0:
        found.append(start)
        start = text.find(phrase, start + 1)
    return found


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
                spans.extend((start, start + len(phrase)) for start in _starts(text, phrase)
                             if _whole(text, start, start + len(phrase)))  # fmt: skip
        for regex in self.regexes:
            spans.extend(m.span() for m in regex.finditer(text))
        spans.sort()
        return spans

    def said(self, text: str) -> bool:
        """Whether any phrase occurs in ``text`` (any case)."""
        lowered = text.lower()
        return any(r.search(text) for r in self.regexes) or any(
            _whole(lowered, i, i + len(p)) for p in self.plain for i in _starts(lowered, p)
        )


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
                    if text.startswith(phrase, i) and _whole(text, i, i + len(phrase)):
                        for code in codes:
                            found.setdefault(code, []).append((i, i + len(phrase)))
        for code, regex in self._regexes:
            for match in regex.finditer(text):
                found.setdefault(code, []).append(match.span())
        for spans in found.values():
            spans.sort()
        return found
