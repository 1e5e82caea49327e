"""Document cards: one vector per document (its title, summary and topics) for ranking documents.

A question often matches a document as a whole better than any one passage of it ("who actually
lends behind Jiebei" against a Chinese document whose English summary says so). Search adds the
card's rank to the rank of the document's passages (``SearchIndex.search``). Cards are embedded
when a document's content hash changes and kept in ``<index>/cards.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from .files import Source

CARDS_FILE = "cards.json"


@dataclass
class DocCards:
    """Card vectors by document id, with the content hash each was embedded from."""

    vectors: dict[str, list[float]] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    _ids: list[str] = field(default_factory=list, init=False, repr=False)
    _matrix: np.ndarray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._ids = list(self.vectors)
        if self._ids:
            self._matrix = np.asarray([self.vectors[i] for i in self._ids], dtype=np.float32)

    @classmethod
    def read(cls, index_dir: Path) -> DocCards:
        """The cards on disk; none when the file is missing or unreadable (search then ranks by
        passages alone)."""
        try:
            data = json.loads((index_dir / CARDS_FILE).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return cls()
        docs = data.get("docs", {}) if isinstance(data, dict) else {}
        return cls(
            vectors={k: list(v["vector"]) for k, v in docs.items()},
            hashes={k: str(v["hash"]) for k, v in docs.items()},
        )

    @classmethod
    def build(
        cls, sources: Iterable[Source], old: DocCards, embeddings: Embeddings
    ) -> tuple[DocCards, int]:
        """Cards for ``sources``: kept from ``old`` when the hash matches, else embedded.
        Returns the cards and how many were embedded."""
        sources = list(sources)
        stale = [s for s in sources if old.hashes.get(s.doc_id) != s.hash]
        fresh = embeddings.embed_documents([s.card() for s in stale]) if stale else []
        kept = {s.doc_id for s in sources} - {s.doc_id for s in stale}
        vectors = {doc_id: old.vectors[doc_id] for doc_id in kept}
        vectors.update({s.doc_id: list(v) for s, v in zip(stale, fresh, strict=True)})
        ordered = {s.doc_id: vectors[s.doc_id] for s in sources}
        return cls(ordered, {s.doc_id: s.hash for s in sources}), len(stale)

    def write(self, index_dir: Path) -> None:
        """Write the cards whole (a temporary file renamed into place)."""
        docs = {
            doc_id: {"hash": self.hashes[doc_id], "vector": [round(x, 6) for x in vector]}
            for doc_id, vector in self.vectors.items()
        }
        tmp = index_dir / f"{CARDS_FILE}.tmp"
        tmp.write_text(json.dumps({"docs": docs}), "utf-8")
        tmp.replace(index_dir / CARDS_FILE)

    def ranking(self, query_vector: list[float], doc_ids: set[str] | None = None) -> list[str]:
        """Document ids by cosine similarity of their card to the query, best first (only
        ``doc_ids`` when given)."""
        if self._matrix is None:
            return []
        scores = self._matrix @ np.asarray(query_vector, dtype=np.float32)
        order = [self._ids[i] for i in np.argsort(-scores)]
        return order if doc_ids is None else [d for d in order if d in doc_ids]
