"""Building the index: incremental by content hash, vectors kept in step, files written whole."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass
from typing import Any

import bm25s

from .cards import DocCards
from .chunking import Chunk
from .embeddings import embedding_dim
from .files import MANIFEST_VERSION, IndexFiles, Progress, Source, chunk_from_json
from .vectors import chroma_client, reset_collection


@dataclass
class IndexReport:
    """What an index update did."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks: int = 0
    embedded_chunks: int = 0
    embedded_cards: int = 0
    seconds: float = 0.0
    dense: bool = True
    note: str = ""


class IndexBuilder(IndexFiles):
    """Updates the index files and vectors from the documents."""

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
            old_cards = DocCards.read(self.dir) if manifest else DocCards()
            self._cards, report.embedded_cards = DocCards.build(sources, old_cards, self.embeddings)

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
        return [chunk_from_json(line) for line in self._chunk_lines()]

    def _reset_vectors(self) -> None:
        if self._client is None:
            self._client = chroma_client(self.dir, self.config.chroma_url)
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
        sources: list[Source],
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
        if self.embeddings is not None:
            self._cards.write(self.dir)
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
