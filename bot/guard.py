"""Guard: warnings (scam_risk, high_cost, debt_spiral, purpose_mismatch) and firm refusals.

Phrases and messages live in ``knowledge/guard.yaml``; APRs come from ``bot.apr``.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.rules import GuardRules, Policy

from .apr import AprResult, apr_from_text
from .diagnose import misused_purpose
from .matcher import Matcher
from .profile import Profile
from .turn import Warning
from .understanding import Understanding


@dataclass(frozen=True)
class GuardResult:
    """Warnings for the turn, an optional refusal text, and a computed APR."""

    warnings: list[Warning]
    refusal: str | None = None
    refusal_kind: str | None = None
    apr: AprResult | None = None


class Guard:
    """Checks each message and profile for scams, high cost, debt spirals and misuse."""

    def __init__(self, rules: GuardRules, policy: Policy) -> None:
        self.rules = rules
        self.policy = policy
        self.scam = Matcher(rules.scam_phrases)
        self.victim = Matcher(rules.victim_phrases)
        self.high_cost = Matcher(rules.high_cost_phrases)
        self.misuse = Matcher(rules.misuse_phrases)
        self.unsafe = {kind: Matcher(words) for kind, words in rules.unsafe_categories.items()}

    def _message(self, key: str, lang: str, **values: str) -> str:
        return self.rules.messages[key].text(lang).format(**values)

    def check(
        self,
        text: str,
        understanding: Understanding,
        profile: Profile,
        lang: str = "zh",
    ) -> GuardResult:
        """Warnings for this message in the context of the whole profile."""
        warnings: list[Warning] = []
        if self.victim.said(text):  # already defrauded: what to do now, not only a caution
            warnings.append(self._warning("scam_risk", "scam_victim", lang))
        elif self.scam.said(text):
            warnings.append(self._warning("scam_risk", "scam_risk", lang))
        apr = apr_from_text(text)
        if apr is not None and apr.high_cost:
            warnings.append(self._warning("high_cost", "high_cost", lang,
                                          apr=f"{apr.apr:.1f}%", method=apr.method_in(lang)))  # fmt: skip
        elif self.high_cost.said(text):
            warnings.append(self._warning("high_cost", "high_cost_generic", lang))
        if profile.borrowing_to_repay or profile.need_purpose == "repay_debt":
            warnings.append(self._warning("debt_spiral", "debt_spiral", lang))
        mismatch = self._purpose_mismatch(text, understanding, profile)
        if mismatch:
            warnings.append(self._warning("purpose_mismatch", mismatch, lang))
        kind = self._refusal_kind(text, understanding)
        if kind is None:
            return GuardResult(warnings, apr=apr)
        if kind in self.rules.scam_refusals and not any(w.code == "scam_risk" for w in warnings):
            warnings.append(self._warning("scam_risk", "scam_risk", lang))
        if kind in self.rules.high_cost_refusals and not any(
            w.code == "high_cost" for w in warnings
        ):
            warnings.append(self._warning("high_cost", "high_cost_generic", lang))
        refusal = self.rules.refusals[kind].text(lang)
        return GuardResult(warnings, refusal=refusal, refusal_kind=kind, apr=apr)

    def from_meaning(
        self, codes: set[str], raised: set[str], profile: Profile, lang: str
    ) -> list[Warning]:
        """Warnings the meaning model predicts that the phrases and rules did not raise."""
        keys = {
            "scam_risk": "scam_risk",
            "debt_spiral": "debt_spiral",
            "high_cost": "high_cost_generic",
            "purpose_mismatch": "purpose_mismatch_forbidden"
            if misused_purpose(profile)
            else "purpose_mismatch_consumer",
        }
        if profile.need_purpose == "home_purchase" and profile.housing_loan:
            codes = codes - {"purpose_mismatch"}
        if profile.borrowing_to_repay is False:  # the user said they do not ("没以贷养贷")
            codes = codes - {"debt_spiral"}
        return [
            self._warning(code, keys[code], lang) for code in sorted(codes - raised) if code in keys
        ]

    def _warning(self, code: str, key: str, lang: str, **values: str) -> Warning:
        return Warning(code=code, message=self._message(key, lang, **values))

    def _refusal_kind(self, text: str, understanding: Understanding) -> str | None:
        if understanding.intent != "unsafe":
            return None
        return next((kind for kind, words in self.unsafe.items() if words.said(text)), None)

    def _purpose_mismatch(
        self, text: str, understanding: Understanding, profile: Profile
    ) -> str | None:
        if misused_purpose(profile):  # a home bought with a housing loan is a normal purchase
            return "purpose_mismatch_forbidden"
        if self.misuse.said(text):  # a down payment from consumer or business credit is not
            return "purpose_mismatch_forbidden"
        if profile.need_purpose in self.policy.forbidden_investment_purposes:
            return None
        business_purpose = profile.need_purpose in self.policy.business_purposes
        if profile.cashout and (profile.is_business or business_purpose):
            return "purpose_mismatch_consumer"  # cashing out a personal card for the business
        if profile.cashout:
            return "purpose_mismatch_cashout"  # credit drawn as cash is not spent as agreed
        consumer_tool = understanding.consumer_product_for_business or (
            business_purpose
            and (
                profile.platform in self.policy.consumer_platforms
                or any(w in text for w in self.policy.consumer_credit_words)
            )
        )
        return "purpose_mismatch_consumer" if consumer_tool else None
