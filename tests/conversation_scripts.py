"""Scripted multi-turn conversations (issue 11) that every interface must carry the same way.

Each step is one user message and what its reply must show: the direct answer among the first
``HEAD_CHARS`` characters of the body (the words come from ``catalog.yaml`` through its loader,
so the check fails when the answer goes missing, whatever the wording), a correction
acknowledged and held in the profile. Over the whole conversation consecutive reply bodies are
at most ``MAX_SIMILARITY`` alike except after a summary request, and an English conversation has
no Chinese character before its sources. ``check`` runs the checks on what an interface showed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path
from typing import Any

from bot.conversation_eval import HEAD_CHARS, body
from knowledge.catalog import Catalog, Product, load_catalog
from knowledge.programmes import percent

MAX_SIMILARITY = 0.6
CJK = re.compile(r"[\u4e00-\u9fff]")
KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"


@cache
def catalog() -> Catalog:
    """The shipped catalog, loaded as the advisor loads it."""
    return load_catalog(KNOWLEDGE)


def product(alias: str) -> Product:
    """The catalog product users call ``alias`` (税贷, startup guarantee loan)."""
    found = [p for p in catalog().products if alias in p.aliases]
    assert len(found) == 1, f"{alias!r} names {[p.id for p in found]}"
    return found[0]


def amount(alias: str, lang: str) -> list[str]:
    """The product's highest amount as a reply writes it (20万 / 200,000)."""
    top = product(alias).amount.max
    assert top is not None, alias
    return [f"{top / 10000:g}万"] if lang == "zh" else [f"{top:,.0f}"]


def cost(alias: str, lang: str) -> list[str]:
    """The product's rate figure (3.48%)."""
    apr = product(alias).apr
    figures = [v for v in (apr.min, apr.max) if v is not None]
    assert figures, alias
    return [f"{percent(v)}%" for v in figures]


def speed(alias: str, lang: str) -> list[str]:
    """The product's time to the money, by its note (经验估计；线上授权税务数据后审批)."""
    note = product(alias).speed.note_in(lang)
    assert note, alias
    return [note]


@dataclass(frozen=True)
class Step:
    """One user message and what its reply must show."""

    message: str
    answer: Callable[[], list[str]] | None = None
    """Words of which one must open the reply body (a direct question's answer)."""
    summary: bool = False
    """A summary request: the full picture again, so not held to the similarity bound."""
    corrected: tuple[str, Any] | None = None
    """The profile field and value a correction leaves."""
    acknowledged: tuple[str, ...] = ()
    """Words of which one must be in the reply body (记下了, the corrected value)."""


@dataclass(frozen=True)
class Script:
    """A conversation in one language."""

    name: str
    lang: str
    steps: tuple[Step, ...]


ZH_TAX_LOAN = "税贷"
EN_TAX_LOAN = "tax loan"

CHINESE = Script(
    "milk-tea-shop-zh",
    "zh",
    (
        Step("开奶茶店五年，纳税B级，想借20万进货"),
        Step("创业担保贷款个人最多贷多少", lambda: amount("创业担保贷", "zh")),
        Step("税贷利率多少", lambda: cost(ZH_TAX_LOAN, "zh")),
        Step(
            "说错了，开店是三年不是五年",
            corrected=("years_operating", 3),
            acknowledged=("记下了", "3年"),
        ),
        Step("大概多久放款", lambda: speed(ZH_TAX_LOAN, "zh")),
        Step("总结一下", summary=True),
    ),
)
ENGLISH = Script(
    "milk-tea-shop-en",
    "en",
    (
        Step(
            "I run a milk tea shop as a sole proprietor, I've been in business five years, "
            "and I need 200k for inventory"
        ),
        Step(
            "how much can I borrow with a startup guarantee loan",
            lambda: amount("startup guarantee loan", "en"),
        ),
        Step("what is the interest rate of a tax loan", lambda: cost(EN_TAX_LOAN, "en")),
        Step(
            "sorry, I've been in business three years, not five",
            corrected=("years_operating", 3),
            acknowledged=("Noted", "3 years"),
        ),
        Step("how fast is the money paid out", lambda: speed(EN_TAX_LOAN, "en")),
        Step("summary", summary=True),
    ),
)
SCRIPTS = (CHINESE, ENGLISH)


@dataclass(frozen=True)
class Shown:
    """What an interface showed for one step: the reply text and the profile after it."""

    reply: str
    profile: dict[str, Any]


def check(script: Script, shown: list[Shown]) -> None:
    """Every check of the script on what the interface showed, all failures at once."""
    assert len(shown) == len(script.steps)
    problems: list[str] = []
    previous: str | None = None
    for n, (step, seen) in enumerate(zip(script.steps, shown, strict=True), 1):
        text = body(seen.reply)
        where = f"{script.name} turn {n} {step.message!r}"
        if not text:
            problems.append(f"{where}: empty reply")
        if step.answer is not None:
            words = step.answer()
            if not any(w.lower() in text[:HEAD_CHARS].lower() for w in words):
                problems.append(f"{where}: none of {words} in the opening:\n{text[:HEAD_CHARS]}")
        if previous is not None and not step.summary:
            similarity = SequenceMatcher(None, previous, text, autojunk=False).ratio()
            if similarity > MAX_SIMILARITY:
                problems.append(f"{where}: {similarity:.2f} like the reply before")
        previous = text
        if script.lang == "en" and CJK.search(text):
            problems.append(f"{where}: Chinese in an English reply: {CJK.findall(text)[:10]}")
        if step.corrected is not None:
            field, value = step.corrected
            if seen.profile.get(field) != value:
                problems.append(f"{where}: {field} is {seen.profile.get(field)!r}, not {value!r}")
        if step.acknowledged and not any(w in text for w in step.acknowledged):
            problems.append(f"{where}: no {step.acknowledged} in:\n{text}")
    assert not problems, "\n".join(problems)
