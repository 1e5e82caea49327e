"""Understanding Chinese as users write it: facts, hints (reason codes), intent and language.

All vocabulary lives in ``knowledge/understanding.yaml`` (typed as ``UnderstandingRules``); this
module only applies it: phrase matching per clause with negation, numbers in words and mixed
forms, and intent priority. The pass fills a private draft and returns a frozen ``Understanding``.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any

from knowledge.rules import Policy, UnderstandingRules

from .numbers import NUMBER, parse_number
from .phrases import Phrases
from .turn import Intent
from .understanding import EVIDENCE_MAX, Draft, Understanding

__all__ = ["Draft", "Understander", "Understanding"]

_CLAUSE_SPLIT = re.compile(r"[，,。！!？?；;\n]|(?=但是|可是|不过|但)")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


class Understander:
    """Applies the phrase tables of ``understanding.yaml`` to a message."""

    def __init__(self, rules: UnderstandingRules, policy: Policy) -> None:
        self.rules = rules
        self.policy = policy
        self.window = rules.negation_window
        self.negators = [n.lower() for n in rules.negators]

    @cached_property
    def _tables(self) -> dict[str, dict[Any, Phrases]]:
        tables: dict[str, dict[Any, Phrases]] = {}
        for section in ("platforms", "symptoms", "segments", "purposes", "collateral", "hints",
                        "urgency", "intents"):  # fmt: skip
            tables[section] = {k: Phrases(v) for k, v in getattr(self.rules, section).items()}
        tables["overdue"] = {k: Phrases(v) for k, v in self.rules.overdue.items()}
        for name, values in self.rules.booleans.items():
            tables[f"bool:{name}"] = {k: Phrases(v) for k, v in values.items()}
        tables["misc"] = {
            "no_collateral": Phrases(self.rules.no_collateral),
            "skip": Phrases(self.rules.skip_phrases),
            "regions": Phrases(self.rules.regions),
        }
        return tables

    @cached_property
    def _numeric(self) -> dict[str, list[re.Pattern[str]]]:
        return {
            name: [re.compile(p.replace("{NUM}", NUMBER), re.IGNORECASE) for p in patterns]
            for name, patterns in self.rules.numeric.items()
        }

    @cached_property
    def _tax(self) -> list[re.Pattern[str]]:
        return [re.compile(p) for p in self.rules.tax_rating]

    # ---- helpers ---------------------------------------------------------------------------

    def _negated(self, clause: str, start: int) -> bool:
        before = clause[max(0, start - self.window) : start]
        return any(neg in before for neg in self.negators)

    def _hits(self, phrases: Phrases, clause: str) -> list[tuple[int, int, bool]]:
        return [(s, e, self._negated(clause, s)) for s, e in phrases.find(clause)]

    def retracted(self, facts: dict[str, Any]) -> set[str]:
        """Hints that facts of this message contradict (a correction drops the old hint)."""
        dropped: set[str] = set()
        for name, by_value in self.rules.retractions.items():
            if name in facts:
                dropped.update(by_value.get(facts[name], []))
        return dropped

    @staticmethod
    def clauses(text: str) -> list[str]:
        """The message cut into clauses (negation never crosses a clause)."""
        return [c.strip() for c in _CLAUSE_SPLIT.split(text.lower()) if c and c.strip()]

    # ---- the pass ----------------------------------------------------------------------------

    def understand(self, text: str) -> Understanding:
        """Facts, hints and intent of one message."""
        text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)  # 10,000 -> 10000
        result = Draft()
        result.lang = "en" if len(_LATIN.findall(text)) > 2 * len(_CJK.findall(text)) else "zh"
        clauses = self.clauses(text)
        lowered = text.lower()
        self._categorical(result, clauses)
        self._booleans(result, clauses)
        self._overdue(result, clauses)
        self._collateral(result, clauses)
        self._hints(result, clauses)
        self._numbers(result, clauses)
        self._derived(result, lowered)
        result.skip = bool(self._tables["misc"]["skip"].find(lowered)) and len(text) <= 12
        result.intent = self._intent(result, lowered)
        return result.freeze()

    def _categorical(self, result: Draft, clauses: list[str]) -> None:
        excluded = [e.lower() for e in self.rules.segment_excludes]
        platforms: list[tuple[str, str]] = []
        purposes: dict[str, str] = {}
        for clause in clauses:
            plain = clause
            for term in excluded:
                plain = plain.replace(term, "□" * len(term))
            for code, phrases in self._tables["platforms"].items():
                if any(not neg for _, _, neg in self._hits(phrases, clause)):
                    platforms.append((code, clause))
            for code, phrases in self._tables["purposes"].items():
                if any(not neg for _, _, neg in self._hits(phrases, clause)):
                    purposes.setdefault(code, clause)
            for section, fact in (("segments", "segment"), ("urgency", "urgency")):
                source = plain if section == "segments" else clause
                for code, phrases in self._tables[section].items():
                    if any(not neg for _, _, neg in self._hits(phrases, source)):
                        result.set(fact, code, clause)
                        break
            symptom = self._symptom(clause)
            if symptom:
                result.set("symptom", symptom, clause)
            regions = self._tables["misc"]["regions"].find(clause)
            if regions:
                s, e = regions[0]
                result.set("region", clause[s:e], clause)
        if platforms:
            # a named platform beats the generic "bank" (信用卡 is often only context)
            code, clause = next((p for p in platforms if p[0] != "bank"), platforms[0])
            result.set("platform", code, clause)
        for code in self.rules.purpose_priority:
            if code in purposes:
                result.set("need_purpose", code, purposes[code])
                break

    def _symptom(self, clause: str) -> str | None:
        order = ("limit_cut", "limit_closed", "cannot_open", "application_rejected",
                 "entry_no_limit")  # fmt: skip
        for code in order:
            if self._tables["symptoms"][code].find(clause):
                return code
        return None

    def _booleans(self, result: Draft, clauses: list[str]) -> None:
        for name in self.rules.booleans:
            table = self._tables[f"bool:{name}"]
            for clause in clauses:
                for value in (False, True):
                    phrases = table.get(value)
                    if phrases is None:
                        continue
                    for _, _, negated in self._hits(phrases, clause):
                        result.set(name, value if not negated else not value, clause)
                        break

    def _overdue(self, result: Draft, clauses: list[str]) -> None:
        table = self._tables["overdue"]
        for clause in clauses:
            if table["none_phrases"].find(clause):
                result.set("overdue", "none", clause)
                continue
            for status in ("current", "past"):
                hits = self._hits(table[status], clause)
                if hits:
                    negated = all(neg for _, _, neg in hits)
                    result.set("overdue", "none" if negated else status, clause)
                    break
            else:
                if "逾期" in clause and self._negated(clause, clause.find("逾期")):
                    result.set("overdue", "none", clause)

    def _collateral(self, result: Draft, clauses: list[str]) -> None:
        kinds: list[str] = []
        said_none = False
        evidence = ""
        for clause in clauses:
            if self._tables["misc"]["no_collateral"].find(clause):
                said_none, evidence = True, clause
            for kind, phrases in self._tables["collateral"].items():
                hits = self._hits(phrases, clause)
                if hits and not all(neg for _, _, neg in hits) and kind not in kinds:
                    kinds.append(kind)
                    evidence = clause
        if kinds:
            result.set("collateral", kinds, evidence)
        elif said_none:
            result.set("collateral", [], evidence)

    def _hints(self, result: Draft, clauses: list[str]) -> None:
        for clause in clauses:
            for code, phrases in self._tables["hints"].items():
                hits = self._hits(phrases, clause)
                if hits and not all(neg for _, _, neg in hits):
                    result.hints.setdefault(code, clause[:EVIDENCE_MAX])

    def _numbers(self, result: Draft, clauses: list[str]) -> None:
        for clause in clauses:
            for name, patterns in self._numeric.items():
                for pattern in patterns:
                    match = pattern.search(clause)
                    if not match:
                        continue
                    before = clause[max(0, match.start(1) - 2) : match.start(1)]
                    if before in {"不满", "不到", "未满", "没满", "不足"}:
                        continue  # "经营不满一年" is a condition, not the fact
                    value = self._numeric_value(name, match)
                    if value is not None:
                        result.set(name, value, clause)
                        break
            for pattern in self._tax:
                match = pattern.search(clause.upper() if "级" not in clause else clause)
                if match and match.group(1).upper() in "ABMCD":
                    result.set("tax_rating", match.group(1).upper(), clause)
                    break

    def _numeric_value(self, name: str, match: re.Match[str]) -> Any:
        token = match.group(1)
        unit = match.group(2) if match.re.groups >= 2 else None
        if token == "半":
            value: float | None = 0.5
        else:
            value = parse_number(token)
        if value is None:
            return None
        if name == "years_operating":
            return (
                round(value / 12, 2)
                if unit == "个月" or (unit or "").startswith("month")
                else value
            )
        if name == "overdue_days":
            return (
                int(value * 30)
                if unit == "个月" or (unit or "").startswith("month")
                else int(value)
            )
        if name == "need_term_months":
            return int(value * 12) if unit == "年" else int(value)
        bounds = {"zhima_score": (350, 950), "age": (16, 90), "lender_count": (0, 200),
                  "inquiries_recent": (0, 300), "need_amount": (100, 1e10),
                  "monthly_income": (100, 1e8), "monthly_debt_payment": (10, 1e8)}  # fmt: skip
        low, high = bounds.get(name, (0, 1e12))
        if not low <= value <= high:
            return None
        integer_fields = {"zhima_score", "age", "lender_count", "inquiries_recent"}
        return int(value) if name in integer_fields else value

    def _derived(self, result: Draft, text: str) -> None:
        facts = result.facts
        if facts.get("need_purpose") == "repay_debt" or facts.get("borrowing_to_repay"):
            facts.setdefault("borrowing_to_repay", True)
            result.evidence.setdefault(
                "borrowing_to_repay", result.evidence.get("need_purpose", "")
            )
            facts["need_purpose"] = "repay_debt"
            result.evidence.setdefault("need_purpose", result.evidence["borrowing_to_repay"])
        if facts.get("borrowing_to_repay") is False and facts.get("need_purpose") == "repay_debt":
            del facts["need_purpose"]
        business_purpose = facts.get("need_purpose") in self.policy.business_purposes
        consumer_tool = facts.get("platform") in self.policy.consumer_platforms or any(
            w in text for w in self.policy.consumer_credit_words
        )
        result.consumer_product_for_business = bool(business_purpose and consumer_tool)
        if (
            facts.get("need_purpose") in {"consumption", "education", "medical"}
            and "segment" not in facts
        ):
            result.set("segment", "consumer", result.evidence["need_purpose"])
        if facts.get("is_student") and "age_or_eligibility" not in result.hints:
            result.hints["age_or_eligibility"] = result.evidence.get("is_student", "")

    def _intent(self, result: Draft, text: str) -> Intent:
        table = self._tables["intents"]
        if table["unsafe"].find(text):
            return "unsafe"
        if table["compute_cost"].find(text) and re.search(r"[0-9一二三四五六七八九十两]", text):
            return "compute_cost"
        facts = result.facts
        if "symptom" in facts or any(w in text for w in ("为什么", "为啥", "why", "怎么回事")):
            return "diagnose"
        if table["find_financing"].find(text) or "need_amount" in facts:
            return "find_financing"
        if table["out_of_scope"].find(text) and not (result.substantive_facts or result.hints):
            return "out_of_scope"
        if table["ask_product"].find(text):
            return "ask_product"
        if table["small_talk"].find(text) and len(text) <= 20:
            return "small_talk"
        if table["out_of_scope"].find(text):
            return "out_of_scope"
        if facts or result.hints:
            return "diagnose" if facts.get("platform") else "find_financing"
        return "ask_product"
