"""The understand, extract and answer stages on hand-built contexts."""

from __future__ import annotations

import dataclasses
from typing import Any

from bot import pipeline
from bot.engine import Engine
from bot.profile import Dialogue, Profile
from tests.unit.conftest import make_ctx, understanding


class StubExtractor:
    """Stands in for ``LLMComposer.extract``: returns fixed facts and records each call."""

    def __init__(self, found: dict[str, Any]) -> None:
        self.found = found
        self.calls: list[tuple[str, float]] = []

    def extract(self, message: str, timeout: float) -> dict[str, Any]:
        self.calls.append((message, timeout))
        return dict(self.found)


def _with_llm(engine: Engine, llm: StubExtractor) -> Engine:
    return dataclasses.replace(engine, llm=llm, llm_extract_timeout=3.5)  # type: ignore[arg-type]


def test_understand_reads_facts_intent_and_language(engine: Engine) -> None:
    ctx = pipeline.understand(make_ctx("借呗有入口但开不了，芝麻分650，没有逾期"), engine)
    u = ctx.understanding
    assert dict(u.facts) == {
        "symptom": "cannot_open",
        "platform": "jiebei",
        "overdue": "none",
        "zhima_score": 650,
    }
    assert u.intent == "diagnose"
    assert ctx.lang == "zh"


def test_understand_detects_english(engine: Engine) -> None:
    ctx = pipeline.understand(make_ctx("hello, who are you"), engine)
    assert ctx.lang == "en"
    assert ctx.understanding.intent == "small_talk"


def test_understand_leaves_the_input_context_untouched(engine: Engine) -> None:
    before = make_ctx("征信花了")
    after = pipeline.understand(before, engine)
    assert dict(before.understanding.hints) == {}
    assert dict(after.understanding.hints) == {"frequent_inquiries": "征信花了"}


def test_extract_without_llm_returns_the_same_context(engine: Engine) -> None:
    ctx = make_ctx("我开了个店，想借点钱周转", u=understanding({"segment": "sole_proprietor"}))
    assert pipeline.extract(ctx, engine) is ctx


def test_extract_adds_only_facts_the_rules_and_profile_lack(engine: Engine) -> None:
    llm = StubExtractor({"segment": "sme", "platform": "mybank", "need_purpose": "inventory"})
    ctx = make_ctx(
        "我开了个店，想借点钱周转",
        u=understanding({"segment": "sole_proprietor"}, intent="find_financing"),
        previous=Profile(platform="jd"),
    )
    out = pipeline.extract(ctx, _with_llm(engine, llm))
    assert llm.calls == [("我开了个店，想借点钱周转", 3.5)]
    assert dict(out.understanding.facts) == {
        "segment": "sole_proprietor",
        "need_purpose": "inventory",
    }
    assert out.understanding.evidence["need_purpose"] == "（模型理解）我开了个店，想借点钱周转"


def test_extract_skips_small_talk_short_text_and_complete_key_facts(engine: Engine) -> None:
    llm = StubExtractor({"platform": "mybank"})
    eng = _with_llm(engine, llm)
    small_talk = make_ctx("你好啊，今天怎么样", u=understanding(intent="small_talk"))
    short = make_ctx("借钱", u=understanding(intent="find_financing"))
    complete = make_ctx(
        "银行给我降额了，想用来进货",
        u=understanding({"need_purpose": "inventory"}),
        previous=Profile(segment="sme", platform="bank", symptom="limit_cut"),
    )
    for ctx in (small_talk, short, complete):
        assert pipeline.extract(ctx, eng) is ctx
    assert llm.calls == []


def test_answer_without_pending_question_returns_the_same_context(engine: Engine) -> None:
    ctx = make_ctx("B级", u=understanding(intent="ask_product"))
    assert pipeline.answer(ctx, engine) is ctx


def test_answer_fills_the_pending_tax_rating(engine: Engine) -> None:
    ctx = make_ctx(
        "B级",
        u=understanding(intent="ask_product"),
        dialogue_before=Dialogue(asked=("tax_rating",)),
    )
    out = pipeline.answer(ctx, engine)
    assert dict(out.understanding.facts) == {"tax_rating": "B"}
    assert out.understanding.evidence["tax_rating"] == "B级"
    assert out.understanding.intent == "diagnose"


def test_answer_reads_a_bare_amount_as_ten_thousands(engine: Engine) -> None:
    ctx = make_ctx(
        "30",
        u=understanding(intent="ask_product"),
        dialogue_before=Dialogue(asked=("overdue", "need_amount")),
    )
    out = pipeline.answer(ctx, engine)
    assert out.understanding.facts["need_amount"] == 300000


def test_answer_reads_no_as_the_pending_overdue_none(engine: Engine) -> None:
    ctx = make_ctx(
        "没有",
        u=understanding(intent="ask_product"),
        dialogue_before=Dialogue(asked=("overdue",)),
    )
    out = pipeline.answer(ctx, engine)
    assert dict(out.understanding.facts) == {"overdue": "none"}


def test_answer_counts_lenders(engine: Engine) -> None:
    ctx = make_ctx(
        "3家",
        u=understanding(intent="ask_product"),
        dialogue_before=Dialogue(asked=("lender_count",)),
    )
    assert pipeline.answer(ctx, engine).understanding.facts["lender_count"] == 3


def test_answer_does_not_override_a_fact_the_rules_found(engine: Engine) -> None:
    ctx = make_ctx(
        "有过逾期",
        u=understanding({"overdue": "past"}, intent="diagnose"),
        dialogue_before=Dialogue(asked=("overdue",)),
    )
    out = pipeline.answer(ctx, engine)
    assert dict(out.understanding.facts) == {"overdue": "past"}


def test_answer_to_a_skip_continues_the_diagnosis(engine: Engine) -> None:
    ctx = make_ctx(
        "跳过",
        u=understanding(intent="ask_product", skip=True),
        dialogue_before=Dialogue(asked=("lender_count",)),
    )
    out = pipeline.answer(ctx, engine)
    assert dict(out.understanding.facts) == {}
    assert out.understanding.intent == "diagnose"
