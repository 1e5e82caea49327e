"""Guard: warnings (scam_risk, high_cost, debt_spiral, purpose_mismatch) and firm refusals.

Phrases and messages live in ``knowledge/guard.yaml``; APRs come from ``bot.apr``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .apr import AprResult, apr_from_text
from .profile import Profile
from .turn import Warning
from .understand import Understanding

_CONSUMER_PLATFORMS = frozenset({"jiebei", "huabei", "weilidai", "fenfu", "jd", "duxiaoman"})


@dataclass
class GuardResult:
    """Warnings for the turn, an optional refusal text, and a computed APR."""

    warnings: list[Warning]
    refusal: str | None = None
    refusal_kind: str | None = None
    apr: AprResult | None = None


class Guard:
    """Checks each message and profile for scams, high cost, debt spirals and misuse."""

    def __init__(self, knowledge_dir: Path) -> None:
        self.data: dict[str, Any] = yaml.safe_load(
            (knowledge_dir / "guard.yaml").read_text(encoding="utf-8")
        )

    def _message(self, key: str, lang: str, **values: str) -> str:
        return str(self.data["messages"][key][lang]).format(**values)

    def _said(self, text: str, key: str) -> bool:
        lowered = text.lower()
        return any(str(p).lower() in lowered for p in self.data[key])

    def check(
        self,
        text: str,
        understanding: Understanding,
        profile: Profile,
        lang: str = "zh",
    ) -> GuardResult:
        """Warnings for this message in the context of the whole profile."""
        warnings: list[Warning] = []
        result = GuardResult(warnings)
        if self._said(text, "scam_phrases"):
            warnings.append(Warning(code="scam_risk", message=self._message("scam_risk", lang)))
        result.apr = apr_from_text(text)
        if result.apr is not None and result.apr.high_cost:
            warnings.append(Warning(code="high_cost", message=self._message(
                "high_cost", lang, apr=f"{result.apr.apr:.1f}%", method=result.apr.method)))  # fmt: skip
        elif self._said(text, "high_cost_phrases"):
            warnings.append(
                Warning(code="high_cost", message=self._message("high_cost_generic", lang))
            )
        if profile.borrowing_to_repay or profile.need_purpose == "repay_debt":
            warnings.append(Warning(code="debt_spiral", message=self._message("debt_spiral", lang)))
        mismatch = self._purpose_mismatch(text, understanding, profile)
        if mismatch:
            warnings.append(Warning(code="purpose_mismatch", message=self._message(mismatch, lang)))
        for kind, phrases in self.data["unsafe_categories"].items():
            if understanding.intent == "unsafe" and any(p.lower() in text.lower() for p in phrases):
                result.refusal = str(self.data["refusals"][kind][lang])
                result.refusal_kind = kind
                if kind in {"credit_repair", "intermediary", "fake_materials"} and not any(
                    w.code == "scam_risk" for w in warnings
                ):
                    warnings.append(
                        Warning(code="scam_risk", message=self._message("scam_risk", lang))
                    )
                break
        return result

    def _purpose_mismatch(
        self, text: str, understanding: Understanding, profile: Profile
    ) -> str | None:
        if profile.need_purpose in {"home_purchase", "securities"}:
            return "purpose_mismatch_forbidden"
        business_purpose = profile.need_purpose in {
            "working_capital", "inventory", "equipment", "receivable_gap", "order_fulfilment",
            "expansion", "startup",
        }  # fmt: skip
        if profile.cashout and (profile.is_business or business_purpose):
            return "purpose_mismatch_consumer"  # cashing out a personal card for the business
        consumer_tool = (
            understanding.consumer_product_for_business
            or (
                business_purpose
                and profile.platform in _CONSUMER_PLATFORMS
                and profile.symptom is None
            )
            or (business_purpose and any(w in text for w in ("信用卡", "消费贷", "credit card")))
        )
        return "purpose_mismatch_consumer" if consumer_tool else None
