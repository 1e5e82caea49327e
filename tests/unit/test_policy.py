"""Domain policy from ``policy.yaml``: who may be offered a lender, who is over-indebted."""

from __future__ import annotations

import pytest

from bot.knowledge import Knowledge
from bot.policy import credit_first, lenders_allowed, over_indebted
from bot.profile import Profile


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({}, False),
        ({"borrowing_to_repay": True}, True),
        ({"overdue": "current"}, True),
        ({"overdue": "past"}, False),
        ({"lender_count": 4}, True),
        ({"lender_count": 3}, False),
        ({"monthly_debt_payment": 7000, "monthly_income": 10000}, True),
        ({"monthly_debt_payment": 6000, "monthly_income": 10000}, False),
        ({"judicial_record": True}, True),
    ],
)
def test_over_indebted(knowledge: Knowledge, facts: dict[str, object], expected: bool) -> None:
    policy = knowledge.rules.policy
    profile = Profile.model_validate(facts)
    assert over_indebted(policy, profile) is expected
    assert lenders_allowed(policy, profile) is not expected
    if expected:
        assert credit_first(policy, profile, [])


def test_forbidden_purpose_allows_no_lender_even_with_a_clean_record(knowledge: Knowledge) -> None:
    policy = knowledge.rules.policy
    for purpose in ("home_purchase", "securities", "repay_debt"):
        assert not lenders_allowed(policy, Profile(need_purpose=purpose, overdue="none"))
    assert lenders_allowed(policy, Profile(need_purpose="inventory", overdue="none"))


def test_over_indebted_profile_gets_no_lender_in_the_ranking(knowledge: Knowledge, engine) -> None:  # type: ignore[no-untyped-def]
    profile = Profile(segment="consumer", lender_count=9, platform="jiebei", symptom="limit_cut")
    reasons = engine.diagnoser.diagnose(profile, profile.hints)
    channels = engine.recommender.channel_ranking(profile, reasons, 3)
    assert channels and set(channels) == {"credit_improvement"}
