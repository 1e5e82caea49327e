"""The hybrid search index: BM25 over jieba tokens plus dense vectors in Chroma, fused by RRF.

Layout under ``<data_dir>/index``: ``manifest.json`` (embedding, content hash per document),
``chunks.jsonl`` (every chunk with its metadata), ``bm25/`` (bm25s), ``chroma/`` (embedded Chroma).
Users' own documents live as Markdown in ``<data_dir>/user_docs`` and are indexed alongside.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import bm25s

from core.errors import IndexMismatchError, InputError, RetrievalError
from core.settings import Settings

from ..documents import load_documents
from .chunking import Chunk, chunk_markdown, content_hash
from .embeddings import embedding_dim, load_embeddings
from .loaders import load_user_file
from .tokenize import Tokenizer, domain_words
from .vectors import chroma_client, open_collection, reset_collection, where_clause

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "bm25", "dense"]
Filters = dict[str, list[str]]
Progress = Callable[[str, int, int], None]
MANIFEST_VERSION = 2


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


@dataclass
class IndexReport:
    """What an index update did."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks: int = 0
    embedded_chunks: int = 0
    seconds: float = 0.0
    dense: bool = True
    note: str = ""


@dataclass
class _Source:
    doc_id: str
    title: str
    body: str
    origin: str
    kind: str
    channels: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    updated: str = ""
    hash: str = field(init=False)

    def __post_init__(self) -> None:
        meta = f"{self.title}|{self.kind}|{self.channels}|{self.reasons}|{self.updated}"
        self.hash = content_hash(meta + "\n" + self.body)

    def chunks(self) -> list[Chunk]:
        return chunk_markdown(
            self.doc_id,
            self.title,
            self.body,
            kind=self.kind,
            channels=self.channels,
            reasons=self.reasons,
            updated=self.updated,
            origin=self.origin,
        )


@dataclass
class FusionWeights:
    """Reciprocal-rank fusion: score = sum(weight / (k + rank)); higher is more relevant."""

    bm25: float
    dense: float
    k: int
    candidates: int = 50


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


class SearchIndex:
    """Build, update and query the knowledge index; the one owner of its files."""

    def __init__(self, settings: Settings, *, fusion: FusionWeights | None = None) -> None:
        self.settings = settings
        self.dir = settings.index_dir
        self.user_dir = settings.data_dir / "user_docs"
        self.fusion = fusion or FusionWeights(
            bm25=settings.fusion_bm25_weight,
            dense=settings.fusion_dense_weight,
            k=settings.fusion_k,
        )
        words, expansions = domain_words(settings.knowledge_dir)
        self.tokenizer = Tokenizer(words, expansions)
        self.embeddings = load_embeddings(settings.embedding)
        self.embedding_name = settings.embedding if self.embeddings is not None else "none"
        self.dense_note = (
            ""
            if self.embeddings is not None or settings.embedding == "none"
            else f"embedding {settings.embedding} unavailable: BM25 only"
        )
        self._client: Any = None
        self._stores: dict[str, Any] = {}
        self.chunks: list[Chunk] = []
        self._bm25: bm25s.BM25 | None = None
        self._manifest: dict[str, Any] = {}
        self._by_chunk_id: dict[str, Chunk] = {}

    # ---- opening -------------------------------------------------------------------------

    @classmethod
    def open(cls, settings: Settings, **kwargs: Any) -> SearchIndex:
        """Open the index, building or updating it first when documents changed or it is missing."""
        index = cls(settings, **kwargs)
        if index.needs_update():
            index.update()
        else:
            index.load()
        return index

    def _manifest_path(self) -> Path:
        return self.dir / "manifest.json"

    def _read_manifest(self) -> dict[str, Any]:
        try:
            manifest = json.loads(self._manifest_path().read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return manifest if manifest.get("version") == MANIFEST_VERSION else {}

    def needs_update(self) -> bool:
        """True when the index is missing or a document's content hash changed."""
        manifest = self._read_manifest()
        if not manifest or not (self.dir / "chunks.jsonl").exists():
            return True
        known = {k: v["hash"] for k, v in manifest.get("docs", {}).items()}
        return known != {s.doc_id: s.hash for s in self._sources()}

    def load(self) -> None:
        """Load chunks and BM25 from disk and check the vector store matches."""
        manifest = self._read_manifest()
        if not manifest:
            raise RetrievalError("No search index yet; run `finadvisor index`.")
        self._check_embedding(manifest)
        self._manifest = manifest
        self.chunks = [_chunk_from_json(line) for line in self._chunk_lines()]
        self._by_chunk_id = {c.chunk_id: c for c in self.chunks}
        try:
            self._bm25 = bm25s.BM25.load(str(self.dir / "bm25"), show_progress=False)
        except (FileNotFoundError, ValueError, OSError) as exc:
            raise RetrievalError(
                "The BM25 index is damaged; run `finadvisor index --rebuild`."
            ) from exc

    def _chunk_lines(self) -> Iterable[str]:
        with (self.dir / "chunks.jsonl").open(encoding="utf-8") as lines:
            yield from (line for line in lines if line.strip())

    def _check_embedding(self, manifest: dict[str, Any]) -> None:
        built = manifest.get("embedding")
        if built not in {self.embedding_name, "none"} and self.embeddings is None:
            return  # index has vectors but the model cannot load here: BM25 only
        if built != self.embedding_name:
            raise self._mismatch(built)

    def _mismatch(self, built: object) -> IndexMismatchError:
        return IndexMismatchError(
            f"The index was built with embedding {built}, but {self.embedding_name} is "
            "configured; run `finadvisor index --rebuild`."
        )

    def _store(self, origin: str) -> Any:
        if self.embeddings is None:
            raise RetrievalError("Dense retrieval is unavailable: no embedding model loaded.")
        if origin not in self._stores:
            if self._client is None:
                self._client = chroma_client(self.dir, self.settings.chroma_url)
            dim = embedding_dim(self.embeddings)
            self._stores[origin] = open_collection(
                self._client, origin, self.embeddings, self.embedding_name, dim
            )
        return self._stores[origin]

    # ---- building ------------------------------------------------------------------------

    def _sources(self) -> list[_Source]:
        sources = [
            _Source(
                doc_id=d.id,
                title=d.title,
                body=d.body,
                origin="shipped",
                kind=d.meta.kind,
                channels=tuple(d.meta.channels),
                reasons=tuple(d.meta.reasons),
                updated=d.meta.updated.isoformat(),
            )
            for d in load_documents(self.settings.docs_dir)
        ]
        for path in sorted(self.user_dir.glob("*.md")) if self.user_dir.exists() else []:
            title, _, body = path.read_text(encoding="utf-8").partition("\n")
            sources.append(_Source(path.stem, title.lstrip("# ").strip(), body, "user", "user"))
        return sources

    def update(self, *, rebuild: bool = False, progress: Progress | None = None) -> IndexReport:
        """Index what changed since the last build (everything with ``rebuild``)."""
        started = time.perf_counter()
        report = IndexReport(dense=self.embeddings is not None, note=self.dense_note)
        manifest = {} if rebuild else self._read_manifest()
        if manifest and manifest.get("embedding") != self.embedding_name:
            if manifest.get("embedding") != "none" and self.embeddings is not None:
                raise self._mismatch(manifest.get("embedding"))
            manifest = {}  # BM25-only index and a model now available (or the reverse): rebuild
        if not manifest and self.dir.exists():
            shutil.rmtree(self.dir / "bm25", ignore_errors=True)
            if self.embeddings is not None:
                self._reset_vectors()
        old_docs: dict[str, Any] = manifest.get("docs", {})
        old_chunks = {c.chunk_id: c for c in self._load_old_chunks()} if manifest else {}
        sources = self._sources()
        changed = [s for s in sources if old_docs.get(s.doc_id, {}).get("hash") != s.hash]
        removed = sorted(set(old_docs) - {s.doc_id for s in sources})
        report.added = sum(1 for s in changed if s.doc_id not in old_docs)
        report.updated = len(changed) - report.added
        report.removed = len(removed)
        report.unchanged = len(sources) - len(changed)

        fresh = {s.doc_id: s.chunks() for s in changed}
        if self.embeddings is not None:
            stale = removed + [s.doc_id for s in changed if s.doc_id in old_docs]
            self._delete_vectors(stale, old_docs)
            report.embedded_chunks = self._add_vectors(fresh, progress)
            self._sync_vectors(sources, fresh, old_chunks, progress, report)

        chunks: list[Chunk] = []
        docs_manifest: dict[str, Any] = {}
        for source in sources:
            if source.doc_id in fresh:
                doc_chunks = fresh[source.doc_id]
            else:
                doc_chunks = [
                    old_chunks[cid] for cid in old_docs[source.doc_id].get("chunk_ids", [])
                ]
            chunks.extend(doc_chunks)
            docs_manifest[source.doc_id] = {
                "hash": source.hash,
                "origin": source.origin,
                "title": source.title,
                "chunk_ids": [c.chunk_id for c in doc_chunks],
            }
        self._write(chunks, docs_manifest)
        report.chunks = len(chunks)
        report.seconds = time.perf_counter() - started
        return report

    def _load_old_chunks(self) -> list[Chunk]:
        if not (self.dir / "chunks.jsonl").exists():
            return []
        return [_chunk_from_json(line) for line in self._chunk_lines()]

    def _reset_vectors(self) -> None:
        if self._client is None:
            self._client = chroma_client(self.dir, self.settings.chroma_url)
        for origin in ("shipped", "user"):
            reset_collection(self._client, origin)
        self._stores.clear()

    def _delete_vectors(self, doc_ids: list[str], old_docs: dict[str, Any]) -> None:
        for doc_id in doc_ids:
            entry = old_docs.get(doc_id, {})
            ids = entry.get("chunk_ids", [])
            if ids:
                self._store(entry.get("origin", "shipped")).delete(ids=ids)

    def _add_vectors(self, fresh: dict[str, list[Chunk]], progress: Progress | None) -> int:
        pending = [c for chunks in fresh.values() for c in chunks]
        total, done, batch = len(pending), 0, 32
        for start in range(0, total, batch):
            part = pending[start : start + batch]
            for origin in {c.origin for c in part}:
                group = [c for c in part if c.origin == origin]
                self._store(origin).add_texts(
                    texts=[c.search_text() for c in group],
                    metadatas=[c.metadata() for c in group],
                    ids=[c.chunk_id for c in group],
                )
            done += len(part)
            if progress:
                progress("embedding", done, total)
        return total

    def _sync_vectors(
        self,
        sources: list[_Source],
        fresh: dict[str, list[Chunk]],
        old_chunks: dict[str, Chunk],
        progress: Progress | None,
        report: IndexReport,
    ) -> None:
        """Re-embed unchanged documents whose vectors are missing (e.g. a new Chroma server)."""
        for origin in ("shipped", "user"):
            expected = [
                c for s in sources if s.origin == origin for c in (fresh.get(s.doc_id) or [])
            ]
            expected_ids = {c.chunk_id for c in expected}
            wanted = {cid: c for cid, c in old_chunks.items() if c.origin == origin}
            wanted.update({c.chunk_id: c for c in expected})
            live = {s.doc_id for s in sources if s.origin == origin}
            wanted = {cid: c for cid, c in wanted.items() if c.doc_id in live}
            if not wanted:
                continue
            store = self._store(origin)
            present = set(store.get(ids=list(wanted), include=[])["ids"])
            missing = [
                c for cid, c in wanted.items() if cid not in present and cid not in expected_ids
            ]
            if missing:
                by_doc: dict[str, list[Chunk]] = {}
                for chunk in missing:
                    by_doc.setdefault(chunk.doc_id, []).append(chunk)
                report.embedded_chunks += self._add_vectors(by_doc, progress)

    def _write(self, chunks: list[Chunk], docs: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / "chunks.jsonl.tmp"
        with tmp.open("w", encoding="utf-8") as out:
            for chunk in chunks:
                out.write(json.dumps(asdict(chunk), ensure_ascii=False) + "\n")
        tmp.replace(self.dir / "chunks.jsonl")
        retriever = bm25s.BM25()
        corpus = [self.tokenizer.tokens(c.search_text()) for c in chunks] or [["~"]]
        retriever.index(corpus, show_progress=False)
        shutil.rmtree(self.dir / "bm25", ignore_errors=True)
        retriever.save(str(self.dir / "bm25"), show_progress=False)
        manifest = {
            "version": MANIFEST_VERSION,
            "embedding": self.embedding_name,
            "dim": embedding_dim(self.embeddings) if self.embeddings is not None else None,
            "docs": docs,
        }
        tmp_manifest = self.dir / "manifest.json.tmp"
        tmp_manifest.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), "utf-8")
        tmp_manifest.replace(self._manifest_path())
        self.chunks, self._bm25, self._manifest = chunks, retriever, manifest
        self._by_chunk_id = {c.chunk_id: c for c in chunks}

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
        self, query: str, k: int = 5, *, mode: Mode = "hybrid", filters: Filters | None = None
    ) -> list[Hit]:
        """The ``k`` best chunks for ``query``, best first."""
        if self._bm25 is None:
            self.load()
        if mode == "bm25" or (mode == "hybrid" and not self.dense_available):
            return self._bm25_search(query, k, filters)
        if mode == "dense":
            return self._dense_search(query, k, filters)
        n = max(self.fusion.candidates, k)
        fused: dict[str, float] = {}
        by_id: dict[str, Chunk] = {}
        rankings = (
            (self.fusion.bm25, self._bm25_search(query, n, filters)),
            (self.fusion.dense, self._dense_search(query, n, filters)),
        )
        for weight, hits in rankings:
            for rank, hit in enumerate(hits, start=1):
                by_id[hit.chunk.chunk_id] = hit.chunk
                fused[hit.chunk.chunk_id] = fused.get(hit.chunk.chunk_id, 0.0) + weight / (
                    self.fusion.k + rank
                )
        best = sorted(fused.items(), key=lambda item: -item[1])[:k]
        return [Hit(by_id[cid], score) for cid, score in best]

    def _bm25_search(self, query: str, k: int, filters: Filters | None) -> list[Hit]:
        assert self._bm25 is not None
        tokens = self.tokenizer.query_tokens(query)
        if not tokens or not self.chunks:
            return []
        n = len(self.chunks) if filters else min(len(self.chunks), max(k, 1))
        ids, scores = self._bm25.retrieve([tokens], k=n, show_progress=False, n_threads=1)
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
            self.load()
        assert self._bm25 is not None
        tokens = [t for t in self.tokenizer.query_tokens(query) if t in self._bm25.vocab_dict]
        best: dict[str, tuple[float, Chunk]] = {}
        scores = self._bm25.get_scores(tokens) if tokens else [0.0] * len(self.chunks)
        for chunk, score in zip(self.chunks, scores, strict=False):
            if chunk.doc_id not in best or score > best[chunk.doc_id][0]:
                best[chunk.doc_id] = (float(score), chunk)
        return {doc_id: chunk for doc_id, (_, chunk) in best.items()}

    def _dense_search(self, query: str, k: int, filters: Filters | None) -> list[Hit]:
        if not self.dense_available:
            return []
        assert self.embeddings is not None
        vector = self.embeddings.embed_query(query)
        where = where_clause(filters)
        hits: list[Hit] = []
        docs = self._manifest.get("docs", {})
        origins = sorted({e.get("origin", "shipped") for e in docs.values()} or {"shipped"})
        for origin in origins:
            results = self._store(origin).similarity_search_by_vector_with_relevance_scores(
                vector, k=k, filter=where
            )
            # langchain-chroma returns the cosine *distance* here; report similarity instead
            for document, distance in results:
                chunk = self._by_chunk_id.get(str(document.metadata.get("chunk_id")))
                if chunk is not None:
                    hits.append(Hit(chunk, 1.0 - float(distance)))
        hits.sort(key=lambda h: -h.score)
        return hits[:k]


def _chunk_from_json(line: str) -> Chunk:
    data = json.loads(line)
    data["channels"] = tuple(data.get("channels", ()))
    data["reasons"] = tuple(data.get("reasons", ()))
    return Chunk(**data)


def doc_ranking(hits: Iterable[Hit]) -> list[str]:
    """Distinct doc ids in the order of their best chunk."""
    seen: dict[str, None] = {}
    for hit in hits:
        seen.setdefault(hit.chunk.doc_id, None)
    return list(seen)


__all__ = ["FusionWeights", "Hit", "IndexReport", "SearchIndex", "doc_ranking"]
