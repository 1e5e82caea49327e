"""Turn latency: ``Advisor.reply`` p50/p95 on the shipped knowledge base (target p95 <= 50 ms),
and what a long message costs against a short one (target: 2,000 characters <= 10x 200).

Run: ``.venv/bin/python bench/bench_turn.py [--rounds 3]``. Prints figures; asserts nothing. The base
of the ratio is one hybrid search measured in the same run (what a plain RAG turn pays at least).
Peak allocations are measured in a pass of their own: tracing every allocation made the timed
Python work several times slower (Advisor.reply p50 about 100 ms traced, 20 ms untraced).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path

from bot.advisor import Advisor
from bot.evaluation import DiagnosisCase, load_diagnosis_cases
from core.settings import Settings
from knowledge.index import SearchIndex

EVAL = Path(__file__).resolve().parent / "eval" / "diagnosis.yaml"
LONG_TEXTS = (EVAL.with_name("diagnosis_heldout.yaml"), EVAL.with_name("diagnosis_dev.yaml"))
"""Messages the timed replay never sends (30,000 characters in all)."""
SHORT_CHARS, LONG_CHARS = 200, 2000


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def mean_ms(fn: Callable[[str], object], texts: list[str]) -> float:
    """The mean time of ``fn`` over ``texts``, in milliseconds."""
    started = time.perf_counter()
    for text in texts:
        fn(text)
    return (time.perf_counter() - started) / len(texts) * 1000


def replay(advisor: Advisor, index: SearchIndex, cases: list[DiagnosisCase],
           rounds: int) -> dict[str, list[float]]:  # fmt: skip
    """Every message of ``cases``, ``rounds`` times: one hybrid search, then reply(); and one
    diagnose() of each case's first message. Seconds per call."""
    samples: dict[str, list[float]] = {"search": [], "reply": [], "diagnose": []}
    for _ in range(rounds):
        for case in cases:
            session = uuid.uuid4().hex
            for text in case.turns:
                started = time.perf_counter()
                index.search(text, 5)
                samples["search"].append(time.perf_counter() - started)
                started = time.perf_counter()
                advisor.reply(session, text)
                samples["reply"].append(time.perf_counter() - started)
            started = time.perf_counter()
            advisor.diagnose(case.turns[0])
            samples["diagnose"].append(time.perf_counter() - started)
    return samples


def long_messages(settings: Settings, index: SearchIndex) -> None:
    """The mean cost of 2,000-character messages against 200-character ones cut from the same
    text (held-out and dev messages), for the whole turn and for the understanding alone: at most 10x
    means the text costs no more sent whole than sent in ten pieces. Means, not medians: ten
    short pieces of one text differ more than long ones, so their median sits below their mean
    and made a linear cost read 11x. Each size gets an advisor of its own, so that neither finds
    the clauses of the other in a per-clause cache. Adversarial: digits and numerals without a
    break, a different digit each time."""
    texts = [t for path in LONG_TEXTS for case in load_diagnosis_cases(path) for t in case.turns]
    corpus = "".join(t if t[-1] in "。！？!?" else f"{t}。" for t in texts)

    def cut(size: int, chars: int) -> list[str]:
        return [corpus[i : i + size] for i in range(0, chars, size)]

    def numerals(size: int) -> list[str]:
        return [str(d) * (size // 2) + "一二三四五六七八九十" * (size // 20) for d in range(1, 10)]

    def fresh() -> Advisor:
        advisor = Advisor(settings, index=index)
        advisor.diagnose("预热 借呗没额度")
        return advisor

    def reply(advisor: Advisor) -> Callable[[str], object]:
        return lambda text: advisor.reply(uuid.uuid4().hex, text)

    def understand(advisor: Advisor) -> Callable[[str], object]:
        return advisor.engine.understander.understand

    rows = (
        ("Advisor.reply", reply, 3 * LONG_CHARS, cut),
        ("understanding alone", understand, 10 * LONG_CHARS, cut),
        ("understanding, digits+numerals", understand, 0, lambda size, _: numerals(size)),
    )
    print(f"\n{'long messages':<34}{f'{SHORT_CHARS} ch ms':>11}{f'{LONG_CHARS} ch ms':>12}"
          f"{'ratio':>8}")  # fmt: skip
    for name, call, chars, messages in rows:
        small = mean_ms(call(fresh()), messages(SHORT_CHARS, chars))
        large = mean_ms(call(fresh()), messages(LONG_CHARS, chars))
        print(f"{name:<34}{small:>11.1f}{large:>12.1f}{large / small:>7.1f}x")


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
        index.search("预热 借呗没额度", 5)  # opens the vector store
        samples = replay(advisor, index, cases, args.rounds)
        base = percentiles(samples["search"])
        print(f"{len(samples['reply'])} turns over {len(cases)} cases x {args.rounds} rounds")
        print(f"{'what':<34}{'p50 ms':>9}{'p95 ms':>9}{'p95 / base':>12}")
        for name, key in (("hybrid search alone (base)", "search"),
                          ("Advisor.reply (SQLite session)", "reply"),
                          ("Advisor.diagnose (no session)", "diagnose")):  # fmt: skip
            p50, p95 = percentiles(samples[key])
            print(f"{name:<34}{p50:>9.1f}{p95:>9.1f}{p95 / base[1]:>11.1f}x")
        long_messages(settings, index)
        tracemalloc.start()
        replay(advisor, index, cases, 1)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"\npeak Python allocations during one round (traced apart): {peak / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
