"""``Diagnoser``: priors, rules with the user's words, counter-evidence, hints, limits."""

from __future__ import annotations

import pytest

from bot.diagnose import Diagnoser, profile_value
from bot.knowledge import Knowledge
from bot.profile import Profile
from bot.turn import Reason


@pytest.fixture
def diagnoser(knowledge: Knowledge) -> Diagnoser:
    return Diagnoser(knowledge.rules.diagnosis, knowledge.taxonomy)


def _codes(reasons: list[Reason]) -> list[tuple[str, float]]:
    return [(r.code, r.confidence) for r in reasons]


def test_priors_of_platform_and_symptom(diagnoser: Diagnoser) -> None:
    reasons = diagnoser.diagnose(Profile(platform="jiebei", symptom="limit_cut"), {})
    assert _codes(reasons) == [
        ("platform_risk_policy", 0.38),
        ("high_debt", 0.3),
        ("multi_lending", 0.25),
        ("frequent_inquiries", 0.2),
    ]
    assert reasons[0].evidence == "被降额时常见的可能原因"
    assert all(diagnoser.is_possibility(r) for r in reasons)


def test_priors_fall_back_to_the_platform_default(diagnoser: Diagnoser) -> None:
    reasons = diagnoser.diagnose(Profile(platform="huabei", symptom="cannot_open"), {})
    assert _codes(reasons)[0] == ("platform_risk_policy", 0.35)


def test_priors_fall_back_to_the_global_default(diagnoser: Diagnoser) -> None:
    reasons = diagnoser.diagnose(Profile(symptom="application_rejected"), {})
    assert _codes(reasons) == [
        ("platform_risk_policy", 0.25),
        ("credit_score_low", 0.2),
        ("income_unverified", 0.2),
        ("thin_file", 0.15),
    ]


def test_english_prior_evidence(diagnoser: Diagnoser, knowledge: Knowledge) -> None:
    reasons = diagnoser.diagnose(Profile(platform="jiebei", symptom="limit_cut"), {}, "en")
    label = knowledge.taxonomy.label("symptoms", "limit_cut", "en")
    assert reasons[0].evidence == f"a common cause of '{label}'"


def test_a_rule_raises_a_reason_with_the_users_words(diagnoser: Diagnoser) -> None:
    profile = Profile(
        platform="jiebei",
        symptom="limit_cut",
        lender_count=5,
        evidence={"lender_count": "我在5家平台有借款"},
    )
    top = diagnoser.diagnose(profile, {})[0]
    assert (top.code, top.confidence) == ("multi_lending", 0.85)
    assert top.evidence == "同时在多家机构借款（“我在5家平台有借款”）"
    assert top.doc_id == "multi-lending"
    assert top.advice == diagnoser.advice["multi_lending"].zh
    assert not diagnoser.is_possibility(top)


def test_debt_to_income_rule_quotes_payment_and_income(diagnoser: Diagnoser) -> None:
    profile = Profile(
        monthly_debt_payment=8000,
        monthly_income=10000,
        evidence={"monthly_debt_payment": "每月还8000", "monthly_income": "月入一万"},
    )
    assert profile_value(profile, "debt_to_income") == 0.8
    reasons = diagnoser.diagnose(profile, {})
    assert [(r.code, r.confidence, r.evidence) for r in reasons] == [
        ("high_debt", 0.9, "每月还款占收入七成以上（“每月还8000；月入一万”）")
    ]


def test_a_rule_without_words_uses_its_description(diagnoser: Diagnoser) -> None:
    reasons = diagnoser.diagnose(Profile(judicial_record=True), {})
    assert [(r.code, r.evidence) for r in reasons] == [("judicial_risk", "有涉诉或被执行记录")]


def test_business_computed_field(diagnoser: Diagnoser) -> None:
    young = Profile(segment="sme", years_operating=0.5)
    assert profile_value(young, "business") is True
    assert _codes(diagnoser.diagnose(young, {})) == [("business_risk", 0.75)]
    consumer = Profile(segment="consumer", years_operating=0.5)
    assert diagnoser.diagnose(consumer, {}) == []


def test_counter_evidence_lowers_a_prior(diagnoser: Diagnoser) -> None:
    base = Profile(platform="jiebei", symptom="cannot_open")
    assert dict(_codes(diagnoser.diagnose(base, {})))["thin_file"] == 0.33
    high = base.model_copy(update={"zhima_score": 720})
    lowered = {r.code: r for r in diagnoser.diagnose(high, {})}
    assert lowered["thin_file"].confidence == 0.15
    assert lowered["thin_file"].evidence == "芝麻分较高，说明使用记录不少"
    assert "credit_score_low" not in lowered  # 0.35 lowered to 0.08: fifth, past max_reasons


def test_counter_evidence_never_lowers_the_users_own_words(diagnoser: Diagnoser) -> None:
    profile = Profile(inquiries_recent=1)
    hints = {"frequent_inquiries": "征信花了"}
    assert _codes(diagnoser.diagnose(profile, hints)) == [("frequent_inquiries", 0.75)]


def test_counter_evidence_alone_is_no_refusal(diagnoser: Diagnoser) -> None:
    assert diagnoser.diagnose(Profile(overdue="none", inquiries_recent=0), {}) == []


def test_a_hint_beats_a_weaker_prior(diagnoser: Diagnoser) -> None:
    profile = Profile(platform="jiebei", symptom="limit_cut")
    reasons = diagnoser.diagnose(profile, {"frequent_inquiries": "最近查询太多了"})
    assert (reasons[0].code, reasons[0].confidence, reasons[0].evidence) == (
        "frequent_inquiries",
        0.75,
        "最近查询太多了",
    )


def test_a_stronger_rule_beats_a_hint(diagnoser: Diagnoser) -> None:
    profile = Profile(overdue="current")
    reasons = diagnoser.diagnose(profile, {"overdue_record": "黑户"})
    assert _codes(reasons) == [("overdue_record", 0.95)]


def test_at_most_max_reasons(knowledge: Knowledge) -> None:
    rules = knowledge.rules.diagnosis.model_copy(update={"max_reasons": 2})
    two = Diagnoser(rules, knowledge.taxonomy)
    reasons = two.diagnose(Profile(platform="jiebei", symptom="cannot_open"), {})
    assert _codes(reasons) == [("credit_score_low", 0.35), ("thin_file", 0.33)]


def test_no_refusal_gives_no_reasons(diagnoser: Diagnoser) -> None:
    assert diagnoser.diagnose(Profile(), {}) == []
    assert diagnoser.diagnose(Profile(segment="consumer", zhima_score=720), {}) == []
    assert diagnoser.rank(Profile(platform="jiebei"), {}) == []


def test_rank_matches_diagnose_without_text(diagnoser: Diagnoser) -> None:
    profile = Profile(platform="jiebei", symptom="limit_cut", lender_count=5)
    full = diagnoser.diagnose(profile, {})
    quick = diagnoser.rank(profile, {})
    assert [(r.code, r.confidence) for r in quick] == _codes(full)
    assert quick[0].label == "multi_lending"
