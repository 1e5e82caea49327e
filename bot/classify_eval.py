"""Cross-validated quality of the meaning models on their own training data (``eval models``).

Per head: accuracy (single-label heads) or micro-F1 at the combination threshold (multi-label
heads), and the expected calibration error over ten probability bins: how far the predicted
probabilities are from the observed frequencies (0 is perfect).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import KFold

from .classify import MULTI_HEADS, NONE, SINGLE_HEADS, Meaning, MeaningModel


@dataclass(frozen=True)
class HeadScore:
    """One head's cross-validated figures."""

    head: str
    score: float
    metric: str
    calibration_error: float


def _ece(probabilities: list[float], outcomes: list[bool], bins: int = 10) -> float:
    p, y = np.array(probabilities), np.array(outcomes, dtype=float)
    error = 0.0
    for low in np.linspace(0, 1, bins, endpoint=False):
        inside = (p >= low) & (p < low + 1 / bins)
        if inside.any():
            error += inside.mean() * abs(p[inside].mean() - y[inside].mean())
    return float(error)


def _scores(
    rows: Sequence[dict[str, Any]], predicted: list[Meaning], threshold: float
) -> list[HeadScore]:
    results = []
    for head in SINGLE_HEADS:
        truth = [str(r.get(head)) if r.get(head) is not None else NONE for r in rows]
        best = [max(m.single[head], key=m.single[head].__getitem__) for m in predicted]
        probs = [p for m in predicted for p in m.single[head].values()]
        hits = [
            label == t for m, t in zip(predicted, truth, strict=True) for label in m.single[head]
        ]
        accuracy = float(np.mean([b == t for b, t in zip(best, truth, strict=True)]))
        results.append(HeadScore(head, accuracy, "accuracy", _ece(probs, hits)))
    for head in MULTI_HEADS:
        tp = fp = fn = 0
        probs, hits = [], []
        for row, m in zip(rows, predicted, strict=True):
            gold = set(row.get(head) or [])
            for label, p in m.multi[head].items():
                probs.append(p)
                hits.append(label in gold)
                tp += p >= threshold and label in gold
                fp += p >= threshold and label not in gold
                fn += p < threshold and label in gold
        f1 = 2 * tp / max(2 * tp + fp + fn, 1)
        results.append(HeadScore(head, f1, f"micro-F1 at {threshold:g}", _ece(probs, hits)))
    return results


def cross_validate(
    rows: Sequence[dict[str, Any]], threshold: float, folds: int = 5,
    on_fold: Callable[[], None] | None = None,
) -> tuple[list[HeadScore], float]:  # fmt: skip
    """Out-of-fold figures per head, and the mean fit time in seconds."""
    predicted: list[Meaning | None] = [None] * len(rows)
    fit_seconds = []
    for train, test in KFold(folds, shuffle=True, random_state=0).split(np.arange(len(rows))):
        started = time.perf_counter()
        model = MeaningModel.fit([rows[i] for i in train])
        fit_seconds.append(time.perf_counter() - started)
        for i, meaning in zip(test, model.predict(rows[i]["text"] for i in test), strict=True):
            predicted[i] = meaning
        if on_fold:
            on_fold()
    done = [m for m in predicted if m is not None]
    return _scores(rows, done, threshold), float(np.mean(fit_seconds))
