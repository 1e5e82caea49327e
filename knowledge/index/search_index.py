"""The hybrid search index: BM25 over jieba tokens plus dense vectors in Chroma, fused by RRF.

Layout under ``<data_dir>/index``: ``manifest.json`` (embedding, content hash per document),
``chunks.jsonl`` (every chunk with its metadata), ``bm25/`` (bm25s), ``chroma/`` (embedded Chroma).
Users' own documents live as Markdown in ``<data_dir>/user_docs`` and are indexed alongside.
Files and stores: ``files.py``; building: ``build.py``; configuration: ``config.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import bm25s

from core.errors import InputError, RetrievalError
from core.settings import Settings

from .build import IndexBuilder, IndexReport
from .cards import DocCards
from .chunking import Chunk, content_hash
from .config import FusionWeights, IndexConfig
from .files import OPEN_LOCK, chunk_from_json
from .loaders import load_user_file
from .vectors import where_clause

Mode = Literal["hybrid", "fused", "bm25", "dense"]
"""``fused``: the hybrid fusion of passages alone, without their documents' evidence."""
_LATIN = re.compile(r"[a-z]+")
QUERY_EMBED_CHARS = 500
"""Dense retrieval embeds the first this many characters of a query (bounded cost)."""
Filters = dict[str, list[str]]


@dataclass(frozen=True)
class Hit:
    """One search result; ``score`` is higher-is-more-relevant in every mode."""

    chunk: Chunk
    score: float

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``finadvisor search --json`` and ``GET /v1/search``."""
        return {
            "doc_id": self.chunk.doc_id,
            "heading": self.chunk.heading,
            "title": self.chunk.title,
            "text": self.chunk.text,
            "score": round(self.score, 6),
        }


def _matches(chunk: Chunk, filters: Filters | None) -> bool:
    if not filters:
        return True
    for key, values in filters.items():
        if not values:
            continue
        if key == "channels":
            ok = bool(set(values) & set(chunk.channels))
        elif key == "reasons":
            ok = bool(set(values) & set(chunk.reasons))
        else:
            ok = str(getattr(chunk, key, "")) in values
        if not ok:
            return False
    return True


class SearchIndex(IndexBuilder):
    """Build, update and query the knowledge index; the one owner of its files."""

    # ---- opening -------------------------------------------------------------------------

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> SearchIndex:
        """An index configured by the application's settings (not yet loaded)."""
        return cls(IndexConfig.from_settings(settings), **kwargs)

    @classmethod
    def open(cls, settings: Settings | IndexConfig, **kwargs: Any) -> SearchIndex:
        """Open the index, building or updating it first when documents changed or it is missing."""
        config = (
            settings if isinstance(settings, IndexConfig) else IndexConfig.from_settings(settings)
        )
        index = cls(config, **kwargs)
        if index.needs_update():
            index.update()
        else:
            index.load()
        return index

    def load(self) -> None:
        """Load chunks and BM25 from disk and check the vector store matches."""
        manifest = self._read_manifest()
        if not manifest:
            raise RetrievalError("No search index yet; run `finadvisor index`.")
        self._check_embedding(manifest)
        self._manifest = manifest
        self.chunks = [chunk_from_json(line) for line in self._chunk_lines()]
        self._by_chunk_id = {c.chunk_id: c for c in self.chunks}
        self._cards = DocCards.read(self.dir)
        try:
            self._bm25 = bm25s.BM25.load(str(self.dir / "bm25"), show_progress=False)
        except (FileNotFoundError, ValueError, OSError) as exc:
            raise RetrievalError(
                "The BM25 index is damaged; run `finadvisor index --rebuild`."
            ) from exc

    def _users_english(self) -> frozenset[str]:
        """English words of the users' own documents: a phrase they use is searched as written
        (the shipped documents' English summaries must not switch the glossary off)."""
        manifest = self._manifest
        if self._user_words[0] is not manifest:
            users = {d for d, e in manifest.get("docs", {}).items() if e.get("origin") == "user"}
            words = frozenset(
                w for c in self.chunks if c.doc_id in users for w in _LATIN.findall(c.text.lower())
            )
            self._user_words = (manifest, words)
        return self._user_words[1]

    # ---- users' documents ----------------------------------------------------------------

    def add_user_files(self, paths: Iterable[Path]) -> list[tuple[Path, str | None]]:
        """Copy users' files in as Markdown; (path, error or None) per file. Call update() after."""
        self.user_dir.mkdir(parents=True, exist_ok=True)
        results: list[tuple[Path, str | None]] = []
        for path in paths:
            try:
                text = load_user_file(path)
            except InputError as exc:
                results.append((path, str(exc)))
                continue
            except Exception as exc:  # noqa: BLE001 - a broken file must not stop the others
                results.append(
                    (path, f"{path.name}: could not be read ({exc.__class__.__name__}).")
                )
                continue
            doc_id = "user-" + (re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-") or "doc")
            doc_id = f"{doc_id}-{content_hash(str(path.resolve()))[:6]}"
            (self.user_dir / f"{doc_id}.md").write_text(f"# {path.stem}\n{text}\n", "utf-8")
            results.append((path, None))
        return results

    def user_documents(self) -> list[dict[str, Any]]:
        """The users' documents in the index: id, title and chunk count."""
        manifest = self._manifest or self._read_manifest()
        return [
            {"doc_id": doc_id, "title": entry["title"], "chunks": len(entry["chunk_ids"])}
            for doc_id, entry in sorted(manifest.get("docs", {}).items())
            if entry.get("origin") == "user"
        ]

    def remove_user_document(self, doc_id: str) -> bool:
        """Delete one user document (call update() after); False when there is none."""
        path = self.user_dir / f"{doc_id}.md"
        if not doc_id.startswith("user-") or not path.exists():
            return False
        path.unlink()
        return True

    # ---- searching -----------------------------------------------------------------------

    @property
    def dense_available(self) -> bool:
        """Whether dense retrieval can run (a model loaded and the index holds vectors)."""
        manifest = self._manifest or self._read_manifest()
        return self.embeddings is not None and manifest.get("embedding") not in {
            None,
            "none",
        }

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        mode: Mode = "hybrid",
        filters: Filters | None = None,
        dense_query: str | None = None,
    ) -> list[Hit]:
        """The ``k`` best chunks for ``query``, best first; the dense ranking embeds
        ``dense_query`` instead when given (a long message's question: embedding costs about
        1 ms a character, BM25 reads the whole message for next to nothing).

        English phrases gain the Chinese terms the documents use (``Tokenizer.translated``). In
        hybrid mode a chunk scores its reciprocal-rank fusion of the BM25 and dense rankings plus
        its document's evidence: its best sibling chunks (``FusionWeights.siblings``) and the rank
        of the document's card (``FusionWeights.card``), so documents rank as wholes and the
        passages within one keep their order.
        """
        if self._bm25 is None:
            with OPEN_LOCK:
                if self._bm25 is None:
                    self.load()
        assert self._bm25 is not None
        english = self._users_english()
        query = self.tokenizer.translated(query, english)
        if mode == "bm25" or (mode in ("hybrid", "fused") and not self.dense_available):
            return self._bm25_search(query, k, filters)
        if mode == "dense" and not self.dense_available:
            return []
        embedded = self.tokenizer.translated(dense_query, english) if dense_query else query
        vector = self._query_vector(embedded)
        if mode == "dense":
            return self._dense_search(vector, k, filters)
        n = max(self.fusion.candidates, k)
        fused: dict[str, float] = {}
        by_id: dict[str, Chunk] = {}
        rankings = (
            (self.fusion.bm25, self._bm25_search(query, n, filters)),
            (self.fusion.dense, self._dense_search(vector, n, filters)),
        )
        for weight, hits in rankings:
            for rank, hit in enumerate(hits, start=1):
                by_id[hit.chunk.chunk_id] = hit.chunk
                fused[hit.chunk.chunk_id] = fused.get(hit.chunk.chunk_id, 0.0) + weight / (
                    self.fusion.k + rank
                )
        bonus = self._document_evidence(fused, by_id, vector) if mode == "hybrid" else {}
        scored = {cid: score + bonus.get(by_id[cid].doc_id, 0.0) for cid, score in fused.items()}
        best = sorted(scored.items(), key=lambda item: -item[1])[:k]
        return [Hit(by_id[cid], score) for cid, score in best]

    def _document_evidence(
        self, fused: dict[str, float], by_id: dict[str, Chunk], vector: list[float]
    ) -> dict[str, float]:
        """Per document: the weighted scores of its next best chunks plus its card's RRF term."""
        per_doc: dict[str, list[float]] = {}
        for cid, score in sorted(fused.items(), key=lambda item: -item[1]):
            per_doc.setdefault(by_id[cid].doc_id, []).append(score)
        weights = self.fusion
        bonus = {
            doc: weights.siblings * sum(scores[1 : 1 + weights.sibling_count])
            for doc, scores in per_doc.items()
        }
        for rank, doc in enumerate(self._cards.ranking(vector), start=1):
            if doc in bonus:
                bonus[doc] += weights.card / (weights.card_k + rank)
        return bonus

    def _bm25_search(self, query: str, k: int, filters: Filters | None) -> list[Hit]:
        assert self._bm25 is not None
        tokens = self.tokenizer.query_tokens(query)
        if not tokens or not self.chunks:
            return []
        n = len(self.chunks) if filters else min(len(self.chunks), max(k, 1))
        # n_threads=0 scores in this thread: 1 started a thread pool for every query (0.6 ms
        # quiet, more when the worker waits for a core), for the same selection
        ids, scores = self._bm25.retrieve([tokens], k=n, show_progress=False, n_threads=0)
        hits = []
        for idx, score in zip(ids[0], scores[0], strict=True):
            chunk = self.chunks[int(idx)]
            if score > 0 and _matches(chunk, filters):
                hits.append(Hit(chunk, float(score)))
                if len(hits) == k:
                    break
        return hits

    def best_chunk_per_doc(self, query: str) -> dict[str, Chunk]:
        """For every document, its chunk with the highest BM25 score for ``query`` (one pass)."""
        if self._bm25 is None:
            with OPEN_LOCK:
                if self._bm25 is None:
                    self.load()
        assert self._bm25 is not None
        query = self.tokenizer.translated(query, self._users_english())
        tokens = [t for t in self.tokenizer.query_tokens(query) if t in self._bm25.vocab_dict]
        best: dict[str, tuple[float, Chunk]] = {}
        scores = self._bm25.get_scores(tokens) if tokens else [0.0] * len(self.chunks)
        for chunk, score in zip(self.chunks, scores, strict=False):
            if chunk.doc_id not in best or score > best[chunk.doc_id][0]:
                best[chunk.doc_id] = (float(score), chunk)
        return {doc_id: chunk for doc_id, (_, chunk) in best.items()}

    def _query_vector(self, query: str) -> list[float]:
        assert self.embeddings is not None
        # the model reads at most 512 tokens anyway; embedding a longer text only costs CPU
        return self.embeddings.embed_query(query[:QUERY_EMBED_CHARS])

    def _dense_search(self, vector: list[float], k: int, filters: Filters | None) -> list[Hit]:
        if not self.dense_available:
            return []
        where = where_clause(filters)
        hits: list[Hit] = []
        docs = self._manifest.get("docs", {})
        origins = sorted({e.get("origin", "shipped") for e in docs.values()} or {"shipped"})
        for origin in origins:
            # the ids are the chunk ids (IndexBuilder._add_vectors): asking for ids and distances
            # alone spares reading every hit's document and metadata (9 of Chroma's 10 ms)
            results = self._store(origin)._collection.query(
                query_embeddings=[vector], n_results=k, where=where, include=["distances"]
            )
            # Chroma returns the cosine *distance*; report similarity instead
            for chunk_id, distance in zip(results["ids"][0], results["distances"][0], strict=True):
                chunk = self._by_chunk_id.get(chunk_id)
                if chunk is not None:
                    hits.append(Hit(chunk, 1.0 - float(distance)))
        hits.sort(key=lambda h: -h.score)
        return hits[:k]


def doc_ranking(hits: Iterable[Hit]) -> list[str]:
    """Distinct doc ids in the order of their best chunk."""
    seen: dict[str, None] = {}
    for hit in hits:
        seen.setdefault(hit.chunk.doc_id, None)
    return list(seen)


__all__ = ["FusionWeights", "Hit", "IndexConfig", "IndexReport", "SearchIndex", "doc_ranking"]
