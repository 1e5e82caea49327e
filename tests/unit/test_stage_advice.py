"""The diagnose, recommend, guard and follow_up stages on hand-built contexts."""

from __future__ import annotations

from bot import pipeline
from bot.acts import DialogueAct
from bot.engine import Engine
from bot.profile import Dialogue, Profile
from bot.turn import Reason, Recommendation
from tests.unit.conftest import make_ctx, understanding

JIEBEI = Profile(platform="jiebei", symptom="cannot_open", zhima_score=650, overdue="none")


def _rec(channel: str, product: str) -> Recommendation:
    return Recommendation(channel=channel, product=product, title=product, fit=0.5, why="", apr="")


def test_diagnose_ranks_the_profile_priors(engine: Engine) -> None:
    out = pipeline.diagnose(make_ctx("借呗开不了", profile=JIEBEI), engine)
    assert [(r.code, r.confidence) for r in out.reasons] == [
        ("credit_score_low", 0.35),
        ("thin_file", 0.33),
        ("platform_risk_policy", 0.3),
        ("income_unverified", 0.2),
    ]


def test_diagnose_uses_the_profile_hints_with_the_users_words(engine: Engine) -> None:
    profile = Profile(hints={"frequent_inquiries": "征信花了"})
    out = pipeline.diagnose(make_ctx("征信花了", profile=profile), engine)
    assert [(r.code, r.confidence, r.evidence) for r in out.reasons] == [
        ("frequent_inquiries", 0.75, "征信花了")
    ]


def test_a_question_about_ones_own_case_shows_the_findings(engine: Engine) -> None:
    """ "被列为被执行人还能申请网商贷吗" asks about the asker: the record told is a finding, so
    the diagnosis comes with the answer; a question of definition shows none."""
    told = Profile(platform="mybank", judicial_record=True)
    asks = pipeline.diagnose(
        make_ctx(
            "被列为被执行人还能申请网商贷吗", profile=told, act=DialogueAct("asks", "eligibility")
        ),
        engine,
    )
    assert asks.show_diagnosis and asks.reasons[0].code == "judicial_risk"
    defines = pipeline.diagnose(
        make_ctx("什么是被执行人", profile=told, act=DialogueAct("asks", "definition")), engine
    )
    assert not defines.show_diagnosis
    nothing_told = pipeline.diagnose(
        make_ctx("网商贷还能申请吗", profile=Profile(platform="mybank"),
                 act=DialogueAct("asks", "eligibility")),
        engine,
    )  # fmt: skip
    assert not nothing_told.show_diagnosis  # priors alone are possibilities


def test_diagnose_labels_in_the_message_language(engine: Engine) -> None:
    profile = Profile(hints={"frequent_inquiries": "too many checks"})
    ctx = make_ctx("too many checks", profile=profile, u=understanding(lang="en"))
    reason = pipeline.diagnose(ctx, engine).reasons[0]
    assert reason.label == engine.knowledge.taxonomy.label("reasons", "frequent_inquiries", "en")
    assert reason.advice.startswith("Stop applying everywhere")


def test_recommend_fills_recommendations_from_profile_and_reasons(engine: Engine) -> None:
    reasons = (Reason(code="overdue_record", label="逾期", confidence=0.7, evidence="有过逾期"),)
    ctx = make_ctx("x", profile=Profile(segment="consumer"), reasons=reasons)
    out = pipeline.recommend(ctx, engine)
    assert [r.product for r in out.recommendations[:2]] == [
        "check-own-credit-report",
        "repay-current-overdue",
    ]
    assert out.recommendations[2].channel != "credit_improvement"


def test_guard_drops_lenders_on_a_refusal(engine: Engine) -> None:
    recs = (
        _rec("fintech_consumer_credit", "jiebei"),
        _rec("credit_improvement", "repay-current-overdue"),
        _rec("credit_card", "credit-card-spending"),
    )
    ctx = make_ctx("帮我做流水", u=understanding(intent="unsafe"), recommendations=recs)
    out = pipeline.guard(ctx, engine)
    assert [r.product for r in out.recommendations] == ["repay-current-overdue"]
    assert out.refusal_kind == "fake_materials"
    assert out.refusal == engine.knowledge.rules.guard.refusals["fake_materials"].zh
    assert [w.code for w in out.warnings] == ["scam_risk"]


def test_guard_keeps_lenders_and_sets_the_apr_without_a_refusal(engine: Engine) -> None:
    recs = (_rec("fintech_consumer_credit", "jiebei"),)
    ctx = make_ctx("日息0.1%的网贷", u=understanding(intent="compute_cost"), recommendations=recs)
    out = pipeline.guard(ctx, engine)
    assert out.recommendations == recs
    assert out.refusal is None and out.refusal_kind is None
    assert out.apr is not None and round(out.apr.apr, 2) == 36.5
    assert [w.code for w in out.warnings] == ["high_cost"]


def test_follow_up_asks_one_unknown_field_and_records_it(engine: Engine) -> None:
    ctx = make_ctx(
        "借呗开不了",
        profile=JIEBEI,
        u=understanding(intent="diagnose"),
        dialogue=Dialogue(asked=("overdue",)),
    )
    out = pipeline.follow_up(ctx, engine)
    assert out.follow_up is not None
    assert out.follow_up.field == "inquiries_recent"
    assert out.follow_up.question == engine.diagnoser.questions["inquiries_recent"].zh
    assert out.dialogue.asked == ("overdue", "inquiries_recent")
    assert "inquiries_recent" in out.missing and "zhima_score" not in out.missing


def test_follow_up_asks_nothing_after_a_refusal(engine: Engine) -> None:
    ctx = make_ctx(
        "帮我做流水",
        profile=JIEBEI,
        u=understanding(intent="diagnose"),
        refusal="不能帮你",
    )
    out = pipeline.follow_up(ctx, engine)
    assert out.follow_up is None
    assert out.dialogue == Dialogue()
    assert out.missing[:3] == ("segment", "need_purpose", "lender_count")


def test_follow_up_asks_nothing_for_a_product_question(engine: Engine) -> None:
    ctx = make_ctx("借呗是什么", profile=JIEBEI, u=understanding(intent="ask_product"))
    out = pipeline.follow_up(ctx, engine)
    assert out.follow_up is None
    assert out.dialogue.asked == ()


def test_follow_up_missing_leaves_out_skipped_and_business_only_fields(engine: Engine) -> None:
    profile = Profile(segment="consumer", platform="jiebei", symptom="limit_cut")
    ctx = make_ctx(
        "x",
        profile=profile,
        u=understanding(intent="ask_product"),
        dialogue=Dialogue(skipped=("overdue",)),
    )
    missing = pipeline.follow_up(ctx, engine).missing
    assert "overdue" not in missing
    assert "tax_rating" not in missing and "years_operating" not in missing
    assert missing[0] == "need_purpose"
