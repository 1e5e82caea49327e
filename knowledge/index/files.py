"""The index's files and stores: manifest, chunks, sources, Chroma collections (shared state)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bm25s

from core.errors import IndexMismatchError, RetrievalError

from ..documents import load_documents
from .cards import DocCards
from .chunking import Chunk, chunk_markdown, content_hash
from .config import FusionWeights, IndexConfig
from .embeddings import embedding_dim, load_embeddings
from .tokenize import Tokenizer, domain_words, english_glossary
from .vectors import chroma_client, open_collection

Progress = Callable[[str, int, int], None]
MANIFEST_VERSION = 3
CARD_CHARS = 600
"""A user document's card is its title and the first this many characters."""

OPEN_LOCK = threading.RLock()
"""Held while the index or its vector store is opened (a Chroma client is not safe to open twice
concurrently in one process: "Could not connect to tenant default_tenant")."""


@dataclass
class Source:
    """One document to index (shipped or the user's), with its content hash."""

    doc_id: str
    title: str
    body: str
    origin: str
    kind: str
    channels: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    updated: str = ""
    summary: str = ""
    topics: tuple[str, ...] = ()
    hash: str = field(init=False)

    def __post_init__(self) -> None:
        meta = f"{self.title}|{self.kind}|{self.channels}|{self.reasons}|{self.updated}"
        meta += f"|{self.summary}|{self.topics}"
        self.hash = content_hash(meta + "\n" + self.body)

    def card(self) -> str:
        """The document as a whole, for document-level matching: title, summary and topics
        (a user's document: its title and opening)."""
        if self.summary or self.topics:
            return f"{self.title}\n{self.summary}\n{'、'.join(self.topics)}"
        return f"{self.title}\n{self.body[:CARD_CHARS]}"

    def chunks(self) -> list[Chunk]:
        """The document cut into chunks."""
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


def chunk_from_json(line: str) -> Chunk:
    """A chunk read back from ``chunks.jsonl``."""
    data = json.loads(line)
    data["channels"] = tuple(data.get("channels", ()))
    data["reasons"] = tuple(data.get("reasons", ()))
    return Chunk(**data)


class IndexFiles:
    """Owns the index directory: what is on disk and the stores that hold the vectors."""

    def __init__(self, config: IndexConfig, *, fusion: FusionWeights | None = None) -> None:
        self.config = config
        self.dir = config.index_dir
        self.user_dir = config.user_dir
        self.fusion = fusion or config.fusion
        words, expansions = domain_words(config.knowledge_dir)
        self.tokenizer = Tokenizer(words, expansions, english_glossary(config.knowledge_dir))
        self.embeddings = load_embeddings(config.embedding)
        self.embedding_name = config.embedding if self.embeddings is not None else "none"
        self.dense_note = (
            ""
            if self.embeddings is not None or config.embedding == "none"
            else f"embedding {config.embedding} unavailable: BM25 only"
        )
        self._client: Any = None
        self._stores: dict[str, Any] = {}
        self.chunks: list[Chunk] = []
        self._bm25: bm25s.BM25 | None = None
        self._manifest: dict[str, Any] = {}
        self._by_chunk_id: dict[str, Chunk] = {}
        self._cards = DocCards()
        self._user_words: tuple[object, frozenset[str]] = (None, frozenset())

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
        with OPEN_LOCK:  # concurrent first requests must not open two Chroma clients at once
            if origin not in self._stores:
                if self._client is None:
                    self._client = chroma_client(self.dir, self.config.chroma_url)
                dim = embedding_dim(self.embeddings)
                self._stores[origin] = open_collection(
                    self._client, origin, self.embeddings, self.embedding_name, dim
                )
            return self._stores[origin]

    def _sources(self) -> list[Source]:
        sources = [
            Source(
                doc_id=d.id,
                title=d.title,
                body=d.body,
                origin="shipped",
                kind=d.meta.kind,
                channels=tuple(d.meta.channels),
                reasons=tuple(d.meta.reasons),
                updated=d.meta.updated.isoformat(),
                summary=d.meta.summary or "",
                topics=tuple(str(t) for t in d.meta.topics),
            )
            for d in load_documents(self.config.docs_dir)
        ]
        for path in sorted(self.user_dir.glob("*.md")) if self.user_dir.exists() else []:
            title, _, body = path.read_text(encoding="utf-8").partition("\n")
            sources.append(Source(path.stem, title.lstrip("# ").strip(), body, "user", "user"))
        return sources
