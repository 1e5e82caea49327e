"""Fixtures of the fast unit layer: the shipped knowledge, an engine over an in-memory retriever.

No search index, no embedding model, no network: ``FakeRetriever`` implements the ``Retriever``
protocol over a handful of hand-made chunks with character-bigram keyword scoring.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from bot.context import TurnContext
from bot.engine import Engine
from bot.knowledge import Knowledge, load_knowledge
from bot.profile import Dialogue, Profile
from bot.retriever import Mode
from bot.understand import Understanding
from core.settings import PACKAGE_KNOWLEDGE_DIR, PROMPTS_DIR
from knowledge.index import Chunk, Hit

SHIPPED = PACKAGE_KNOWLEDGE_DIR


def make_chunk(doc_id: str, n: int, heading: str, text: str, title: str = "") -> Chunk:
    """One chunk of ``doc_id`` under ``heading``."""
    title = title or doc_id
    return Chunk(
        chunk_id=f"{doc_id}#{n}",
        doc_id=doc_id,
        title=title,
        heading=heading,
        heading_path=f"{title} > {heading}",
        text=text,
        kind="document",
        updated="2026-01-01",
    )


CHUNKS: tuple[Chunk, ...] = (
    make_chunk("overdue-impact", 0, "是什么", "逾期是指到了还款日没有按时足额还款。"),
    make_chunk("overdue-impact", 1, "逾期后怎么恢复", "先还清逾期，不良记录自还清之日起保存5年。"),
    make_chunk("credit-inquiries", 0, "多少次算多", "近期审批查询次数多，机构会认为你很缺钱。"),
    make_chunk("multi-lending", 0, "怎么改善", "结清小额网贷，减少在借机构数量，多头借贷会被拒。"),
    make_chunk("debt-ratio", 0, "怎么降负债率", "负债率高时先还高息借款，降低信用卡使用率。"),
    make_chunk("jiebei", 0, "额度、期限与成本", "借呗额度由平台评估，借呗年化利率以页面展示为准。"),
    make_chunk(
        "jiebei", 1, "为什么有入口却没有额度", "借呗有入口没额度，说明平台暂时没有给你授信。"
    ),
    make_chunk("jiebei-no-limit-causes", 0, "常见原因", "信用记录太少、资料不全都会导致没有额度。"),
    make_chunk("limit-cut-remedies", 0, "降额后怎么办", "平台整体收紧会导致降额，不要反复申请。"),
    make_chunk(
        "interest-rate-caps", 0, "先说结论", "民间借贷利率上限是LPR四倍，超过24%属于高成本。"
    ),
)


def _bigrams(text: str) -> set[str]:
    text = "".join(text.lower().split())
    return {text[i : i + 2] for i in range(len(text) - 1)}


class FakeRetriever:
    """A real ``Retriever``: scores chunks by the query's character bigrams found in them.

    ``bm25`` returns only chunks sharing a bigram with the query; ``hybrid`` and ``dense`` rank
    every chunk (like nearest neighbours, they always return something).
    """

    def __init__(self, chunks: Sequence[Chunk] = CHUNKS) -> None:
        self.chunks = tuple(chunks)
        self.calls: list[tuple[str, int, str]] = []
        self.dense_queries: list[str | None] = []

    def _score(self, query: str, chunk: Chunk) -> float:
        grams = _bigrams(query)
        return float(sum(1 for g in grams if g in chunk.search_text().lower()))

    def search(
        self, query: str, k: int = 5, *, mode: Mode = "hybrid", dense_query: str | None = None
    ) -> list[Hit]:
        """The ``k`` best chunks for ``query``, best first (no dense ranking to embed
        ``dense_query``: it is recorded in ``dense_queries``)."""
        self.calls.append((query, k, mode))
        self.dense_queries.append(dense_query)
        scored = [Hit(c, self._score(query, c)) for c in self.chunks]
        if mode == "bm25":
            scored = [h for h in scored if h.score > 0]
        scored.sort(key=lambda h: -h.score)  # stable: ties keep chunk order
        return scored[:k]

    def best_chunk_per_doc(self, query: str) -> dict[str, Chunk]:
        """Each document's highest-scoring chunk (the first on ties)."""
        best: dict[str, tuple[float, Chunk]] = {}
        for chunk in self.chunks:
            score = self._score(query, chunk)
            if chunk.doc_id not in best or score > best[chunk.doc_id][0]:
                best[chunk.doc_id] = (score, chunk)
        return {doc_id: chunk for doc_id, (_, chunk) in best.items()}


@pytest.fixture(scope="session")
def knowledge() -> Knowledge:
    """The shipped knowledge bundle (loaded once)."""
    return load_knowledge(SHIPPED, PROMPTS_DIR)


@pytest.fixture
def retriever() -> FakeRetriever:
    """A fresh in-memory retriever over ``CHUNKS``."""
    return FakeRetriever()


@pytest.fixture
def engine(knowledge: Knowledge, retriever: FakeRetriever) -> Engine:
    """The engine on the shipped knowledge with the fake retriever and no LLM."""
    return Engine.build(knowledge, retriever)


def understanding(
    facts: dict[str, Any] | None = None,
    *,
    evidence: dict[str, str] | None = None,
    hints: dict[str, str] | None = None,
    **fields: Any,
) -> Understanding:
    """An ``Understanding`` by hand (evidence defaults to the fact's value as text)."""
    facts = facts or {}
    evidence = evidence if evidence is not None else {k: str(v) for k, v in facts.items()}
    return Understanding(facts=facts, evidence=evidence, hints=hints or {}, **fields)


def make_ctx(
    text: str = "",
    *,
    profile: Profile | None = None,
    previous: Profile | None = None,
    dialogue: Dialogue | None = None,
    dialogue_before: Dialogue | None = None,
    u: Understanding | None = None,
    **fields: Any,
) -> TurnContext:
    """A ``TurnContext`` by hand; ``fields`` are any other context fields."""
    ctx = TurnContext(
        text=text,
        previous=previous or Profile(),
        dialogue_before=dialogue_before or Dialogue(),
        understanding=u or Understanding(),
        profile=profile or Profile(),
        dialogue=dialogue or Dialogue(),
    )
    return dataclasses.replace(ctx, **fields)


@pytest.fixture
def ctx_factory() -> Callable[..., TurnContext]:
    """``make_ctx`` as a fixture, for tests that prefer injection."""
    return make_ctx
