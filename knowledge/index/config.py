"""The index's own configuration: where it lives, which model embeds, how rankings are fused."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings


@dataclass
class FusionWeights:
    """Reciprocal-rank fusion: score = sum(weight / (k + rank)); higher is more relevant.

    A chunk's hybrid score adds its document's evidence: ``siblings`` times the scores of the
    document's next ``sibling_count`` best chunks, and ``card / (card_k + rank)`` for the rank of
    the document's card (title, summary, topics) among all cards. Set on the own and dev question
    sets (bench/eval/retrieval.yaml, retrieval_dev.yaml), never on the held-out one.
    """

    bm25: float
    dense: float
    k: int
    candidates: int = 50
    siblings: float = 0.3
    sibling_count: int = 2
    card: float = 0.5
    card_k: int = 3


@dataclass(frozen=True)
class IndexConfig:
    """Everything the index needs to know, and nothing else of the application's settings."""

    index_dir: Path
    user_dir: Path
    docs_dir: Path
    knowledge_dir: Path
    embedding: str
    chroma_url: str | None
    fusion: FusionWeights

    @classmethod
    def from_settings(cls, settings: Settings) -> IndexConfig:
        """The index configuration the application's settings describe."""
        return cls(
            index_dir=settings.index_dir,
            user_dir=settings.data_dir / "user_docs",
            docs_dir=settings.docs_dir,
            knowledge_dir=settings.knowledge_dir,
            embedding=settings.embedding,
            chroma_url=settings.chroma_url,
            fusion=FusionWeights(
                bm25=settings.fusion_bm25_weight,
                dense=settings.fusion_dense_weight,
                k=settings.fusion_k,
            ),
        )
