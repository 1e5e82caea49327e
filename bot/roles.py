"""Roles of number mentions: which profile field a number fills, by its kind and cue words.

``understanding.yaml`` ``number_roles`` gives, per field, the kinds it accepts (a sum of money is
never a count), the units it accepts, its cue words (``cues`` before the number, ``after`` just
after it, ``unit_cues``: units that are a cue themselves, like 平台 or 分), how far a cue may be
(``reach``), the value range and a duration conversion. A field starting with ``_`` is a sink:
the number is taken (a fee, a granted limit) and fills nothing.

A cue is looked for in the number's own clause, between the previous number and this one (a
cue another number already stands next to is not reused), just after it, and in the
neighbouring clauses of the same sentence that hold no number of their own (across commas).
The nearest cue wins; then a cue before over one after; then the longer cue; then YAML order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .matcher import Matcher
from .mentions import Mention, find_mentions

__all__ = ["Role", "RoleAssigner"]

_AFTER_REACH = 10
_AGO = re.compile(r"\s*(前|以前|之前|ago\b)", re.IGNORECASE)
_OPENED = re.compile(
    r"开的店|开的|开业|开张|成立|注册|创办|办的|opened|started|founded|set up|registered",
    re.IGNORECASE,
)
_WINDOW = re.compile(r"(?:这|近|最近|过去|前|头)\s?$|(?:in|over|during) (?:the )?(?:last|past) $",
                     re.IGNORECASE)  # fmt: skip
_NEIGHBOUR_PENALTY = 40
_INTEGER = {"zhima_score", "age", "lender_count", "inquiries_recent", "overdue_count",
            "overdue_days", "need_term_months"}  # fmt: skip
_UNIT_OF = {"天": "day", "日": "day", "day": "day", "days": "day", "周": "week", "星期": "week",
            "礼拜": "week", "week": "week", "weeks": "week", "个月": "month", "月": "month",
            "个多月": "month", "多个月": "month", "个半月": "month", "month": "month",
            "months": "month", "期": "month", "年": "year", "年半": "year", "year": "year",
            "years": "year", "yr": "year", "yrs": "year"}  # fmt: skip
_PER = {
    "days": {"day": 1.0, "week": 7.0, "month": 30.0, "year": 365.0},
    "months": {"day": 1 / 30, "week": 0.25, "month": 1.0, "year": 12.0},
    "years": {"day": 1 / 365, "week": 1 / 52, "month": 1 / 12, "year": 1.0},
}


@dataclass(frozen=True)
class Role:
    """One field's rule: what a number must be, and the words that point to this field."""

    field: str
    kinds: frozenset[str]
    units: frozenset[str]
    cues: Matcher
    after: Matcher
    unit_cues: frozenset[str]
    reach: int
    low: float
    high: float
    convert: str

    @classmethod
    def of(cls, name: str, spec: Mapping[str, Any]) -> Role:
        """The role of field ``name`` from its ``number_roles`` entry."""
        low, high = spec.get("range", [0, 1e12])
        return cls(
            field=name,
            kinds=frozenset(spec["kinds"]),
            units=frozenset(u.lower() for u in spec.get("units", [])),
            cues=Matcher(spec.get("cues", [])),
            after=Matcher(spec.get("after", [])),
            unit_cues=frozenset(u.lower() for u in spec.get("unit_cues", [])),
            reach=int(spec.get("reach", 14)),
            low=float(low),
            high=float(high),
            convert=str(spec.get("convert", "")),
        )

    def accepts(self, mention: Mention) -> bool:
        """Whether ``mention`` may fill this field at all (kind and unit)."""
        if mention.kind not in self.kinds:
            return False
        return not self.units or mention.kind == "bare" or mention.unit in self.units

    def value(self, mention: Mention) -> float | int | None:
        """The field's value for ``mention``, or None outside the range."""
        value = mention.value
        if self.convert == "share":  # 120% -> 1.2, 九成 -> 0.9
            value = value / (10 if mention.unit == "成" else 100)
        elif self.convert in _PER:
            # an age ("4 years old") is a length in years: a company's
            unit = "year" if mention.kind == "age" else _UNIT_OF.get(mention.unit)
            if unit is None:
                return None
            value = value * _PER[self.convert][unit]
            value = round(value, 2) if self.convert == "years" else round(value)
        if not self.low <= value <= self.high:
            return None
        return int(value) if self.field in _INTEGER else value


@dataclass(frozen=True)
class _Cue:
    distance: int
    before: bool
    length: int
    order: int


class RoleAssigner:
    """Finds the number mentions of a sentence and gives each at most one field."""

    def __init__(self, roles: Mapping[str, Mapping[str, Any]], exceptions: list[str],
                 conditions: list[str]) -> None:  # fmt: skip
        self.roles = [Role.of(name, spec) for name, spec in roles.items()]
        self._opened = next(r for r in self.roles if r.field == "years_operating")
        self.exceptions = sorted((e.lower() for e in exceptions), key=len, reverse=True)
        self.conditions = tuple(c.lower() for c in conditions)

    def assign(self, clauses: list[str]) -> list[tuple[str, float | int, str]]:
        """(field, value, clause) for each number of one sentence given as its clauses."""
        mentions = [find_mentions(c, self.exceptions) for c in clauses]
        found: list[tuple[str, float | int, str]] = []
        for i, clause in enumerate(clauses):
            for j, mention in enumerate(mentions[i]):
                if clause[max(0, mention.start - 3) : mention.start].endswith(self.conditions):
                    continue  # "经营不满一年" is a condition, not the fact
                if mention.kind == "duration" and _AGO.match(clause, mention.end):
                    # "三年前他为朋友担保" dates an event; "三年前开的店" dates the opening
                    opened = self._opened.value(mention) if _OPENED.search(clause) else None
                    if opened is not None:
                        found.append(("years_operating", opened, clause))
                    continue
                role, value = self._best(clauses, mentions, i, j)
                if role is not None and value is not None and not role.field.startswith("_"):
                    found.append((role.field, value, clause))
        return found

    def _best(self, clauses: list[str], mentions: list[list[Mention]], i: int,
              j: int) -> tuple[Role | None, float | int | None]:  # fmt: skip
        mention = mentions[i][j]
        ranked: list[tuple[_Cue, Role]] = []
        for order, role in enumerate(self.roles):
            if role.accepts(mention):
                cue = self._cue(role, clauses, mentions, i, j, order)
                if cue is not None:
                    ranked.append((cue, role))
        ranked.sort(key=lambda r: (r[0].distance, not r[0].before, -r[0].length, r[0].order))
        for _, role in ranked:
            value = role.value(mention)
            if value is not None:
                return role, value
        return None, None

    def _cue(self, role: Role, clauses: list[str], mentions: list[list[Mention]], i: int,
             j: int, order: int) -> _Cue | None:  # fmt: skip
        here, clause = mentions[i][j], clauses[i]
        if here.unit in role.unit_cues:
            return _Cue(0, True, len(here.unit), order)
        k = j - 1
        while k >= 0 and self._window(clause, mentions[i][k]):
            k -= 1  # "查询这三个月有二十多次": the window dates the count, the cue is the count's
        start = mentions[i][k].end if k >= 0 else 0
        end = mentions[i][j + 1].start if j + 1 < len(mentions[i]) else len(clause)
        best: _Cue | None = None
        before = clause[start : here.start]
        for s, e in role.cues.find(before):
            distance = len(before) - e
            if distance <= role.reach:
                best = _better(best, _Cue(distance, True, e - s, order))
        after = clause[here.end : min(end, here.end + _AFTER_REACH)]
        for s, e in role.after.find(after):
            best = _better(best, _Cue(s, False, e - s, order))
        if best is None:
            best = self._neighbour(role, clauses, mentions, i, order)
        return best

    @staticmethod
    def _window(clause: str, mention: Mention) -> bool:
        """A duration that sets the time a count is over ("这三个月", "近半年", "in the last 3
        months"), not a fact of its own."""
        before = clause[max(0, mention.start - 20) : mention.start]  # a window word is next to it
        return mention.kind == "duration" and bool(_WINDOW.search(before))

    @staticmethod
    def _neighbour(role: Role, clauses: list[str], mentions: list[list[Mention]], i: int,
                   order: int) -> _Cue | None:  # fmt: skip
        best: _Cue | None = None
        if i > 0 and not mentions[i - 1]:
            previous = clauses[i - 1]
            for s, e in role.cues.find(previous):
                distance = _NEIGHBOUR_PENALTY + len(previous) - e
                best = _better(best, _Cue(distance, True, e - s, order))
        if i + 1 < len(clauses) and not mentions[i + 1] and best is None:
            for s, e in role.after.find(clauses[i + 1]):
                best = _better(best, _Cue(_NEIGHBOUR_PENALTY + s, False, e - s, order))
        return best


def _better(old: _Cue | None, new: _Cue) -> _Cue:
    if old is None:
        return new
    key_old = (old.distance, not old.before, -old.length)
    return new if (new.distance, not new.before, -new.length) < key_old else old
