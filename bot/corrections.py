"""A correction that names only the numbers: "说错了，是三年不是五年" fixes the stored value that was
five years, whichever field holds it (years in business here, a loan term elsewhere)."""

from __future__ import annotations

import re
from typing import Any

from .mentions import Mention, find_mentions
from .profile import Profile

# "是X不是Y", "是X而不是Y", "不是Y是X", "不是Y，而是X" (the new value X, the old Y)
_NEW_NOT_OLD = re.compile(
    r"(?:是|应该是|其实是)\s*(?P<new>[^，,。是不]{1,12}?)\s*(?:而)?不是\s*(?P<old>[^，,。是]{1,12})"
)
_NOT_OLD_BUT_NEW = re.compile(
    r"不是\s*(?P<old>[^，,。是]{1,12}?)\s*[，,]?\s*(?:而)?是\s*(?P<new>[^，,。]{1,12})"
)
_NOT_OLD_BUT_NEW_EN = re.compile(
    r"\bnot (?P<old>[\w.,]+(?: \w+)?),? (?:but )?(?P<new>[\w.,]+(?: \w+)?)", re.I
)
# "刚翻了下，一共七个": a recount naming only the number and a counter word
_RECOUNT = re.compile(
    r"(?:一共|总共|总计|合计|加起来|算下来|其实|实际上|准确说|准确地说|数了下|数了一下)\s*(?:是|有)?\s*"
    r"(?P<new>[0-9一二两三四五六七八九十几来多]{1,4}\s*(?:个|家|笔))(?![^，,。]{0,2}(?:月|年|天|万|千|元|块))"
)
COUNTS = ("lender_count", "inquiries_recent", "overdue_count")
"""The count fields a recount can be of."""
_MONTHS_PER = {"年": 12.0, "year": 12.0, "years": 12.0}


def _one(text: str) -> Mention | None:
    found = find_mentions(text.lower())
    return found[0] if len(found) == 1 else None


def _scaled(field: str, mention: Mention) -> float:
    """The mention in the field's unit (a term in months from "两年")."""
    if field == "need_term_months":
        return mention.value * _MONTHS_PER.get(mention.unit.split()[0] if mention.unit else "", 1.0)
    if field == "years_operating" and mention.unit.startswith(("个月", "month")):
        return mention.value / 12
    return mention.value


def bare_correction(text: str, previous: Profile) -> dict[str, Any]:
    """{field: new value} when ``text`` replaces a number the profile holds by another, naming
    no field ("是三年不是五年"); empty when no single stored value matches the old number."""
    match = _NEW_NOT_OLD.search(text) or _NOT_OLD_BUT_NEW.search(text)
    match = match or _NOT_OLD_BUT_NEW_EN.search(text)
    if not match:
        return {}
    new, old = _one(match.group("new")), _one(match.group("old"))
    if new is None or old is None or new.kind != old.kind:
        return {}
    known = previous.known()
    fields = [
        name
        for name, value in known.items()
        if isinstance(value, int | float)
        and not isinstance(value, bool)
        and abs(float(value) - _scaled(name, old)) < 1e-9
    ]
    if len(fields) != 1:
        return {}
    (name,) = fields
    value = _scaled(name, new)
    return {name: int(value) if isinstance(known[name], int) else value}


def recount(text: str, previous: Profile) -> dict[str, Any]:
    """{field: new count} when ``text`` recounts with a bare number ("一共七个") and the profile
    holds exactly one count (lenders, inquiries or overdues) it can be of; else empty."""
    match = _RECOUNT.search(text)
    if not match:
        return {}
    mention = _one(match.group("new"))
    held = [name for name in COUNTS if getattr(previous, name) is not None]
    if mention is None or mention.kind != "count" or len(held) != 1:
        return {}
    return {held[0]: int(mention.value)}
