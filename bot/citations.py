"""Citations: every source a reply relies on gets its ``[n]``, numbered by one stage.

Anchors are ``doc_id#heading``: the heading is the document's section that best matches the
message, so a citation opens where the answer is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from knowledge import KnowledgeDoc
from knowledge.index import Chunk

from .context import Passage
from .retriever import Retriever
from .turn import Citation


class Resolver:
    """Turns a document id into its best-matching section for one message (searched once)."""

    def __init__(
        self, retriever: Retriever, documents: Mapping[str, KnowledgeDoc], query: str
    ) -> None:
        self.retriever = retriever
        self.documents = documents
        self.query = query
        self._best: dict[str, Chunk] | None = None

    def __call__(self, doc_id: str) -> Citation:
        """The citation of ``doc_id`` (``n`` is 0 until numbered)."""
        if self._best is None:
            self._best = self.retriever.best_chunk_per_doc(self.query)
        doc = self.documents.get(doc_id)
        title, updated = (doc.title, doc.meta.updated.isoformat()) if doc else (doc_id, "")
        chunk = self._best.get(doc_id)
        heading = chunk.heading if chunk is not None else title
        return Citation(n=0, doc_id=doc_id, heading=heading, title=title, updated=updated)

    def anchor(self, doc_id: str) -> str:
        """``doc_id#heading`` for ``doc_id``."""
        return self(doc_id).anchor


class Numbering:
    """Numbers sources in order of first use; the same anchor keeps its number."""

    def __init__(self, resolve: Resolver) -> None:
        self.resolve = resolve
        self.items: list[Citation] = []

    def add(self, anchor: str) -> None:
        """Number a ``doc_id#heading`` anchor (resolving its title and date)."""
        doc_id, _, heading = anchor.partition("#")
        found = self.resolve(doc_id)
        self._add(Citation(n=0, doc_id=doc_id, heading=heading or found.heading,
                           title=found.title, updated=found.updated))  # fmt: skip

    def add_passage(self, passage: Passage) -> None:
        """Number a retrieved passage."""
        self._add(Citation(n=0, doc_id=passage.doc_id, heading=passage.heading,
                           title=passage.title, updated=passage.updated))  # fmt: skip

    def add_all(self, anchors: Iterable[str]) -> None:
        """Number each anchor in turn."""
        for anchor in anchors:
            self.add(anchor)

    def _add(self, citation: Citation) -> None:
        if any(c.doc_id == citation.doc_id and c.heading == citation.heading for c in self.items):
            return
        self.items.append(citation.model_copy(update={"n": len(self.items) + 1}))

    @property
    def markers(self) -> Mapping[str, str]:
        """``doc_id#heading`` -> ``[n]``."""
        return MappingProxyType({c.anchor: f"[{c.n}]" for c in self.items})
