"""Chroma through langchain-chroma: embedded PersistentClient by default, HttpClient for a URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

from core.errors import ConfigError, IndexMismatchError

COLLECTIONS = {"shipped": "finadvisor_shipped", "user": "finadvisor_user"}


def chroma_client(index_dir: Path, url: str | None) -> Any:
    """An embedded client under ``index_dir/chroma``, or an HTTP client for ``url``."""
    settings = ChromaSettings(anonymized_telemetry=False)
    if not url:
        return chromadb.PersistentClient(path=str(index_dir / "chroma"), settings=settings)
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise ConfigError(f"FINADVISOR_CHROMA_URL must look like http://host:port, not {url!r}.")
    port = parsed.port or (443 if parsed.scheme == "https" else 8000)
    return chromadb.HttpClient(
        host=parsed.hostname, port=port, ssl=parsed.scheme == "https", settings=settings
    )


def open_collection(
    client: Any, origin: str, embeddings: Embeddings, embedding_name: str, dim: int
) -> Chroma:
    """Open (or create) one collection and check it was built with this embedding."""
    name = COLLECTIONS[origin]
    expected = {"embedding": embedding_name, "dim": dim, "hnsw:space": "cosine"}
    store = Chroma(
        collection_name=name,
        embedding_function=embeddings,
        client=client,
        collection_metadata=expected,
    )
    found = store._collection.metadata or {}
    if found.get("embedding") != embedding_name or int(found.get("dim", dim)) != dim:
        raise IndexMismatchError(
            f"Collection {name} was built with embedding {found.get('embedding')} "
            f"(dim {found.get('dim')}), not {embedding_name} (dim {dim}); "
            "run `finadvisor index --rebuild`."
        )
    return store


def reset_collection(client: Any, origin: str) -> None:
    """Drop one collection so that it is rebuilt from scratch."""
    try:
        client.delete_collection(COLLECTIONS[origin])
    except Exception:  # noqa: BLE001 - chromadb raises different types for "does not exist"
        pass


def where_clause(filters: dict[str, list[str]] | None) -> dict[str, Any] | None:
    """Translate search filters (kind, channels, reasons, doc_id) into a Chroma ``where``."""
    if not filters:
        return None
    clauses: list[dict[str, Any]] = []
    for key, values in filters.items():
        if not values:
            continue
        if key in {"channels", "reasons"}:
            prefix = "ch_" if key == "channels" else "rs_"
            flags = [{f"{prefix}{v}": True} for v in values]
            clauses.append(flags[0] if len(flags) == 1 else {"$or": flags})
        else:
            clauses.append({key: {"$in": list(values)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
