"""Diagnosis: ranked reason codes with confidence and evidence, from priors, rules and hints.

Priors (platform x symptom) give possibilities; rules over profile facts and the user's own words
(hints) give findings; counter-evidence lowers a reason. All of it is data in diagnosis.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from knowledge import Taxonomy
from knowledge.rules import DiagnosisRules, EvidenceRule, condition_holds

from .profile import Profile
from .turn import Reason

BUSINESS_SEGMENTS = frozenset({"sole_proprietor", "sme"})
ENGLISH_EARLIER_WORDS = "from what you said earlier"
_CJK = re.compile(r"[\u4e00-\u9fff]")


class ReasonScore(NamedTuple):
    """A reason code and its confidence, without evidence (for fast replays)."""

    code: str
    confidence: float
    label: str


def misused_purpose(profile: Profile) -> bool:
    """Borrowed money into stocks, or into a home other than through a housing loan."""
    if profile.need_purpose == "securities":
        return True
    return profile.need_purpose == "home_purchase" and profile.housing_loan is not True


RATIO_SOURCES = {
    "debt_to_income": ("monthly_debt_payment", "monthly_income"),
    "debt_to_annual_income": ("total_debt", "monthly_income"),
}
"""The facts a computed ratio is made of: its evidence is the user's words for them."""


def profile_value(profile: Profile, name: str) -> Any:
    """A profile field or a computed field (``debt_to_income``, ``business``) by name."""
    if name == "debt_to_income":
        return profile.debt_to_income()
    if name == "debt_to_annual_income":
        return profile.debt_to_annual_income()
    if name == "business":
        return profile.segment in BUSINESS_SEGMENTS
    if name == "misused_purpose":
        return misused_purpose(profile)
    return getattr(profile, name, None)


class Diagnoser:
    """Ranks reason codes for a profile and the hints of the conversation."""

    def __init__(self, rules: DiagnosisRules, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self.priors = rules.priors
        self.rules = rules.rules
        self.advice = rules.advice
        self.questions = rules.questions
        self.skip_label = rules.skip
        self.hint_confidence = rules.hint_confidence
        self.guess_confidence = rules.guess_confidence
        self.possibility_below = rules.possibility_below
        self.max_reasons = rules.max_reasons

    def _prior(self, profile: Profile) -> dict[str, float]:
        by_platform = self.priors.get(profile.platform or "default") or self.priors["default"]
        return dict(by_platform.get(profile.symptom or "default") or by_platform.get("default")
                    or self.priors["default"]["default"])  # fmt: skip

    def diagnose(
        self, profile: Profile, hints: Mapping[str, str], lang: str = "zh"
    ) -> list[Reason]:
        """Reasons ranked best first, at most ``max_reasons``; empty when nothing was refused."""
        return [
            Reason(
                code=code,
                label=self.taxonomy.label("reasons", code, lang),
                confidence=round(confidence, 2),
                evidence=evidence,
                advice=getattr(self.advice[code], lang) if code in self.advice else "",
                doc_id=self.advice[code].doc if code in self.advice else "",
            )
            for code, confidence, evidence in self._rank(profile, hints, lang, explain=True)
        ]

    def rank(self, profile: Profile, hints: Mapping[str, str]) -> list[ReasonScore]:
        """The same ranking without evidence text or models (the follow-up search replays it)."""
        return [
            ReasonScore(code, round(confidence, 2), code)
            for code, confidence, _ in self._rank(profile, hints, "zh", explain=False)
        ]

    def _rank(
        self, profile: Profile, hints: Mapping[str, str], lang: str, *, explain: bool
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
                scores[code] = (self.hint_confidence, _quoted(words, lang))
        for code, words in profile.guesses.items():
            current = scores.get(code, (0.0, ""))[0]
            if refused and self.guess_confidence > current:
                scores[code] = (self.guess_confidence, _quoted(words, lang))
        lowered: dict[str, tuple[float, str]] = {}
        for rule in self.rules:
            if not all(condition_holds(profile_value(profile, k), v) for k, v in rule.when.items()):
                continue
            if rule.confidence < 0:
                lowered[rule.reason] = (abs(rule.confidence), rule.evidence_in(lang))
                continue
            refused = True
            if rule.confidence > scores.get(rule.reason, (0.0, ""))[0]:
                evidence = self._evidence(profile, rule, lang) if explain else ""
                scores[rule.reason] = (rule.confidence, evidence)
        for code, (confidence, evidence) in lowered.items():
            if code in scores and scores[code][0] < 0.9 and code not in hints:
                scores[code] = (min(scores[code][0], confidence), evidence)
        if not refused:
            return []
        ranked = sorted(scores.items(), key=lambda item: -item[1][0])[: self.max_reasons]
        return [(code, conf, evidence) for code, (conf, evidence) in ranked if conf >= 0.05]

    def _evidence(self, profile: Profile, rule: EvidenceRule, lang: str = "zh") -> str:
        """The rule's description with the user's own words for the facts it used."""
        fields = [f for name in rule.when for f in RATIO_SOURCES.get(name, (name,))]
        words = [profile.evidence[f] for f in fields if profile.evidence.get(f)]
        words = [w for w in dict.fromkeys(words) if w]
        if lang == "en":
            words = [w for w in words if not _CJK.search(w)]
            return f'{rule.evidence_en} ("{"; ".join(words)}")' if words else rule.evidence_en
        return f"{rule.evidence}（“{'；'.join(words)}”）" if words else rule.evidence

    def is_possibility(self, reason: Reason) -> bool:
        """Whether a reason is only a possibility (no specific evidence)."""
        return reason.confidence < self.possibility_below


def _quoted(words: str, lang: str) -> str:
    """The user's words as evidence; in an English reply, Chinese words are described instead
    of quoted (they were said in an earlier, Chinese message)."""
    if lang == "en" and _CJK.search(words):
        return ENGLISH_EARLIER_WORDS
    return words
