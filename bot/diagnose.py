"""Diagnosis: ranked reason codes with confidence and evidence, from priors, rules and hints.

Priors (platform x symptom) give possibilities; rules over profile facts and the user's own words
(hints) give findings; counter-evidence lowers a reason. All of it is data in diagnosis.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from knowledge import Taxonomy

from .profile import Profile
from .turn import Reason

BUSINESS_SEGMENTS = frozenset({"sole_proprietor", "sme"})


class ReasonScore(NamedTuple):
    """A reason code and its confidence, without evidence (for fast replays)."""

    code: str
    confidence: float
    label: str


@dataclass(frozen=True)
class Rule:
    """One evidence rule: when every condition holds, the reason gets this confidence."""

    reason: str
    when: dict[str, Any]
    confidence: float
    evidence: str


def _field(profile: Profile, name: str) -> Any:
    if name == "debt_to_income":
        return profile.debt_to_income()
    if name == "business":
        return profile.segment in BUSINESS_SEGMENTS
    return getattr(profile, name, None)


def _holds(value: Any, condition: Any) -> bool:
    if value is None:
        return False
    if isinstance(condition, list):
        return value in condition
    if isinstance(condition, dict):
        checks = {"gte": value >= condition.get("gte", value), "gt": value > condition.get("gt", value - 1),
                  "lte": value <= condition.get("lte", value), "lt": value < condition.get("lt", value + 1)}  # fmt: skip
        return all(checks[op] for op in condition)
    return bool(value == condition)


class Diagnoser:
    """Ranks reason codes for a profile and the hints of the conversation."""

    def __init__(self, knowledge_dir: Path, taxonomy: Taxonomy) -> None:
        data = yaml.safe_load((knowledge_dir / "diagnosis.yaml").read_text(encoding="utf-8"))
        self.taxonomy = taxonomy
        self.priors: dict[str, dict[str, dict[str, float]]] = data["priors"]
        self.rules = [Rule(**r) for r in data["rules"]]
        self.advice: dict[str, dict[str, str]] = data["advice"]
        self.questions: dict[str, dict[str, Any]] = data["questions"]
        self.hint_confidence = float(data["hint_confidence"])
        self.possibility_below = float(data["possibility_below"])
        self.max_reasons = int(data["max_reasons"])

    def _prior(self, profile: Profile) -> dict[str, float]:
        by_platform = self.priors.get(profile.platform or "default") or self.priors["default"]
        return dict(by_platform.get(profile.symptom or "default") or by_platform.get("default")
                    or self.priors["default"]["default"])  # fmt: skip

    def diagnose(self, profile: Profile, hints: dict[str, str], lang: str = "zh") -> list[Reason]:
        """Reasons ranked best first, at most ``max_reasons``; empty when nothing was refused."""
        return [
            Reason(
                code=code,
                label=self.taxonomy.label("reasons", code, lang),
                confidence=round(confidence, 2),
                evidence=evidence,
                advice=self.advice.get(code, {}).get(lang, ""),
            )
            for code, confidence, evidence in self._rank(profile, hints, lang, explain=True)
        ]

    def rank(self, profile: Profile, hints: dict[str, str]) -> list[ReasonScore]:
        """The same ranking without evidence text or models (the follow-up search replays it)."""
        return [
            ReasonScore(code, round(confidence, 2), code)
            for code, confidence, _ in self._rank(profile, hints, "zh", explain=False)
        ]

    def _rank(
        self, profile: Profile, hints: dict[str, str], lang: str, *, explain: bool
    ) -> list[tuple[str, float, str]]:
        refused = profile.symptom is not None or bool(hints)
        scores: dict[str, tuple[float, str]] = {}
        if profile.symptom is not None:
            common = ""
            if explain:
                label = self.taxonomy.label("symptoms", profile.symptom, lang)
                common = (
                    f"{label}时常见的可能原因" if lang == "zh" else f"a common cause of '{label}'"
                )
            for code, weight in self._prior(profile).items():
                scores[code] = (weight, common)
        for code, words in hints.items():
            current = scores.get(code, (0.0, ""))[0]
            if self.hint_confidence > current:
                scores[code] = (self.hint_confidence, words)
        lowered: dict[str, tuple[float, str]] = {}
        for rule in self.rules:
            if not all(_holds(_field(profile, k), v) for k, v in rule.when.items()):
                continue
            if rule.confidence < 0:
                lowered[rule.reason] = (abs(rule.confidence), rule.evidence)
                continue
            refused = True
            if rule.confidence > scores.get(rule.reason, (0.0, ""))[0]:
                evidence = self._evidence(profile, rule) if explain else ""
                scores[rule.reason] = (rule.confidence, evidence)
        for code, (confidence, evidence) in lowered.items():
            if code in scores and scores[code][0] < 0.9 and code not in hints:
                scores[code] = (min(scores[code][0], confidence), evidence)
        if not refused:
            return []
        ranked = sorted(scores.items(), key=lambda item: -item[1][0])[: self.max_reasons]
        return [(code, conf, evidence) for code, (conf, evidence) in ranked if conf >= 0.05]

    def _evidence(self, profile: Profile, rule: Rule) -> str:
        """The user's own words for the facts a rule used, else the rule's description."""
        words = [profile.evidence[f] for f in rule.when if profile.evidence.get(f)]
        if rule.when.keys() & {"debt_to_income"}:
            words = [
                profile.evidence.get("monthly_debt_payment", ""),
                profile.evidence.get("monthly_income", ""),
            ]
        words = [w for w in dict.fromkeys(words) if w]
        return f"{rule.evidence}（“{'；'.join(words)}”）" if words else rule.evidence

    def is_possibility(self, reason: Reason) -> bool:
        """Whether a reason is only a possibility (no specific evidence)."""
        return reason.confidence < self.possibility_below
