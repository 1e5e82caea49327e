"""The compose and polish stages: lead first, follow-up last, then sources and disclaimer."""

from __future__ import annotations

from types import MappingProxyType

from bot import pipeline
from bot.context import Passage
from bot.engine import Engine
from bot.profile import Dialogue, Profile
from bot.turn import Citation, FollowUp, Reason, Recommendation, Warning
from tests.unit.conftest import make_ctx, understanding

QUESTION = FollowUp(field="overdue", question="你现在有逾期吗？")
REASON = Reason(
    code="high_debt",
    label="负债偏高",
    confidence=0.9,
    evidence="每月还款占收入七成以上",
    advice="先降负债。",
    citations=["debt-ratio#怎么降负债率"],
)
CITATION = Citation(
    n=1, doc_id="debt-ratio", heading="怎么降负债率", title="负债率", updated="2026-01-01"
)


def _tpl(engine: Engine, key: str, lang: str = "zh", **values: object) -> str:
    return engine.knowledge.template(lang, key, **values)


def test_compose_short_route_is_one_template(engine: Engine) -> None:
    ctx = make_ctx("谢谢", route="short", short_reply="thanks")
    out = pipeline.compose(ctx, engine)
    assert out.draft == out.reply == _tpl(engine, "thanks")


def test_compose_puts_the_lead_first_and_the_question_last(engine: Engine) -> None:
    ctx = make_ctx(
        "帮我做流水",
        u=understanding(intent="unsafe"),
        show_diagnosis=True,
        reasons=(REASON,),
        refusal="我不能帮你做假流水。",
        warnings=(Warning(code="scam_risk", message="警惕诈骗"),),
        follow_up=QUESTION,
        markers=MappingProxyType({"debt-ratio#怎么降负债率": "[1]"}),
    )
    draft = pipeline.compose(ctx, engine).draft
    parts = draft.split("\n\n")
    assert parts[0] == "我不能帮你做假流水。"
    assert parts[-1] == _tpl(engine, "follow_up", question="你现在有逾期吗？")
    assert "每月还款占收入七成以上" in parts[1] and parts[1].endswith("[1]")
    assert parts[-2] == _tpl(engine, "warnings_header") + "\n- ⚠️ 警惕诈骗"


def test_compose_acknowledges_a_skip(engine: Engine) -> None:
    ctx = make_ctx(
        "跳过",
        u=understanding(skip=True, intent="diagnose"),
        dialogue_before=Dialogue(asked=("lender_count",)),
        follow_up=QUESTION,
    )
    draft = pipeline.compose(ctx, engine).draft
    assert draft.split("\n\n")[0] == _tpl(engine, "skip_ack")


def test_compose_says_not_covered_for_a_question_without_passages(engine: Engine) -> None:
    ctx = make_ctx("量子物理是什么", u=understanding(intent="ask_product"), passages=())
    assert pipeline.compose(ctx, engine).draft == _tpl(engine, "not_covered_short")


def test_compose_quotes_passages_with_their_markers(engine: Engine) -> None:
    ctx = make_ctx(
        "利率上限是多少",
        u=understanding(intent="ask_product"),
        passages=(Passage("interest-rate-caps", "先说结论", "利率上限", "上限是LPR四倍。"),),
        markers=MappingProxyType({"interest-rate-caps#先说结论": "[1]"}),
    )
    draft = pipeline.compose(ctx, engine).draft
    assert draft == _tpl(engine, "answer_header") + "\n- 上限是LPR四倍。[1]"


def test_compose_heads_credit_steps_as_no_new_borrowing_when_lenders_are_out(
    engine: Engine,
) -> None:
    step = Recommendation(
        channel="credit_improvement",
        product="close-small-online-loans",
        title="结清小额网贷",
        fit=0.8,
        why="先结清",
        apr="不适用",
    )
    ctx = make_ctx(
        "借钱还网贷",
        profile=Profile(borrowing_to_repay=True, need_purpose="repay_debt"),
        show_diagnosis=True,
        recommendations=(step,),
    )
    draft = pipeline.compose(ctx, engine).draft
    assert _tpl(engine, "recs_none_debt") in draft
    assert _tpl(engine, "recs_header") not in draft


def test_polish_appends_sources_and_the_disclaimer(engine: Engine) -> None:
    ctx = make_ctx(
        "x",
        show_diagnosis=True,
        reasons=(REASON,),
        citations=(CITATION,),
        draft="正文",
    )
    out = pipeline.polish(ctx, engine)
    sources = (
        _tpl(engine, "sources_header")
        + "\n"
        + _tpl(
            engine,
            "source_line",
            n=1,
            title="负债率",
            anchor="debt-ratio#怎么降负债率",
            updated="2026-01-01",
        )
    )
    assert out.reply == "\n\n".join(["正文", sources, _tpl(engine, "disclaimer")])
    assert out.llm is None


def test_polish_without_advice_adds_no_disclaimer(engine: Engine) -> None:
    ctx = make_ctx("x", draft="只是回答", reasons=(REASON,), show_diagnosis=False)
    assert pipeline.polish(ctx, engine).reply == "只是回答"


def test_polish_in_english_uses_english_templates(engine: Engine) -> None:
    ctx = make_ctx(
        "x",
        u=understanding(lang="en"),
        show_diagnosis=True,
        reasons=(REASON,),
        draft="Body",
    )
    reply = pipeline.polish(ctx, engine).reply
    assert reply == "Body\n\n" + _tpl(engine, "disclaimer", "en")
