"""Hybrid retrieval over the knowledge base (BM25 + Chroma vectors, RRF), offline."""

from .chunking import Chunk, chunk_markdown
from .embeddings import E5Embeddings, load_embeddings, register_embeddings
from .retriever import HybridRetriever
from .search_index import FusionWeights, Hit, IndexReport, SearchIndex, doc_ranking

__all__ = [
    "Chunk",
    "E5Embeddings",
    "FusionWeights",
    "Hit",
    "HybridRetriever",
    "IndexReport",
    "SearchIndex",
    "chunk_markdown",
    "doc_ranking",
    "load_embeddings",
    "register_embeddings",
]
