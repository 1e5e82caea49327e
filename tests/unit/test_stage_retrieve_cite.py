"""The retrieve and cite stages: passages that match the words, sources numbered in reply order."""

from __future__ import annotations

from bot import pipeline
from bot.context import Passage
from bot.engine import Engine
from bot.turn import Reason, Recommendation
from tests.unit.conftest import FakeRetriever, make_ctx, understanding


def _reason(code: str, doc_id: str) -> Reason:
    return Reason(code=code, label=code, confidence=0.5, evidence="e", doc_id=doc_id)


def _rec(channel: str, product: str, doc_id: str) -> Recommendation:
    return Recommendation(
        channel=channel, product=product, title=product, fit=0.5, why="", apr="", doc_id=doc_id
    )


def test_retrieve_only_for_product_questions(engine: Engine, retriever: FakeRetriever) -> None:
    ctx = make_ctx("借呗额度", u=understanding(intent="diagnose"))
    assert pipeline.retrieve(ctx, engine) is ctx
    assert retriever.calls == []


def test_retrieve_keeps_hits_that_also_match_the_words(
    engine: Engine, retriever: FakeRetriever
) -> None:
    ctx = make_ctx("借呗有入口没额度", u=understanding(intent="ask_product"))
    out = pipeline.retrieve(ctx, engine)
    assert retriever.calls == [("借呗有入口没额度", 10, "bm25"), ("借呗有入口没额度", 3, "fused")]
    assert out.passages is not None
    assert [(p.doc_id, p.heading) for p in out.passages] == [
        ("jiebei", "为什么有入口却没有额度"),
        ("jiebei", "额度、期限与成本"),
        ("jiebei-no-limit-causes", "常见原因"),
    ]
    assert out.passages[0].updated == "2026-01-01"


def test_retrieve_drops_hits_without_a_shared_word(
    engine: Engine, retriever: FakeRetriever
) -> None:
    ctx = make_ctx("量子物理", u=understanding(intent="ask_product"))
    assert pipeline.retrieve(ctx, engine).passages == ()
    assert retriever.calls == [("量子物理", 10, "bm25")]  # nothing can pass: no fused search


def test_cite_numbers_reasons_plan_recommendations_then_passages(engine: Engine) -> None:
    ctx = make_ctx(
        "借呗开不了",
        show_diagnosis=True,
        reasons=(_reason("credit_score_low", "zhima-credit"),),
        recommendations=(
            _rec("credit_card", "credit-card-spending", "credit-card"),
            _rec("credit_improvement", "lower-card-utilisation-and-debt", "debt-ratio"),
        ),
        passages=(Passage("interest-rate-caps", "先说结论", "利率上限", "上限是LPR四倍"),),
    )
    out = pipeline.cite(ctx, engine)
    assert [(c.n, c.doc_id) for c in out.citations] == [
        (1, "zhima-credit"),
        (2, "debt-ratio"),
        (3, "credit-card"),
        (4, "interest-rate-caps"),
    ]
    assert out.markers["debt-ratio#怎么降负债率"] == "[2]"
    assert out.markers["interest-rate-caps#先说结论"] == "[4]"
    assert out.recommendations[1].citations == ["debt-ratio#怎么降负债率"]


def test_cite_gives_the_same_anchor_the_same_number(engine: Engine) -> None:
    ctx = make_ctx(
        "有入口没额度",
        show_diagnosis=True,
        reasons=(
            _reason("thin_file", "jiebei-no-limit-causes"),
            _reason("profile_incomplete", "jiebei-no-limit-causes"),
            _reason("overdue_record", "overdue-impact"),
        ),
        passages=(
            Passage("jiebei-no-limit-causes", "常见原因", "t", "信用记录太少"),
            Passage("jiebei", "为什么有入口却没有额度", "t", "没有授信"),
        ),
    )
    out = pipeline.cite(ctx, engine)
    assert [(c.n, c.anchor) for c in out.citations] == [
        (1, "jiebei-no-limit-causes#常见原因"),
        (2, "overdue-impact#是什么"),
        (3, "jiebei#为什么有入口却没有额度"),
    ]
    assert (
        out.reasons[0].citations == out.reasons[1].citations == ["jiebei-no-limit-causes#常见原因"]
    )


def test_cite_titles_come_from_the_documents(engine: Engine) -> None:
    ctx = make_ctx("x", show_diagnosis=True, reasons=(_reason("high_debt", "debt-ratio"),))
    citation = pipeline.cite(ctx, engine).citations[0]
    doc = engine.knowledge.documents["debt-ratio"]
    assert (citation.title, citation.updated) == (doc.title, doc.meta.updated.isoformat())


def test_cite_falls_back_to_the_title_for_a_document_without_chunks(engine: Engine) -> None:
    ctx = make_ctx("x", show_diagnosis=True, reasons=(_reason("judicial_risk", "credit-report"),))
    citation = pipeline.cite(ctx, engine).citations[0]
    title = engine.knowledge.documents["credit-report"].title
    assert citation.anchor == f"credit-report#{title}"


def test_cite_numbers_nothing_the_reply_does_not_show(engine: Engine) -> None:
    ctx = make_ctx(
        "x",
        show_diagnosis=False,
        reasons=(_reason("high_debt", "debt-ratio"),),
        recommendations=(_rec("credit_card", "credit-card-spending", "credit-card"),),
    )
    out = pipeline.cite(ctx, engine)
    assert out.citations == ()
    assert dict(out.markers) == {}
    assert out.reasons[0].citations == ["debt-ratio#怎么降负债率"]


def test_cite_numbers_credit_steps_shown_with_a_refusal(engine: Engine) -> None:
    ctx = make_ctx(
        "x",
        refusal="不能帮你",
        reasons=(_reason("high_debt", "debt-ratio"),),
        recommendations=(_rec("credit_improvement", "repay-current-overdue", "overdue-impact"),),
    )
    out = pipeline.cite(ctx, engine)
    assert [c.doc_id for c in out.citations] == ["overdue-impact"]


def test_retrieve_embeds_a_long_message_only_where_it_asks(
    engine: Engine, retriever: FakeRetriever
) -> None:
    text = (
        "花呗从八千降到两千了，平时就自己网购买点日用品，偶尔点个外卖，每个月都按时还清。"
        "去年有笔信用卡逾期过一次，早就还清了，之后再也没有过。这个额度还能恢复吗？"
    )
    ctx = make_ctx(text, u=understanding(intent="ask_product"))
    pipeline.retrieve(ctx, engine)

    assert retriever.calls[-1] == (text, 3, "fused")  # BM25 still reads every word
    focus = retriever.dense_queries[-1]
    assert focus is not None and len(focus) <= pipeline.DENSE_QUERY_SIZE
    assert focus.startswith("花呗从八千降到两千了") and focus.endswith("这个额度还能恢复吗？")
    assert "网购" not in focus


def test_retrieve_embeds_a_short_question_whole(engine: Engine, retriever: FakeRetriever) -> None:
    ctx = make_ctx("借呗有入口没额度", u=understanding(intent="ask_product"))
    pipeline.retrieve(ctx, engine)
    assert retriever.dense_queries[-1] == "借呗有入口没额度"
