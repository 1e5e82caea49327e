"""``Composer``: the reply body and tail from the templates, in both languages."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from bot.apr import apr_from_text
from bot.compose import Composer, _excerpt
from bot.knowledge import Knowledge
from bot.turn import Citation, FollowUp, Reason, Recommendation, Warning
from tests.unit.conftest import make_ctx, understanding


@pytest.fixture
def composer(knowledge: Knowledge) -> Composer:
    return Composer(knowledge)


LENDER = Recommendation(
    channel="credit_card",
    product="credit-card-spending",
    title="信用卡",
    provider="某银行",
    fit=0.5,
    why="成本较低",
    apr="以页面为准",
    speed="数天内",
    materials=["身份证", "收入证明"],
    citations=["credit-card#费用"],
)
STEP = Recommendation(
    channel="credit_improvement",
    product="repay-current-overdue",
    title="还清逾期",
    fit=0.9,
    why="先还清",
    apr="不适用",
    speed="约1–2个月",
    citations=["overdue-impact#逾期后怎么恢复"],
)
MARKERS = MappingProxyType({"credit-card#费用": "[2]", "overdue-impact#逾期后怎么恢复": "[1]"})


def test_text_fills_a_template(composer: Composer, knowledge: Knowledge) -> None:
    assert composer.text("zh", "follow_up", question="Q") == knowledge.template(
        "zh", "follow_up", question="Q"
    )


def test_apr_line_and_verdict(composer: Composer) -> None:
    ctx = make_ctx("月息3%", apr=apr_from_text("月息3%"))
    body = composer.compose(ctx, None, True)
    expected = composer.text(
        "zh",
        "apr_line",
        apr="36.00",
        method="月利率×12（单利）",
        effective="42.58",
        verdict=composer.text("zh", "apr_high"),
    )
    assert body == expected


def test_apr_missing_for_a_cost_question(composer: Composer) -> None:
    ctx = make_ctx("这个贵不贵", u=understanding(intent="compute_cost"))
    assert composer.compose(ctx, None, True) == composer.text("zh", "apr_missing")


def test_plan_before_recommendations_with_markers(composer: Composer) -> None:
    ctx = make_ctx("x", show_diagnosis=True, recommendations=(STEP, LENDER), markers=MARKERS)
    parts = composer.compose(ctx, None, True).split("\n\n")
    plan = composer.text("zh", "plan_line", when=composer.text("zh", "plan_now"),
                         title="还清逾期", detail="约1–2个月", cite="[1]")  # fmt: skip
    assert parts[0] == composer.text("zh", "plan_header") + "\n" + plan
    lines = parts[1].split("\n")
    assert lines[0] == composer.text("zh", "recs_header")
    assert lines[1].startswith("1. **还清逾期**")
    assert parts[1].endswith("准备材料：身份证、收入证明[2]")


def test_possible_only_header_for_weak_reasons(composer: Composer) -> None:
    weak = Reason(code="thin_file", label="信用记录太少", confidence=0.33, evidence="e")
    strong = weak.model_copy(update={"confidence": 0.85})
    ctx = make_ctx("x", show_diagnosis=True, reasons=(weak,))
    assert composer.compose(ctx, None, True).startswith(
        composer.text("zh", "reasons_header_possible")
    )
    ctx = make_ctx("x", show_diagnosis=True, reasons=(strong, weak))
    body = composer.compose(ctx, None, True)
    assert body.split("\n")[0] == composer.text("zh", "reasons_header")
    assert "2. 信用记录太少（可信度0.33）" in body


def test_hidden_diagnosis_is_not_composed(composer: Composer) -> None:
    reason = Reason(code="thin_file", label="信用记录太少", confidence=0.9, evidence="e")
    ctx = make_ctx("x", reasons=(reason,), recommendations=(LENDER,))
    assert composer.compose(ctx, None, True) == ""


def test_english_body(composer: Composer) -> None:
    ctx = make_ctx(
        "x",
        u=understanding(lang="en"),
        warnings=(Warning(code="scam_risk", message="Scam!"),),
        follow_up=FollowUp(field="overdue", question="Overdue?"),
    )
    body = composer.compose(ctx, "Lead.", True)
    assert body == "\n\n".join([
        "Lead.",
        composer.text("en", "warnings_header") + "\n- ⚠️ Scam!",
        composer.text("en", "follow_up", question="Overdue?"),
    ])  # fmt: skip


def test_tail_lists_sources_in_order(composer: Composer) -> None:
    citations = (
        Citation(n=1, doc_id="a", heading="h1", title="A", updated="2026-01-01"),
        Citation(n=2, doc_id="b", heading="h2", title="B"),
    )
    ctx = make_ctx("x", citations=citations)
    assert composer.tail(ctx) == "\n".join([
        composer.text("zh", "sources_header"),
        "[1] A｜a#h1（2026-01-01更新）",
        "[2] B｜b#h2（—更新）",
    ])  # fmt: skip


def test_tail_disclaimer_only_for_advice(composer: Composer) -> None:
    assert composer.tail(make_ctx("x")) == ""
    ctx = make_ctx("x", refusal="不行", recommendations=(STEP,))
    assert composer.tail(ctx) == composer.text("zh", "disclaimer")


def test_excerpt_cuts_at_a_sentence_end() -> None:
    sentence = "这是一个很长的句子，用来测试摘录在句号处截断的行为。"
    text = sentence * 8
    cut = _excerpt(text)
    assert cut.endswith("。") and len(cut) <= 160
    assert cut == sentence * (len(cut) // len(sentence))
    assert _excerpt("短句\n  换行") == "短句 换行"
