"""Meaning models: intent, segment, purpose, overdue status, dialogue act and question kind, reason hints and warning triggers,
fitted locally (scikit-learn) on the labelled utterances in ``knowledge/training/*.jsonl``.

Features are character n-grams (TF-IDF over 1-3 characters within word boundaries), which carry
typos, slang and mixed Chinese-English as well as whole words. Each label is a linear scorer
(logistic loss, averaged SGD) with Platt calibration fitted on its out-of-fold scores, so a
probability of 0.7 means about 70 % of such texts carry the label; a single-label head
normalises its labels' probabilities. Fitting takes seconds, is deterministic, and is cached in the
data directory under the hash of the training data, so new data means a new fit and nothing is
downloaded. How the predictions are combined with the rules is ``bot.pipeline.classify``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import StratifiedKFold

log = logging.getLogger(__name__)

SINGLE_HEADS = ("intent", "segment", "purpose", "overdue", "act", "question")
"""One label per utterance (``None`` is a label: the text does not say)."""
MULTI_HEADS = ("hints", "warnings")
"""Any number of labels per utterance."""
NONE = "None"
MODEL_VERSION = 4


def load_utterances(training_dir: Path) -> list[dict[str, Any]]:
    """Every labelled utterance under ``training_dir`` (``*.jsonl``, one object per line)."""
    rows = []
    for path in sorted(training_dir.glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            rows += [json.loads(line) for line in lines if line.strip()]
    return rows


def data_hash(rows: Sequence[Mapping[str, Any]]) -> str:
    """A hash of the training data and the model version (the cache key)."""
    digest = hashlib.sha256(f"v{MODEL_VERSION}".encode())
    for row in rows:
        digest.update(json.dumps(row, ensure_ascii=False, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def _linear(features: Any, target: np.ndarray[Any, Any]) -> SGDClassifier:
    model = SGDClassifier(loss="log_loss", alpha=1e-5, average=True, max_iter=30, tol=None,
                          random_state=0)  # fmt: skip
    return model.fit(features, target)


def _fit_label(features: Any, target: np.ndarray[Any, Any]) -> tuple[Any, float, float, float]:
    """A linear scorer for one label and its Platt calibration fitted on out-of-fold scores."""
    if target.min() == target.max() or int(target.sum()) < 3:  # too rare to learn: never fires
        return np.zeros(features.shape[1]), 0.0, 0.0, -20.0
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    scores = np.zeros(len(target))
    for train, test in folds.split(features, target):
        scores[test] = _linear(features[train], target[train]).decision_function(features[test])
    platt = LogisticRegression(C=1e4, solver="liblinear").fit(scores.reshape(-1, 1), target)
    final = _linear(features, target)
    slope, intercept = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    return final.coef_.ravel(), float(final.intercept_[0]), slope, intercept


@dataclass(frozen=True)
class _Head:
    """One head: a range of columns of the shared weight matrix and their labels."""

    name: str
    labels: tuple[str, ...]
    start: int
    single: bool


@dataclass(frozen=True)
class Meaning:
    """Predicted probabilities for one text, per head and label."""

    single: Mapping[str, Mapping[str, float]]
    multi: Mapping[str, Mapping[str, float]]

    def best(self, head: str) -> tuple[str | None, float]:
        """The most probable label of a single-label head (None for the "does not say" label)."""
        if not self.single.get(head):
            return None, 0.0  # a model without this head (an older cache, a hand-built one)
        label, p = max(self.single[head].items(), key=lambda item: item[1])
        return (None if label == NONE else label), p

    def labels(self, head: str, threshold: float) -> dict[str, float]:
        """The labels of a multi-label head at or above ``threshold``."""
        return {code: p for code, p in self.multi[head].items() if p >= threshold}

    def pooled(self, parts: Sequence[Meaning]) -> Meaning:
        """This reading's single-label heads with the multi-label heads of ``parts`` (readings
        of the user's own words, whole and sentence by sentence), each label at its highest
        probability among them: a trigger said in one sentence of a long post is diluted in the
        whole, which is longer than the utterances the model was fitted on."""
        if not parts:
            return self
        multi = {
            head: {code: max(m.multi.get(head, {}).get(code, 0.0) for m in parts)
                   for code in labels}
            for head, labels in self.multi.items()
        }  # fmt: skip
        return Meaning(single=self.single, multi=multi)


class MeaningModel:
    """Every head's calibrated linear scorers over one shared character n-gram vectoriser."""

    def __init__(self, vectorizer: TfidfVectorizer, heads: tuple[_Head, ...],
                 weights: np.ndarray[Any, Any], calibration: np.ndarray[Any, Any],
                 fingerprint: str) -> None:  # fmt: skip
        self.vectorizer = vectorizer
        self.heads = heads
        self.weights = weights  # features x labels, then one row of intercepts
        self.calibration = calibration  # (slope, intercept) of each label's Platt scaling
        self.fingerprint = fingerprint

    @classmethod
    def fit(cls, rows: Sequence[Mapping[str, Any]]) -> MeaningModel:
        """Fit every head on the labelled utterances (deterministic)."""
        texts = [str(row["text"]) for row in rows]
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=2,
                                     sublinear_tf=True, max_features=20000)  # fmt: skip
        features = vectorizer.fit_transform(texts).tocsr()
        heads: list[_Head] = []
        columns: list[tuple[Any, float, float, float]] = []
        for head in (*SINGLE_HEADS, *MULTI_HEADS):
            single = head in SINGLE_HEADS
            if single:
                values = [str(r[head]) if r.get(head) is not None else NONE for r in rows]
                labels = sorted(set(values))
                targets = [[v == label for v in values] for label in labels]
            else:
                labels = sorted({code for r in rows for code in r.get(head) or []})
                targets = [[label in (r.get(head) or []) for r in rows] for label in labels]
            heads.append(_Head(head, tuple(labels), len(columns), single))
            columns += [_fit_label(features, np.array(t, dtype=int)) for t in targets]
        weights = np.vstack([np.column_stack([c[0] for c in columns]),
                             np.array([[c[1] for c in columns]])])  # fmt: skip
        calibration = np.array([[c[2], c[3]] for c in columns])
        return cls(vectorizer, tuple(heads), weights, calibration, data_hash(rows))

    def predict(self, texts: Iterable[str]) -> list[Meaning]:
        """Calibrated probabilities for each text (one sparse product for every head)."""
        batch = list(texts)
        if not batch:
            return []
        scores = self.vectorizer.transform(batch) @ self.weights[:-1] + self.weights[-1]
        logits = scores * self.calibration[:, 0] + self.calibration[:, 1]
        probabilities = 1.0 / (1.0 + np.exp(-np.clip(logits, -40, 40)))
        results = []
        for row in probabilities:
            single: dict[str, dict[str, float]] = {}
            multi: dict[str, dict[str, float]] = {}
            for head in self.heads:
                values = row[head.start : head.start + len(head.labels)]
                if head.single:  # one-vs-rest probabilities of one label, normalised
                    values = values / max(float(values.sum()), 1e-9)
                (single if head.single else multi)[head.name] = _row(values, list(head.labels))
            results.append(Meaning(single=single, multi=multi))
        return results


def _row(probabilities: np.ndarray[Any, Any], labels: list[str]) -> dict[str, float]:
    return {label: float(p) for label, p in zip(labels, probabilities, strict=True)}


def load_meaning_model(training_dir: Path, cache_dir: Path) -> MeaningModel | None:
    """The model for the data in ``training_dir``: from the cache, else fitted and cached."""
    rows = load_utterances(training_dir)
    if not rows:
        return None
    fingerprint = data_hash(rows)
    path = cache_dir / f"meaning-{fingerprint}.pkl"
    if path.exists():
        try:
            with path.open("rb") as cached:
                model = pickle.load(cached)  # our own file, written below  # noqa: S301
            if isinstance(model, MeaningModel) and model.fingerprint == fingerprint:
                return model
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as exc:
            log.warning("Meaning model cache %s unreadable (%s); fitting again.", path, exc)
    model = MeaningModel.fit(rows)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for stale in cache_dir.glob("meaning-*.pkl"):
            stale.unlink()
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as out:
            pickle.dump(model, out)
        tmp.replace(path)
    except OSError as exc:  # a read-only data dir still gets a working model
        log.warning("Meaning model not cached (%s).", exc)
    return model
