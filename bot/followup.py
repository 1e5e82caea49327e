"""Follow-up: the one missing fact whose answer would most change the diagnosis or ranking.

For each unknown field the advisor could ask about, it replays diagnosis and recommendation with
each plausible answer and counts how differently the top results come out; the field with the
largest expected change wins. Answered or skipped fields are never asked.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
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


class ReplayCache:
    """Signatures of profiles already replayed, most recent kept (bounded), for one engine.

    A signature depends only on the profile's facts, hints and guesses (never on the evidence
    text) and on the date (programmes open and close), so those are the key. Users who state the
    same facts, and a user answering the question just asked, replay profiles seen before.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, str], tuple[Any, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def signature(
        self, diagnoser: Diagnoser, recommender: Recommender, profile: Profile
    ) -> tuple[Any, ...]:
        """``_signature`` of ``profile``, computed once per key."""
        key = (dt.date.today().isoformat(), profile.model_dump_json(exclude={"evidence"}))
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        computed = _signature(diagnoser, recommender, profile)
        with self._lock:
            self._entries[key] = computed
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return computed


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
    replays: ReplayCache | None = None,
) -> FollowUp | None:
    """The single best question to ask next, or None when no answer would change anything."""
    replays = replays or ReplayCache(size=0)
    base = replays.signature(diagnoser, recommender, profile)
    best: tuple[float, str] | None = None
    for field in missing_fields(diagnoser, profile, dialogue):
        options = diagnoser.questions[field].options
        if not options:
            continue
        changes = []
        for option in options:
            # options come from our own data and are valid values: no re-validation needed
            hypothetical = profile.model_copy(update={field: option.value})
            changes.append(_distance(base, replays.signature(diagnoser, recommender, hypothetical)))
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
