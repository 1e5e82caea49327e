"""The advisor engine end to end: multi-turn corrections, skips, follow-ups, guard, contracts."""

from __future__ import annotations

import sqlite3
import uuid

import pytest

from bot.advisor import Advisor
from core.errors import EmptyInputError, InputTooLongError

from .helpers import CONTRACT_KEYS

CONSUMER_CHANNELS = {"fintech_consumer_credit", "consumer_finance_company", "credit_card"}
LENDING = {
    "bank_supply_chain", "bank_inclusive_loan", "bank_tax_loan", "gov_guarantee", "secured_loan",
    "fintech_business_loan", "fintech_consumer_credit", "consumer_finance_company", "credit_card",
    "leasing_or_bill",
}  # fmt: skip


def new_session() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def test_contract_shape(advisor: Advisor) -> None:
    turn = advisor.diagnose("借呗有入口没额度，近三个月查了8次征信，芝麻分640")
    contract = turn.contract()
    assert set(contract) == CONTRACT_KEYS
    assert contract["profile"]["platform"] == "jiebei" and contract["profile"]["zhima_score"] == 640
    top = contract["reasons"][0]
    assert (
        top["code"] == "frequent_inquiries"
        and top["confidence"] >= 0.8
        and "8次" in top["evidence"]
    )
    confidences = [r["confidence"] for r in contract["reasons"]]
    assert confidences == sorted(confidences, reverse=True) and len(confidences) <= 4
    for rec in contract["recommendations"]:
        assert {"channel", "product", "title", "fit", "why", "apr", "citations"} <= set(rec)
        assert rec["citations"] and "#" in rec["citations"][0]
    assert all({"doc_id", "heading", "title"} <= set(c) for c in contract["citations"])


def test_entry_without_facts_gives_possibilities(advisor: Advisor) -> None:
    turn = advisor.diagnose("支付宝里有借呗入口但是没额度")
    codes = [r.code for r in turn.reasons]
    assert {"thin_file", "credit_score_low", "platform_risk_policy"} <= set(codes)
    assert all(r.confidence < 0.4 for r in turn.reasons)
    assert "并非定论" in turn.reply  # presented as possibilities, not findings
    assert turn.follow_up is not None


def test_multi_turn_correction_replaces_the_fact(advisor: Advisor) -> None:
    session = new_session()
    first = advisor.reply(session, "借呗被关了，我是黑户，之前逾期过")
    assert first.profile.overdue == "past"
    assert "overdue_record" in [r.code for r in first.reasons[:2]]
    second = advisor.reply(session, "不对，我没有逾期，是记错了")
    assert second.profile.overdue == "none"
    assert "overdue_record" not in second.profile.hints
    assert "overdue_record" not in [r.code for r in second.reasons[:2]]
    assert second.profile.platform == "jiebei"  # earlier facts survive
    third = advisor.reply(session, "刚才说错了，我是开店的个体户")
    assert third.profile.segment == "sole_proprietor"


def test_one_follow_up_per_turn_never_repeated_and_skippable(advisor: Advisor) -> None:
    session = new_session()
    asked: list[str] = []
    turn = advisor.reply(session, "银行经营贷申请被拒了，想借30万")
    for _ in range(6):
        if turn.follow_up is None:
            break
        field = turn.follow_up.field
        assert field not in asked
        assert turn.reply.count("想再确认一点") == 1
        asked.append(field)
        turn = advisor.reply(session, "跳过")
        assert field in turn.dialogue.skipped
        assert turn.reply.startswith("好的，这个问题先跳过。")  # the skip is acknowledged first
    assert len(asked) >= 2
    answered = advisor.reply(new_session(), "花呗被降额了，我没有逾期")
    assert answered.follow_up is None or answered.follow_up.field != "overdue"


def test_business_purpose_never_gets_consumer_credit(advisor: Advisor) -> None:
    turn = advisor.diagnose("开饭店的个体户，想借20万进货，纳税B级")
    channels = [r.channel for r in turn.recommendations]
    assert channels and not set(channels) & CONSUMER_CHANNELS
    assert channels[0] == "bank_tax_loan"


def test_consumer_credit_for_business_is_flagged(advisor: Advisor) -> None:
    turn = advisor.diagnose("我想用借呗的钱给店里进货")
    assert "purpose_mismatch" in {w.code for w in turn.warnings}
    assert not {r.channel for r in turn.recommendations} & CONSUMER_CHANNELS


def test_debt_spiral_gets_no_new_lender(advisor: Advisor) -> None:
    turn = advisor.diagnose("在6个平台借了钱，每个月都靠借新的还旧的，还有什么口子能下款")
    assert "debt_spiral" in {w.code for w in turn.warnings}
    channels = {r.channel for r in turn.recommendations}
    assert channels == {"credit_improvement"}
    assert "现在不建议再借新的钱" in turn.reply


def test_students_get_no_online_lenders(advisor: Advisor) -> None:
    turn = advisor.diagnose("我是大学生，花呗开不了，想借点钱买电脑")
    assert "age_or_eligibility" in [r.code for r in turn.reasons[:2]]
    assert not {r.channel for r in turn.recommendations} & {
        "fintech_consumer_credit", "consumer_finance_company", "fintech_business_loan",
    }  # fmt: skip


def test_high_cost_from_the_users_figures(advisor: Advisor) -> None:
    turn = advisor.diagnose("借1万到手9000，12期每期还1000，这个年化多少")
    assert turn.apr is not None and turn.apr["apr"] > 24
    assert "high_cost" in {w.code for w in turn.warnings}
    assert "56.75%" in turn.reply


@pytest.mark.parametrize(
    ("text", "phrase"),
    [("怎么把花呗套现出来", "不能帮你套现"), ("有人说花2000能修复征信删掉逾期，靠谱吗", "征信修复"),
     ("能帮我做一份假流水吗", "骗取贷款罪")],
)  # fmt: skip
def test_unsafe_requests_are_refused(advisor: Advisor, text: str, phrase: str) -> None:
    turn = advisor.diagnose(text)
    assert turn.intent == "unsafe" and phrase in turn.reply
    assert not {r.channel for r in turn.recommendations} & LENDING


def test_scam_warning(advisor: Advisor) -> None:
    turn = advisor.diagnose("有个中介说有内部渠道包下款，要先交3000保证金")
    assert "scam_risk" in {w.code for w in turn.warnings}


def test_question_outside_the_knowledge_base(advisor: Advisor) -> None:
    assert "超出了我的范围" in advisor.diagnose("今天天气怎么样").reply
    turn = advisor.diagnose("火星移民签证怎么申请")
    brief = advisor.knowledge.template("zh", "not_covered_short")
    assert turn.reply.startswith(brief) and not turn.recommendations


def test_product_question_is_answered_with_citations(advisor: Advisor) -> None:
    turn = advisor.diagnose("银税互动是什么，需要什么条件")
    assert turn.citations and turn.citations[0].doc_id == "tax-loan"
    assert "[1]" in turn.reply and "tax-loan#" in turn.reply


def test_english_reply(advisor: Advisor) -> None:
    turn = advisor.diagnose("My Huabei limit was cut and I have 5 loan apps, why?")
    assert turn.lang == "en" and "Likely reasons" in turn.reply
    assert "multi_lending" in [r.code for r in turn.reasons[:3]]


def test_bad_input(advisor: Advisor) -> None:
    with pytest.raises(EmptyInputError, match="消息是空的"):
        advisor.reply(new_session(), "   ")
    with pytest.raises(InputTooLongError, match="2000"):
        advisor.reply(new_session(), "借" * 2001)


def test_bad_input_does_not_touch_the_session(advisor: Advisor) -> None:
    session = new_session()
    advisor.reply(session, "借呗没额度，芝麻分600")
    before = advisor.store.load(session)
    with pytest.raises(InputTooLongError):
        advisor.reply(session, "x" * 5000)
    assert advisor.store.load(session) == before


def test_pii_is_masked_before_storage(advisor: Advisor) -> None:
    session = new_session()
    advisor.reply(session, "我手机13812345678，身份证110105199001011234，借呗没额度")
    raw = (
        sqlite3.connect(advisor.settings.data_dir / "sessions.sqlite3")
        .execute("SELECT * FROM sessions WHERE session_id = ?", (session,))
        .fetchone()
    )
    stored = " ".join(str(col) for col in raw)
    assert "13812345678" not in stored and "110105199001011234" not in stored
    assert "138****5678" in stored


def test_reset(advisor: Advisor) -> None:
    session = new_session()
    advisor.reply(session, "借呗没额度，芝麻分600")
    assert advisor.profile(session).zhima_score == 600
    assert advisor.reset(session)
    assert advisor.profile(session).zhima_score is None
