"""The merge and route stages: facts kept and corrected, skips in the dialogue, short replies."""

from __future__ import annotations

import pytest

from bot import pipeline
from bot.context import TurnContext
from bot.engine import Engine
from bot.profile import Dialogue, Profile
from tests.unit.conftest import make_ctx, understanding


def _up_to_route(text: str, engine: Engine) -> TurnContext:
    ctx = make_ctx(text)
    for stage in (pipeline.understand, pipeline.answer, pipeline.merge, pipeline.route):
        ctx = stage(ctx, engine)
    return ctx


def test_merge_keeps_earlier_facts_and_lets_corrections_win(engine: Engine) -> None:
    previous = Profile(
        platform="jiebei",
        zhima_score=600,
        evidence={"platform": "借呗", "zhima_score": "芝麻分600"},
    )
    u = understanding({"zhima_score": 650}, evidence={"zhima_score": "不对，是650"})
    out = pipeline.merge(make_ctx("不对，是650", previous=previous, u=u), engine)
    assert out.profile.platform == "jiebei"
    assert out.profile.zhima_score == 650
    assert out.profile.evidence == {"platform": "借呗", "zhima_score": "不对，是650"}
    assert out.previous.zhima_score == 600


def test_merge_drops_a_hint_a_correction_retracts(engine: Engine) -> None:
    previous = Profile(hints={"overdue_record": "黑户", "frequent_inquiries": "征信花了"})
    u = understanding({"overdue": "none"}, evidence={"overdue": "我没有逾期"})
    out = pipeline.merge(make_ctx("我没有逾期", previous=previous, u=u), engine)
    assert out.profile.overdue == "none"
    assert out.profile.hints == {"frequent_inquiries": "征信花了"}


def test_merge_adds_new_hints(engine: Engine) -> None:
    u = understanding(hints={"multi_lending": "借了好几家"})
    out = pipeline.merge(make_ctx("借了好几家", u=u), engine)
    assert out.profile.hints == {"multi_lending": "借了好几家"}


def test_merge_records_a_skip_in_the_dialogue_not_the_profile(engine: Engine) -> None:
    previous = Profile(platform="jiebei", symptom="cannot_open")
    ctx = make_ctx(
        "跳过",
        previous=previous,
        u=understanding(skip=True),
        dialogue_before=Dialogue(asked=("overdue", "lender_count")),
    )
    out = pipeline.merge(ctx, engine)
    assert out.dialogue == Dialogue(asked=("overdue", "lender_count"), skipped=("lender_count",))
    assert out.profile.lender_count is None
    assert out.profile.known() == {"platform": "jiebei", "symptom": "cannot_open"}


def test_merge_without_skip_carries_the_dialogue_over(engine: Engine) -> None:
    before = Dialogue(asked=("overdue",), skipped=("segment",))
    out = pipeline.merge(make_ctx("有", dialogue_before=before), engine)
    assert out.dialogue == before


@pytest.mark.parametrize(
    ("text", "key"),
    [("你好", "greeting"), ("谢谢", "thanks"), ("今天天气怎么样", "out_of_scope")],
)
def test_route_sends_chit_chat_to_the_short_route(engine: Engine, text: str, key: str) -> None:
    ctx = _up_to_route(text, engine)
    assert ctx.route == "short"
    assert ctx.short_reply == key


def test_route_small_talk_with_credit_facts_takes_the_full_route(engine: Engine) -> None:
    u = understanding({"overdue": "past"}, intent="small_talk")
    ctx = pipeline.route(make_ctx("你好，我以前逾期过", u=u), engine)
    assert ctx.route == "full"
    assert ctx.short_reply is None


def test_route_small_talk_with_only_timing_stays_short(engine: Engine) -> None:
    u = understanding({"urgency": "days", "region": "杭州"}, intent="small_talk")
    ctx = pipeline.route(make_ctx("你好", u=u), engine)
    assert ctx.route == "short"
    assert ctx.short_reply == "greeting"


def test_route_shows_the_diagnosis_for_advice_intents(engine: Engine) -> None:
    for intent in ("diagnose", "find_financing", "unsafe"):
        ctx = pipeline.route(make_ctx("x", u=understanding(intent=intent)), engine)
        assert (ctx.route, ctx.show_diagnosis) == ("full", True), intent


def test_route_hides_the_diagnosis_for_a_bare_product_question(engine: Engine) -> None:
    ctx = pipeline.route(make_ctx("借呗是什么", u=understanding(intent="ask_product")), engine)
    assert (ctx.route, ctx.show_diagnosis) == ("full", False)


def test_route_shows_the_diagnosis_once_a_need_is_stated(engine: Engine) -> None:
    ctx = make_ctx(
        "借呗要多久",
        u=understanding(intent="ask_product"),
        profile=Profile(need_amount=50000),
    )
    assert pipeline.route(ctx, engine).show_diagnosis is True
