"""The retriever the engine depends on: two methods, so stages can be tested with a fake.

``knowledge.index.SearchIndex`` implements it over the hybrid index; tests pass a small
in-memory retriever instead of building the shipped index with the real model.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from knowledge.index import Chunk, Hit

Mode = Literal["hybrid", "fused", "bm25", "dense"]
"""``fused``: the hybrid fusion of passages alone, without their documents' evidence."""


@runtime_checkable
class Retriever(Protocol):
    """Searches the knowledge base."""

    def search(
        self, query: str, k: int = 5, *, mode: Mode = "hybrid", dense_query: str | None = None
    ) -> list[Hit]:
        """The ``k`` best chunks for ``query``, best first (higher score = more relevant); a
        dense ranking embeds ``dense_query`` instead when given."""

    def best_chunk_per_doc(self, query: str) -> dict[str, Chunk]:
        """For every document, its chunk that best matches ``query`` (cited heading)."""
