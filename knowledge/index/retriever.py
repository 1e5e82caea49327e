"""The hybrid search index as a langchain ``BaseRetriever`` returning ``Document``s."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .search_index import Mode, SearchIndex


class HybridRetriever(BaseRetriever):
    """BM25 + dense retrieval fused by RRF; metadata carries doc_id, heading and score."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: SearchIndex
    k: int = 5
    mode: Mode = "hybrid"
    filters: dict[str, list[str]] | None = None
    min_score: float | None = None
    """Drop results scoring below this (higher is more relevant in every mode)."""

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        hits = self.index.search(
            query,
            self.k,
            mode=kwargs.get("mode", self.mode),
            filters=kwargs.get("filters", self.filters),
        )
        return [
            Document(
                page_content=hit.chunk.text,
                metadata={**hit.chunk.metadata(), "score": hit.score},
                id=hit.chunk.chunk_id,
            )
            for hit in hits
            if self.min_score is None or hit.score >= self.min_score
        ]
