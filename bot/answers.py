"""Short replies to the question just asked: "没有", "B级", "3家", "跳过", or a choice's label."""

from __future__ import annotations

import re
from collections.abc import Sequence

from knowledge.rules import QuestionOption, UnderstandingRules

from .numbers import numbers_in
from .understanding import Draft, Understanding


def answer_pending(
    rules: UnderstandingRules,
    field: str,
    text: str,
    understanding: Understanding,
    options: Sequence[QuestionOption] = (),
) -> Understanding:
    """The message read as a reply to the question just asked about ``field``.

    The label of one of the question's ``options`` (in either language: what a button sends)
    sets exactly that option's value; another short answer fills the field by the phrase rules.
    An answer (or a skip) continues the diagnosis instead of being taken for a product question.
    """
    result = Draft.of(understanding)
    chosen = chosen_option(options, text)
    if chosen is not None:
        result.set(field, chosen.value, text)
        result.skip = False
    elif not result.skip:
        answer(rules, field, text, result)
    if result.intent == "ask_product" and (result.skip or result.facts or result.hints):
        result.intent = "diagnose"
    return result.freeze()


def _folded(text: str) -> str:
    return " ".join(text.lower().strip(" 。.!！").split())


def chosen_option(options: Sequence[QuestionOption], text: str) -> QuestionOption | None:
    """The option whose zh or en label ``text`` is (case, spaces and end marks aside)."""
    typed = _folded(text)
    for option in options:
        if typed in {_folded(option.zh), _folded(option.en)}:
            return option
    return None


def answer(rules: UnderstandingRules, field: str, text: str, result: Draft) -> None:
    """Read a short reply as the answer to the question just asked about ``field``."""
    if field in result.facts or len(text) > 24:
        return
    lowered = text.lower().strip(" 。.!！")
    answers = rules.answers
    if field in answers and field not in {"affirmative", "negative"}:
        for value, phrases in answers[field].items():
            if any(lowered == p or lowered.startswith(p) for p in phrases):
                result.set(field, value, text)
                return
        return
    yes = any(lowered == p or lowered.startswith(p) for p in answers["affirmative"])
    no = any(lowered == p or lowered.startswith(p) for p in answers["negative"])
    if field == "collateral" and no:
        result.set(field, [], text)
    elif field in {
        "receivables_large_buyers",
        "social_insurance",
        "is_student",
        "invoices",
    } and (yes or no):
        result.set(field, not no, text)
    elif field == "tax_rating" and re.fullmatch(r"[abmcd]\s*级?", lowered):
        result.set(field, lowered[0].upper(), text)
    elif field in {
        "lender_count",
        "inquiries_recent",
        "zhima_score",
        "need_amount",
        "monthly_income",
        "years_operating",
    }:
        found = numbers_in(text)
        if found:
            value = found[0][0]
            if field == "need_amount" and value < 1000 and "万" not in text:
                value *= (
                    10000  # a bare "30" answering "how much do you need" means 30万, not 30 yuan
                )
            result.set(
                field,
                int(value)
                if field in {"lender_count", "inquiries_recent", "zhima_score"}
                else value,
                text,
            )
