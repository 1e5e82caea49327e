"""Follow-up: the one missing fact whose answer would most change the diagnosis or ranking.

For each unknown field the advisor could ask about, it replays diagnosis and recommendation with
each plausible answer and counts how differently the top results come out; the field with the
largest expected change wins. Answered or skipped fields are never asked.
"""

from __future__ import annotations

from typing import Any

from knowledge.rules import Bilingual, Question

from .diagnose import Diagnoser
from .profile import Dialogue, Profile
from .recommend import Recommender
from .turn import FollowUp, Label, Option

_BUSINESS_ONLY = frozenset({"tax_rating", "receivables_large_buyers", "years_operating"})
_CONSUMER_ONLY = frozenset({"zhima_score", "social_insurance", "is_student", "monthly_income"})


def _signature(diagnoser: Diagnoser, recommender: Recommender, profile: Profile) -> tuple[Any, ...]:
    reasons = diagnoser.rank(profile, profile.hints)
    return (
        tuple(r.code for r in reasons[:3]),
        tuple(recommender.channel_ranking(profile, reasons, 3)),
    )


def _distance(a: tuple[Any, ...], b: tuple[Any, ...]) -> float:
    total = 0.0
    for left, right in zip(a, b, strict=True):
        union = set(left) | set(right)
        total += 1 - len(set(left) & set(right)) / len(union) if union else 0.0
        total += 0.25 * sum(x != y for x, y in zip(left, right, strict=False))
    return total


def missing_fields(diagnoser: Diagnoser, profile: Profile, dialogue: Dialogue) -> list[str]:
    """Fields worth knowing that are still unknown (and not skipped), in the data file's order."""
    missing = []
    for field in diagnoser.questions:
        if getattr(profile, field, None) is not None or field in dialogue.skipped:
            continue
        if profile.segment == "consumer" and field in _BUSINESS_ONLY:
            continue
        if profile.is_business and field in _CONSUMER_ONLY:
            continue
        missing.append(field)
    return missing


def choose_follow_up(
    diagnoser: Diagnoser,
    recommender: Recommender,
    profile: Profile,
    dialogue: Dialogue,
    lang: str = "zh",
) -> FollowUp | None:
    """The single best question to ask next, or None when no answer would change anything."""
    base = _signature(diagnoser, recommender, profile)
    best: tuple[float, str] | None = None
    for field in missing_fields(diagnoser, profile, dialogue):
        options = diagnoser.questions[field].options
        if not options:
            continue
        changes = []
        for option in options:
            # options come from our own data and are valid values: no re-validation needed
            hypothetical = profile.model_copy(update={field: option.value})
            changes.append(_distance(base, _signature(diagnoser, recommender, hypothetical)))
        if not changes:
            continue
        expected = sum(changes) / len(changes)
        if expected > 0 and (best is None or expected > best[0] + 1e-9):
            best = (expected, field)
    if best is None:
        return None
    return follow_up_for(best[1], diagnoser.questions[best[1]], diagnoser.skip_label, lang)


def follow_up_for(field: str, question: Question, skip: Bilingual, lang: str = "zh") -> FollowUp:
    """The question about ``field`` in ``lang`` with its labelled options and skip choice."""
    return FollowUp(
        field=field,
        question=question.en if lang == "en" else question.zh,
        options=[Option(value=o.value, label=Label(zh=o.zh, en=o.en)) for o in question.options],
        skip=Label(zh=skip.zh, en=skip.en),
    )
