"""Retrieval quality on a labelled question set: recall@1, recall@5 and MRR per method."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from .search_index import Mode, SearchIndex, doc_ranking


class RetrievalCase(BaseModel):
    """One question and the documents that answer it, most relevant first."""

    q: str = Field(min_length=1)
    relevant: list[str] = Field(min_length=1)


@dataclass(frozen=True)
class RetrievalScores:
    """Scores of one method. recall@k: share of questions with a relevant document in the top k."""

    mode: str
    recall_at_1: float
    recall_at_5: float
    mrr: float
    misses: tuple[str, ...]


def load_cases(path: Path) -> list[RetrievalCase]:
    """Load the evaluation questions from YAML."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [RetrievalCase.model_validate(item) for item in raw]


def evaluate(
    index: SearchIndex,
    cases: list[RetrievalCase],
    modes: tuple[Mode, ...] = ("bm25", "dense", "hybrid"),
    on_case: Callable[[], None] | None = None,
) -> list[RetrievalScores]:
    """Score each retrieval method on ``cases`` (documents ranked by their best chunk)."""
    results = []
    for mode in modes:
        hits_1 = hits_5 = 0
        reciprocal = 0.0
        misses = []
        for case in cases:
            docs = doc_ranking(index.search(case.q, 30, mode=mode))
            ranks = [docs.index(d) + 1 for d in case.relevant if d in docs]
            first = min(ranks) if ranks else None
            hits_1 += first == 1
            hits_5 += first is not None and first <= 5
            reciprocal += 1.0 / first if first else 0.0
            if first is None or first > 5:
                misses.append(case.q)
            if on_case:
                on_case()
        n = max(len(cases), 1)
        results.append(RetrievalScores(mode, hits_1 / n, hits_5 / n, reciprocal / n, tuple(misses)))
    return results
