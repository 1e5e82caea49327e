"""Turn latency: ``Advisor.reply`` p50/p95 on the shipped knowledge base (target p95 <= 50 ms).

Run: ``.venv/bin/python bench/bench_turn.py [--rounds 3]``. Prints figures; asserts nothing. The base
of the ratio is one hybrid search measured in the same run (what a plain RAG turn pays at least).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

from bot.advisor import Advisor
from bot.evaluation import load_diagnosis_cases
from core.settings import Settings
from knowledge.index import SearchIndex

EVAL = Path(__file__).resolve().parent / "eval" / "diagnosis.yaml"


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def main() -> None:
    """Replay every message of the diagnosis set through reply() and time it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, help="reuse an index built there (default: fresh)")
    args = parser.parse_args()
    cases = load_diagnosis_cases(EVAL)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=args.data_dir or Path(tmp))
        index = SearchIndex.open(settings)
        advisor = Advisor(settings, index=index)
        advisor.diagnose("预热 借呗没额度")
        search, turns, oneshot = [], [], []
        tracemalloc.start()
        for _ in range(args.rounds):
            for case in cases:
                session = uuid.uuid4().hex
                for text in case.turns:
                    started = time.perf_counter()
                    index.search(text, 5)
                    search.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    advisor.reply(session, text)
                    turns.append(time.perf_counter() - started)
                started = time.perf_counter()
                advisor.diagnose(case.turns[0])
                oneshot.append(time.perf_counter() - started)
        _, peak = tracemalloc.get_traced_memory()
        base = percentiles(search)
        print(f"{len(turns)} turns over {len(cases)} cases x {args.rounds} rounds")
        print(f"{'what':<34}{'p50 ms':>9}{'p95 ms':>9}{'p95 / base':>12}")
        for name, samples in (("hybrid search alone (base)", search),
                              ("Advisor.reply (SQLite session)", turns),
                              ("Advisor.diagnose (no session)", oneshot)):  # fmt: skip
            p50, p95 = percentiles(samples)
            print(f"{name:<34}{p50:>9.1f}{p95:>9.1f}{p95 / base[1]:>11.1f}x")
        print(f"peak Python allocations during the run: {peak / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
