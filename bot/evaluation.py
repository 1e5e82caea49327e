"""Diagnosis quality on a labelled case set: reasons/channels top-3 hit, forbidden-channel rate,
warnings recall and fact accuracy."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from .advisor import Advisor
from .turn import Turn


class Expectation(BaseModel):
    """What a good advisor does with a case."""

    reasons: list[str] = []
    channels: list[str] = []
    forbidden_channels: list[str] = []
    warnings: list[str] = []
    facts: dict[str, Any] = {}


class DiagnosisCase(BaseModel):
    """A conversation (one or more user messages) and its expectations."""

    id: str
    note: str = ""
    turns: list[str] = Field(min_length=1)
    expect: Expectation


@dataclass
class DiagnosisScores:
    """The figures ``finadvisor eval diagnosis`` prints; failures list case ids per metric."""

    cases: int = 0
    reasons_hit: float = 0.0
    channels_hit: float = 0.0
    forbidden_rate: float = 0.0
    warnings_recall: float = 0.0
    warnings_precision: float = 0.0
    """Share of the warnings raised (in any turn) that the case expects."""
    fact_accuracy: float = 0.0
    fact_fields: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Per profile field: (read right, stated)."""
    failures: dict[str, list[str]] = field(default_factory=dict)


def load_diagnosis_cases(path: Path) -> list[DiagnosisCase]:
    """Load the case set from YAML."""
    return [DiagnosisCase.model_validate(c) for c in yaml.safe_load(path.read_text("utf-8"))]


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, float) or isinstance(actual, float):
        try:
            return abs(float(expected) - float(actual)) <= 1e-6 * max(1.0, abs(float(expected)))
        except (TypeError, ValueError):
            return False
    if isinstance(expected, list) and isinstance(actual, list):
        return sorted(map(str, expected)) == sorted(map(str, actual))
    return bool(expected == actual)


def evaluate_diagnosis(
    advisor: Advisor, cases: list[DiagnosisCase], on_case: Callable[[], None] | None = None
) -> DiagnosisScores:
    """Run every case through ``Advisor.reply`` in a fresh session and score it."""
    scores = DiagnosisScores(cases=len(cases))
    failures: dict[str, list[str]] = {
        k: [] for k in ("reasons", "channels", "forbidden", "warnings", "facts")
    }
    counts = {"reasons": 0, "channels": 0, "warnings": 0, "facts": 0, "raised": 0}
    hits = {"reasons": 0, "channels": 0, "warnings": 0, "facts": 0, "forbidden": 0, "raised": 0}
    for case in cases:
        session = f"eval-{case.id}-{uuid.uuid4().hex[:8]}"
        turns: list[Turn] = [advisor.reply(session, text) for text in case.turns]
        last = turns[-1]
        exp = case.expect
        reasons = [r.code for r in last.reasons[:3]]
        channels = [r.channel for r in last.recommendations[:3]]
        if exp.reasons:
            counts["reasons"] += 1
            ok = bool(set(exp.reasons) & set(reasons))
            hits["reasons"] += ok
            if not ok:
                failures["reasons"].append(case.id)
        if exp.channels:
            counts["channels"] += 1
            ok = bool(set(exp.channels) & set(channels))
            hits["channels"] += ok
            if not ok:
                failures["channels"].append(case.id)
        # judged on the final answer: earlier turns may rightly recommend before a fact is told
        recommended = {r.channel for r in last.recommendations}
        if recommended & set(exp.forbidden_channels):
            hits["forbidden"] += 1
            failures["forbidden"].append(case.id)
        raised = {w.code for t in turns for w in t.warnings}
        counts["raised"] += len(raised)
        hits["raised"] += len(raised & set(exp.warnings))
        for code in exp.warnings:
            counts["warnings"] += 1
            hits["warnings"] += code in raised
            if code not in raised:
                failures["warnings"].append(f"{case.id}:{code}")
        for name, value in exp.facts.items():
            counts["facts"] += 1
            ok = _same(value, getattr(last.profile, name, None))
            hits["facts"] += ok
            right, stated = scores.fact_fields.get(name, (0, 0))
            scores.fact_fields[name] = (right + ok, stated + 1)
            if not ok:
                failures["facts"].append(f"{case.id}:{name}={getattr(last.profile, name, None)}")
        advisor.reset(session)
        if on_case:
            on_case()
    scores.reasons_hit = hits["reasons"] / max(counts["reasons"], 1)
    scores.channels_hit = hits["channels"] / max(counts["channels"], 1)
    scores.forbidden_rate = hits["forbidden"] / max(len(cases), 1)
    scores.warnings_recall = hits["warnings"] / max(counts["warnings"], 1)
    scores.warnings_precision = hits["raised"] / max(counts["raised"], 1)
    scores.fact_accuracy = hits["facts"] / max(counts["facts"], 1)
    scores.failures = failures
    return scores
