"""Recommendation: hard eligibility filters over the catalog, a fit score, channel diversity.

Never recommended: consumer credit for business use, any lender for 购房/股市/还贷 purposes or to
someone borrowing to repay loans (then only credit_improvement), lenders a student cannot use.
One ranking (``Recommender.ranking``) serves both the cards the user sees and the follow-up
search, so the question asked is scored on exactly the ranking shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from knowledge import Catalog, CreditAction, Product, Taxonomy
from knowledge.rules import Policy, RecommendRules

from .eligibility import EligibilityContext, eligible
from .policy import (
    ScoredReason,
    credit_first,
    held_collateral,
    holds_receivables,
    lenders_allowed,
    lending_forbidden,
)
from .profile import Profile
from .turn import Recommendation

_SPEED_ZH = {"minutes": "最快当天", "days": "数天内", "weeks": "数周", "months": "一个月以上"}
_SPEED_EN = {
    "minutes": "same day",
    "days": "within days",
    "weeks": "weeks",
    "months": "a month or more",
}


@dataclass(frozen=True)
class _Why:
    """The "why it fits" phrases that depend on the profile alone (built once per ranking).

    Each names the user's own fact (纳税信用B级, 买方是国企, 缴存公积金), not a generic merit.
    """

    tax: str
    receivables: str
    orders: str
    collateral: str
    purpose: str
    buyers: str
    merchants: str
    years: str
    signals: dict[str, str]


@dataclass
class _Fit:
    score: float
    why: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Ranked:
    """One entry of the ranking: a product with its fit, or a credit-improvement action."""

    channel: str
    score: float
    product: Product | None = None
    fit: _Fit | None = None
    action: CreditAction | None = None


class Recommender:
    """Ranks catalog products and credit-improvement actions for a profile and its reasons."""

    def __init__(
        self, rules: RecommendRules, policy: Policy, catalog: Catalog, taxonomy: Taxonomy
    ) -> None:
        self.rules = rules
        self.policy = policy
        self.catalog = catalog
        self.taxonomy = taxonomy
        self.weights = rules.fit

    # ---- public ----------------------------------------------------------------------------

    def ranking(
        self, profile: Profile, reasons: Sequence[ScoredReason], lang: str = "zh"
    ) -> list[Ranked]:
        """Lenders and actions in the order shown, at most ``max_recommendations``."""
        limit = self.rules.max_recommendations
        picked = self._lenders(profile, reasons, lang)[:limit]
        actions = self._actions(profile, reasons)
        if credit_first(self.policy, profile, reasons):
            if (
                picked
                and picked[0].channel in self.rules.asset_backed
                and lenders_allowed(self.policy, profile)
            ):
                # finance secured by the asset itself (a leased machine, a bill, receivables)
                # leans less on the record: one credit step, then that option
                return (actions[:1] + picked)[:limit]
            return (actions[:2] + picked)[:limit]
        if actions and (profile.symptom is not None or actions[0].score >= self.rules.repair_from):
            # a refusal told, or a reason found: getting the line back is one of the first three
            return (picked[:2] + actions[:1] + picked[2:])[:limit]
        return (picked[: limit - 1] + actions[:1]) if actions else picked[:limit]

    def recommend(
        self, profile: Profile, reasons: Sequence[ScoredReason], lang: str = "zh"
    ) -> list[Recommendation]:
        """Ranked recommendations, best first, diversified across channels."""
        return [
            self._card(entry, lang, profile.residency)
            for entry in self.ranking(profile, reasons, lang)
        ]

    def channel_ranking(
        self, profile: Profile, reasons: Sequence[ScoredReason], n: int = 3
    ) -> list[str]:
        """The channels of the top ``n`` entries of the very ranking ``recommend`` shows."""
        return [entry.channel for entry in self.ranking(profile, reasons)[:n]]

    def _labels(self, section: str, codes: Sequence[str] | None, lang: str) -> str:
        sep = "、" if lang == "zh" else ", "
        return sep.join(self.taxonomy.label(section, c, lang) for c in codes or [])

    def _why(self, profile: Profile, lang: str) -> _Why:
        zh = lang == "zh"
        owned = self._labels("collateral", profile.collateral, lang)
        buyers = self._labels("buyer_types", profile.buyer_types, lang)
        merchants = self._labels("merchant_platforms", profile.merchant_platforms, lang)
        purpose_label = self.taxonomy.label("purposes", profile.need_purpose or "", lang)
        years = f"{profile.years_operating:g}" if profile.years_operating is not None else ""
        receivables = (
            (f"你有{buyers}的应收账款" if zh else f"you hold receivables from a {buyers.lower()}")
            if buyers
            else ("你有大企业/国企的应收账款" if zh else "you hold receivables from large buyers")
        )
        return _Why(
            tax=f"纳税信用{profile.tax_rating}级符合要求" if zh else f"tax rating {profile.tax_rating} qualifies",
            receivables=receivables,
            orders="你手上有订单" if zh else "you have orders in hand",
            collateral=f"你有可用的抵质押物（{owned}）" if zh else f"you have collateral ({owned})",
            purpose=f"适合“{purpose_label}”这类用途" if zh else f"suits '{purpose_label}'",
            buyers=f"你的买方是{buyers}" if zh else f"your buyer is a {buyers.lower()}",
            merchants=f"你是{merchants}" if zh else f"you are a {merchants}",
            years=f"经营{years}年，满足年限要求" if zh else f"{years} years in business meets its minimum",
            signals={name: label.text(lang) for name, label in self.rules.signal_labels.items()},
        )  # fmt: skip

    def _lenders(
        self, profile: Profile, reasons: Sequence[ScoredReason], lang: str
    ) -> list[Ranked]:
        lenders: list[Ranked] = []
        if lenders_allowed(self.policy, profile):
            context = EligibilityContext.of(
                self.policy, profile, reasons=reasons, catalog=self.catalog
            )
            why = self._why(profile, lang)
            indebted = self._debt_found(reasons)
            for product in self.catalog.products:
                if indebted and product.channel in self.policy.consumer_channels:
                    continue  # more unsecured consumer credit would only deepen the debt
                if eligible(product, profile, self.policy, context):
                    fit = self._fit(product, profile, reasons, lang, why)
                    lenders.append(Ranked(product.channel, fit.score, product=product, fit=fit))
        lenders.sort(key=lambda item: -item.score)
        return self._diversify(lenders)

    def _debt_found(self, reasons: Sequence[ScoredReason]) -> bool:
        """Debt too high or spread over many lenders, as a finding (``no_consumer_credit_when``)."""
        limits = self.policy.no_consumer_credit_when
        return any(r.code in limits and r.confidence >= limits[r.code] for r in reasons)

    # ---- fit ---------------------------------------------------------------------------------

    def _fit(
        self,
        product: Product,
        profile: Profile,
        reasons: Sequence[ScoredReason],
        lang: str,
        why: _Why,
    ) -> _Fit:
        w = self.weights
        zh = lang == "zh"
        fit = _Fit(w.base)
        req = product.requirements
        if profile.segment and profile.segment in product.segments:
            fit.score += w.segment_match
        self._requirement(fit, req.tax_rating_in, profile.tax_rating, w.tax_match, why.tax)
        self._requirement(fit, req.needs_receivables_from_large_buyers or None, profile.receivables_large_buyers,
                          w.receivables_match, why.receivables)  # fmt: skip
        self._requirement(fit, req.needs_orders or None, profile.orders_in_hand, w.orders_match,
                          why.orders)  # fmt: skip
        # receivables known from the buyer or the purpose are scored there, not counted twice
        if not (set(req.collateral_any_of or []) == {"receivables"} and holds_receivables(profile)):
            held = held_collateral(profile)
            self._requirement(fit, req.collateral_any_of, held, w.collateral_match, why.collateral)
        self._requirement(fit, req.buyer_types_any_of, profile.buyer_types or None,
                          w.buyer_match, why.buyers)  # fmt: skip
        if req.merchant_of:  # eligibility made sure the user sells there
            fit.score += w.merchant_match
            fit.why.append(why.merchants)
        if req.years_operating_min is not None and profile.years_operating is not None:
            fit.why.append(why.years)  # eligibility made sure it is enough
        if why.buyers in fit.why and why.receivables in fit.why:
            fit.why.remove(why.buyers)  # the receivables phrase already names the buyer
        for name in product.fit_signals:
            if getattr(profile, name) is True:
                fit.score += w.signal_match
                fit.why.append(why.signals.get(name, name))
        boost = self.rules.purpose_boost.get(profile.need_purpose or "", {}).get(
            product.channel, 0.0
        )
        if boost:
            fit.score += boost
            fit.why.append(why.purpose)
        for reason in reasons:
            lift = self.rules.reason_boost.get(reason.code, {}).get(product.channel, 0.0)
            if lift:
                fit.score += lift * reason.confidence
                if reason.confidence >= 0.4:
                    fit.why.append(
                        f"针对“{reason.label}”的情况" if zh else f"works around '{reason.label}'"
                    )
        self._amount(fit, product, profile, zh)
        self._speed(fit, product, profile, zh)
        apr = product.apr
        # a national average or a single reported case is not this product's price
        priced = apr.basis not in {"market_average", "case"}
        if priced and apr.max is not None and apr.max <= w.low_cost_apr:
            fit.score += w.low_cost
            fit.why.append("成本较低" if zh else "low cost")
        if apr.max is not None and apr.max > 24:
            fit.score += w.high_cost
        if product.channel in self.policy.consumer_channels:
            fit.score += w.consumer_default
        fit.score = max(0.05, min(0.99, fit.score))
        return fit

    def _requirement(self, fit: _Fit, need: Any, have: Any, weight: float, why: str) -> None:
        if need is None:
            return
        if have is None:
            fit.score += self.weights.requirement_unknown
            return
        fit.score += weight
        fit.why.append(why)

    def _amount(self, fit: _Fit, product: Product, profile: Profile, zh: bool) -> None:
        need, high = profile.need_amount, product.amount.max
        if need is None or high is None:
            return
        if need <= high:
            fit.score += self.weights.amount_covered
            fit.why.append(
                f"{need / 10000:g}万元在额度范围内" if zh else f"{need:,.0f} is within the limit"
            )
        else:
            fit.score += self.weights.amount_short

    def _speed(self, fit: _Fit, product: Product, profile: Profile, zh: bool) -> None:
        if profile.urgency != "days":
            return
        if product.speed.label in {"minutes", "days"}:
            fit.score += self.weights.fast_when_urgent
            fit.why.append("放款较快，适合急用" if zh else "funds quickly")
        else:
            fit.score += self.weights.slow_when_urgent

    # ---- assembly ----------------------------------------------------------------------------

    def _materials(self, product: Product, residency: str | None, lang: str) -> list[str]:
        """The materials list in ``lang``, with the mainland ID items replaced for a non-mainland
        user (the items are matched on the Chinese list, which the English one follows)."""
        shown = product.materials_in(lang)
        papers = self.policy.identity_documents.get(residency or "")
        if papers is None:
            return shown
        terms = self.policy.identity_terms
        kept = [shown[n] for n, item in enumerate(product.materials)
                if not any(term in item for term in terms)]  # fmt: skip
        return [papers.text(lang), *kept]

    def _card(self, entry: Ranked, lang: str, residency: str | None = None) -> Recommendation:
        zh = lang == "zh"
        if entry.action is not None:
            action = entry.action
            return Recommendation(
                channel="credit_improvement",
                product=action.id,
                title=action.action_in(lang),
                fit=round(entry.score, 2),
                why=action.detail_in(lang),
                apr="不适用（不是贷款）" if zh else "n/a (not a loan)",
                speed=action.time_to_effect_in(lang),
                doc_id=action.doc_id,
            )
        assert entry.product is not None and entry.fit is not None
        product, fit = entry.product, entry.fit
        speed = (_SPEED_ZH if zh else _SPEED_EN)[product.speed.label]
        note = product.speed.note_in(lang)
        why = "；".join(fit.why) if zh else "; ".join(fit.why)
        if not why:
            why = "符合你已说明的条件" if zh else "fits what you told me"
        return Recommendation(
            channel=product.channel,
            product=product.id,
            title=product.name_in(lang),
            provider=product.provider_in(lang),
            fit=round(fit.score, 2),
            why=why,
            apr=product.apr.display("en" if lang == "en" else "zh"),
            speed=(f"{speed}（{note}）" if zh else f"{speed} ({note})") if note else speed,
            materials=self._materials(product, residency, lang),
            doc_id=product.doc_id,
        )

    def _diversify(self, ranked: list[Ranked]) -> list[Ranked]:
        per_channel: dict[str, int] = {}
        first: list[Ranked] = []
        rest: list[Ranked] = []
        for item in ranked:
            count = per_channel.get(item.channel, 0)
            (first if count < self.rules.max_per_channel else rest).append(item)
            per_channel[item.channel] = count + 1
        return first + rest

    def _actions(self, profile: Profile, reasons: Sequence[ScoredReason]) -> list[Ranked]:
        weights = {r.code: r.confidence for r in reasons}
        if lending_forbidden(self.policy, profile):
            for code, weight in self.policy.debt_action_weights.items():
                weights.setdefault(code, weight)
        scored = []
        for action in self.catalog.credit_improvement:
            if any(getattr(profile, f) in values for f, values in action.not_when.items()):
                continue  # pointless for this user (an M-rated taxpayer is not told to reach M)
            matching = [weights[c] for c in action.reasons if c in weights]
            if matching:
                scored.append(Ranked("credit_improvement", max(matching), action=action))
        scored.sort(key=lambda item: -item.score)
        return scored
