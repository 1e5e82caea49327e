"""``run`` over the stage tuple and ``to_turn``: the short route and the structured result."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from bot import pipeline
from bot.apr import apr_from_text
from bot.context import TurnContext
from bot.engine import Engine
from bot.pipeline import PIPELINE, Stage, run, to_turn
from bot.profile import Dialogue, Profile
from bot.turn import Citation, FollowUp, Reason, Recommendation, Warning
from tests.unit.conftest import FakeRetriever, make_ctx, understanding

SHORT_STAGES = ["understand", "classify", "extract", "answer", "merge", "route", "compose"]


def _recording(log: list[str]) -> tuple[Stage, ...]:
    def wrap(stage: Stage) -> Stage:
        def runner(ctx: TurnContext, engine: Engine) -> TurnContext:
            log.append(stage.name)
            return stage.run(ctx, engine)

        return dataclasses.replace(stage, run=runner)

    return tuple(wrap(s) for s in PIPELINE)


def test_pipeline_order_and_short_flags() -> None:
    assert [s.name for s in PIPELINE] == [
        "understand", "classify", "extract", "answer", "merge", "route", "diagnose", "recommend", "guard",
        "follow_up", "retrieve", "respond", "cite", "compose", "polish",
    ]  # fmt: skip
    assert [s.name for s in PIPELINE if s.short] == SHORT_STAGES


def test_run_on_the_short_route_skips_the_other_stages(
    engine: Engine, retriever: FakeRetriever
) -> None:
    log: list[str] = []
    ctx = run(TurnContext(text="你好"), engine, _recording(log))
    assert log == SHORT_STAGES
    assert ctx.reply == engine.knowledge.template("zh", "greeting")
    assert ctx.reasons == () and ctx.recommendations == () and ctx.citations == ()
    assert retriever.calls == []


def test_run_on_the_full_route_runs_every_stage(engine: Engine) -> None:
    log: list[str] = []
    ctx = run(TurnContext(text="借呗有入口但开不了，芝麻分650，没有逾期"), engine, _recording(log))
    assert log == [s.name for s in PIPELINE]
    assert ctx.route == "full"
    assert ctx.reasons[0].code == "credit_score_low"
    assert ctx.follow_up is not None and ctx.follow_up.field == "inquiries_recent"
    assert "jiebei" not in [r.product for r in ctx.recommendations]
    assert ctx.reply.endswith(engine.knowledge.template("zh", "disclaimer"))
    assert ctx.reply.count("[1]") >= 2  # once in the body, once in the source list


def test_run_carries_the_dialogue_into_the_next_turn(engine: Engine) -> None:
    first = run(TurnContext(text="借呗有入口但开不了，芝麻分650，没有逾期"), engine)
    second = run(
        TurnContext(text="跳过", previous=first.profile, dialogue_before=first.dialogue), engine
    )
    assert second.dialogue.asked == ("inquiries_recent", "is_student")
    assert second.dialogue.skipped == ("inquiries_recent",)
    assert second.dialogue.shown == first.dialogue.shown != ()  # the advice shown stays known
    assert second.view == "delta"
    assert second.profile.inquiries_recent is None
    assert second.profile.known() == first.profile.known()
    assert second.reply.startswith(engine.knowledge.template("zh", "skip_ack"))
    assert second.follow_up is not None and second.follow_up.field == "is_student"


def test_to_turn_maps_the_context() -> None:
    reason = Reason(code="high_debt", label="负债偏高", confidence=0.9, evidence="e")
    rec = Recommendation(channel="credit_card", product="p", title="t", fit=0.5, why="", apr="")
    apr = apr_from_text("月息2%")
    ctx = make_ctx(
        "x",
        u=understanding(intent="find_financing", lang="en"),
        profile=Profile(segment="consumer"),
        dialogue=Dialogue(asked=("overdue",)),
        show_diagnosis=True,
        reasons=(reason,),
        recommendations=(rec,),
        warnings=(Warning(code="high_cost", message="m"),),
        missing=("overdue", "segment"),
        citations=(Citation(n=1, doc_id="d", heading="h", title="t"),),
        follow_up=FollowUp(field="overdue", question="q"),
        apr=apr,
        reply="R",
        llm=MappingProxyType({"used": True, "attempts": 1}),
    )
    turn = to_turn(ctx, "s-1")
    assert (turn.session_id, turn.intent, turn.lang, turn.reply) == (
        "s-1",
        "find_financing",
        "en",
        "R",
    )
    assert turn.profile == Profile(segment="consumer")
    assert turn.dialogue.asked == ("overdue",)
    assert turn.reasons == [reason] and turn.recommendations == [rec]
    assert [w.code for w in turn.warnings] == ["high_cost"]
    assert turn.missing == ["overdue", "segment"]
    assert [c.n for c in turn.citations] == [1]
    assert turn.follow_up == FollowUp(field="overdue", question="q")
    assert turn.apr is not None and turn.apr["apr"] == 24.0 and turn.apr["high_cost"] is False
    assert turn.llm == {"used": True, "attempts": 1}


def test_to_turn_hides_what_the_reply_does_not_show() -> None:
    reason = Reason(code="high_debt", confidence=0.9, evidence="e")
    lender = Recommendation(channel="credit_card", product="p", title="t", fit=0.5, why="", apr="")
    ctx = make_ctx("x", u=understanding(lang="fr"), reasons=(reason,), recommendations=(lender,))
    turn = to_turn(ctx)
    assert turn.reasons == [] and turn.recommendations == []
    assert turn.lang == "zh"
    assert turn.apr is None and turn.llm is None


def test_to_turn_keeps_credit_steps_with_a_refusal() -> None:
    step = Recommendation(
        channel="credit_improvement", product="a", title="t", fit=0.7, why="", apr=""
    )
    ctx = make_ctx("x", refusal="不行", recommendations=(step,))
    assert to_turn(ctx).recommendations == [step]


def test_every_stage_returns_a_new_context(engine: Engine) -> None:
    ctx = make_ctx("借呗开不了", u=understanding(intent="diagnose"))
    for stage in (pipeline.merge, pipeline.route, pipeline.diagnose, pipeline.follow_up):
        out = stage(ctx, engine)
        assert out is not ctx
    assert ctx.profile == Profile() and ctx.reasons == ()


def test_a_spent_time_budget_skips_the_optional_stages(engine: Engine) -> None:
    spent = dataclasses.replace(engine, turn_budget=0.0)
    log: list[str] = []
    ctx = run(TurnContext(text="借呗是什么意思"), spent, _recording(log))
    assert "retrieve" not in log and "polish" in log and ctx.over_budget
    assert ctx.reply  # the template answer still comes
    fresh = run(TurnContext(text="借呗是什么意思"), engine)
    assert not fresh.over_budget
