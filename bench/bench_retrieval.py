"""Retrieval benchmark: index build time, query latency p50/p95 per method, at three corpus sizes.

Run: ``.venv/bin/python bench/bench_retrieval.py [--sizes 10000,100000] [--queries 200]``.
Prints figures; asserts nothing. The base of every ratio is a raw Chroma vector query measured
in the same run on the same collection (what any Chroma-backed RAG pays at minimum).
Synthetic corpora reuse the shipped chunks' text and tokens, with random unit vectors.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

import bm25s
import numpy as np

from core.settings import Settings
from knowledge.index import SearchIndex
from knowledge.index.evaluate import load_cases
from knowledge.index.files import MANIFEST_VERSION
from knowledge.index.vectors import chroma_client, open_collection

EVAL = Path(__file__).resolve().parent / "eval" / "retrieval.yaml"


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered) * 1000, p95 * 1000


def timed(fn, queries: list[str]) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    samples = []
    for query in queries:
        started = time.perf_counter()
        fn(query)
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


def measure(index: SearchIndex, queries: list[str], label: str) -> None:
    store = index._store("shipped")._collection
    vectors = {q: index.embeddings.embed_query(q) for q in queries}  # type: ignore[union-attr]
    raw = timed(lambda q: store.query(query_embeddings=[vectors[q]], n_results=50), queries)
    rows = {
        "raw chroma (base)": raw,
        "bm25": timed(lambda q: index.search(q, 5, mode="bm25"), queries),
        "dense (embed+chroma)": timed(lambda q: index.search(q, 5, mode="dense"), queries),
        "hybrid": timed(lambda q: index.search(q, 5, mode="hybrid"), queries),
    }
    print(f"\n{label}: {len(index.chunks)} chunks, {len(queries)} queries")
    print(f"{'method':<22}{'p50 ms':>9}{'p95 ms':>9}{'p95 / base':>12}")
    for name, (p50, p95) in rows.items():
        print(f"{name:<22}{p50:>9.2f}{p95:>9.2f}{p95 / raw[1]:>11.1f}x")


def synthetic(shipped: SearchIndex, size: int, root: Path) -> SearchIndex:
    """An index of ``size`` chunks built from shipped text, with random unit vectors."""
    settings = Settings(data_dir=root, knowledge_dir=shipped.config.knowledge_dir)
    index = SearchIndex.from_settings(settings)
    rng = random.Random(size)
    source = shipped.chunks
    token_pool = [shipped.tokenizer.tokens(c.search_text()) for c in source]
    chunks, corpus = [], []
    for n in range(size):
        a, b = rng.randrange(len(source)), rng.randrange(len(source))
        chunks.append(
            replace(
                source[a],
                chunk_id=f"syn-{n}",
                doc_id=f"syn-{n // 10}",
                text=source[a].text + source[b].text,
            )
        )
        corpus.append(token_pool[a] + token_pool[b])
    index.dir.mkdir(parents=True)
    with (index.dir / "chunks.jsonl").open("w", encoding="utf-8") as out:
        out.writelines(json.dumps(asdict(c), ensure_ascii=False) + "\n" for c in chunks)
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    retriever.save(str(index.dir / "bm25"), show_progress=False)
    client = chroma_client(index.dir, None)
    store = open_collection(client, "shipped", index.embeddings, index.embedding_name, 384)  # type: ignore[arg-type]
    vectors = np.random.default_rng(size).standard_normal((size, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for start in range(0, size, 5000):
        part = chunks[start : start + 5000]
        store._collection.add(
            ids=[c.chunk_id for c in part],
            embeddings=vectors[start : start + 5000],
            metadatas=[c.metadata() for c in part],
            documents=[c.text for c in part],
        )
    manifest = {
        "version": MANIFEST_VERSION,
        "embedding": index.embedding_name,
        "dim": 384,
        "docs": {},
    }
    (index.dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    index.load()
    return index


def main() -> None:
    """Run the benchmark and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    queries = [c.q for c in load_cases(EVAL)]
    queries = (queries * (args.queries // len(queries) + 1))[: args.queries]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "shipped")
        started = time.perf_counter()
        shipped = SearchIndex.from_settings(settings)
        report = shipped.update()
        build = time.perf_counter() - started
        print(
            f"index build (shipped knowledge base): {build:.1f}s for {report.chunks} chunks "
            f"({report.chunks / build:.1f} chunks/s, embedding {report.embedded_chunks})"
        )
        started = time.perf_counter()
        noop = SearchIndex.from_settings(settings).update()
        print(
            f"incremental re-run with nothing changed: {time.perf_counter() - started:.2f}s "
            f"({noop.embedded_chunks} chunks embedded)"
        )
        shipped.search("预热", 5)
        measure(shipped, queries, "shipped knowledge base")
        for size in (int(s) for s in args.sizes.split(",") if s):
            started = time.perf_counter()
            index = synthetic(shipped, size, Path(tmp) / f"syn{size}")
            print(f"\n(synthetic {size} built in {time.perf_counter() - started:.0f}s)")
            measure(index, queries, f"synthetic {size}")


if __name__ == "__main__":
    main()
