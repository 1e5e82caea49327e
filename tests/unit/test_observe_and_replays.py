"""Follow-up replays remembered without changing the question; why an LLM reply was not used."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

from bot.context import TurnContext
from bot.diagnose import Diagnoser
from bot.followup import ReplayCache, choose_follow_up
from bot.knowledge import Knowledge
from bot.observe import llm_fallback
from bot.profile import Dialogue, Profile
from bot.recommend import Recommender

PROFILES = [
    Profile(platform="jiebei", symptom="cannot_open", zhima_score=650, overdue="none"),
    Profile(segment="sole_proprietor", need_purpose="working_capital", tax_rating="B"),
    Profile(platform="huabei", symptom="limit_cut"),
    Profile(),
]


class CountingRecommender(Recommender):
    """The real recommender, counting the rankings it computes."""

    calls = 0

    def channel_ranking(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        CountingRecommender.calls += 1
        return super().channel_ranking(*args, **kwargs)


@pytest.fixture
def parts(knowledge: Knowledge) -> tuple[Diagnoser, CountingRecommender]:
    rules = knowledge.rules
    diagnoser = Diagnoser(rules.diagnosis, knowledge.taxonomy)
    recommender = CountingRecommender(rules.recommend, rules.policy, knowledge.catalog,
                                      knowledge.taxonomy)  # fmt: skip
    return diagnoser, recommender


@pytest.mark.parametrize("profile", PROFILES)
def test_remembered_replays_ask_the_same_question(
    parts: tuple[Diagnoser, CountingRecommender], profile: Profile
) -> None:
    diagnoser, recommender = parts
    fresh = choose_follow_up(diagnoser, recommender, profile, Dialogue())
    cache = ReplayCache()
    first = choose_follow_up(diagnoser, recommender, profile, Dialogue(), replays=cache)
    CountingRecommender.calls = 0
    again = choose_follow_up(diagnoser, recommender, profile, Dialogue(), replays=cache)
    assert fresh == first == again
    assert CountingRecommender.calls == 0  # every replay came from the cache


def test_evidence_text_is_not_part_of_the_key_but_facts_are(
    parts: tuple[Diagnoser, CountingRecommender],
) -> None:
    diagnoser, recommender = parts
    cache = ReplayCache()
    said = PROFILES[0].model_copy(update={"evidence": {"zhima_score": "芝麻分650"}})
    cache.signature(diagnoser, recommender, PROFILES[0])
    CountingRecommender.calls = 0
    cache.signature(diagnoser, recommender, said)
    assert CountingRecommender.calls == 0
    cache.signature(diagnoser, recommender, PROFILES[0].model_copy(update={"zhima_score": 500}))
    assert CountingRecommender.calls == 1


def test_the_cache_is_bounded(parts: tuple[Diagnoser, CountingRecommender]) -> None:
    diagnoser, recommender = parts
    cache = ReplayCache(size=2)
    for profile in PROFILES:
        cache.signature(diagnoser, recommender, profile)
    CountingRecommender.calls = 0
    cache.signature(diagnoser, recommender, PROFILES[0])  # the oldest was forgotten
    assert CountingRecommender.calls == 1


def _llm(**outcome: object) -> TurnContext:
    return TurnContext(text="x", llm=MappingProxyType(outcome))


@pytest.mark.parametrize(
    ("ctx", "configured", "reason"),
    [
        (_llm(used=True, error=None), True, None),
        (_llm(used=False, error="deadline"), True, "timeout"),
        (_llm(used=False, error="TimeoutError: no answer within 2.0s"), True, "timeout"),
        (_llm(used=False, error="InternalServerError: 500"), True, "error"),
        (_llm(used=False, error=None, violations=["x"]), True, "rejected"),
        (dataclasses.replace(TurnContext(text="x"), over_budget=True), True, "over_budget"),
        (TurnContext(text="x"), True, None),
        (dataclasses.replace(TurnContext(text="x"), route="short"), True, None),
        (dataclasses.replace(TurnContext(text="x"), over_budget=True), False, None),
    ],
)
def test_llm_fallback_reasons(ctx: TurnContext, configured: bool, reason: str | None) -> None:
    assert llm_fallback(ctx, configured) == reason
