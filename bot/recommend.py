"""Recommendation: hard eligibility filters over the catalog, a fit score, channel diversity.

Never recommended: consumer credit for business use, any lender for 购房/股市/还贷 purposes or to
someone borrowing to repay loans (then only credit_improvement), lenders a student cannot use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from knowledge import Catalog, Product, Taxonomy

from .profile import Profile
from .turn import Reason, Recommendation

_SPEED_ZH = {"minutes": "最快当天", "days": "数天内", "weeks": "数周", "months": "一个月以上"}
_SPEED_EN = {
    "minutes": "same day",
    "days": "within days",
    "weeks": "weeks",
    "months": "a month or more",
}


class ScoredReason(Protocol):
    """What ranking needs of a reason (``Reason`` and ``ReasonScore`` both have it)."""

    @property
    def code(self) -> str: ...
    @property
    def confidence(self) -> float: ...
    @property
    def label(self) -> str: ...


def _at_least(need: Any, have: Any) -> bool:
    return bool(have >= need)


def _member(need: Any, have: Any) -> bool:
    return have in need


def _overlaps(need: Any, have: Any) -> bool:
    return bool(set(need) & set(have))


def _has(need: Any, have: Any) -> bool:
    return bool(have)


def _lacks(need: Any, have: Any) -> bool:
    return not have


@dataclass(frozen=True)
class _Context:
    """What depends on the profile alone, computed once per ranking instead of per product."""

    segments: frozenset[str]
    business: bool
    refused: frozenset[str]
    tax_why: str
    receivables_why: str
    orders_why: str
    collateral_why: str
    purpose_why: str


@dataclass
class _Fit:
    score: float
    why: list[str] = field(default_factory=list)


class Recommender:
    """Ranks catalog products and credit-improvement actions for a profile and its reasons."""

    def __init__(self, knowledge_dir: Path, catalog: Catalog, taxonomy: Taxonomy) -> None:
        self.policy: dict[str, Any] = yaml.safe_load(
            (knowledge_dir / "recommend.yaml").read_text(encoding="utf-8")
        )
        self.catalog = catalog
        self.taxonomy = taxonomy
        self.weights: dict[str, float] = self.policy["fit"]

    # ---- public ----------------------------------------------------------------------------

    def lenders_allowed(self, profile: Profile) -> bool:
        """False when no lender may be recommended (borrowing to repay, forbidden purposes)."""
        if profile.borrowing_to_repay:
            return False
        return profile.need_purpose not in self.policy["never_lend_purposes"]

    def recommend(
        self, profile: Profile, reasons: list[Reason], lang: str = "zh"
    ) -> list[Recommendation]:
        """Ranked recommendations, best first, diversified across channels."""
        limit = int(self.policy["max_recommendations"])
        picked = [
            self._card(product, fit, lang)
            for _, product, fit in self._lenders(profile, reasons, lang)[:limit]
        ]
        actions = self._actions(profile, reasons, lang)
        if self._credit_first(profile, reasons):
            return (actions[:2] + picked)[:limit]
        return (picked[: limit - 1] + actions[:1]) if actions else picked[:limit]

    def channel_ranking(
        self, profile: Profile, reasons: Sequence[ScoredReason], n: int = 3
    ) -> list[str]:
        """The channels of the top ``n`` recommendations, without building them (fast path)."""
        lenders = [p.channel for _, p, _ in self._lenders(profile, reasons, "zh")[:n]]
        has_action = any(
            c in action.reasons
            for action in self.catalog.credit_improvement
            for c in self._action_weights(profile, reasons)
        )
        actions = ["credit_improvement"] if has_action else []
        if self._credit_first(profile, reasons):
            return (actions + lenders)[:n]
        return (
            (lenders[: n - 1] + actions)
            if actions and len(lenders) >= n
            else (lenders + actions)[:n]
        )

    def _context(self, profile: Profile, lang: str) -> _Context:
        zh = lang == "zh"
        purpose = profile.need_purpose
        owned = ", ".join(
            self.taxonomy.label("collateral", c, lang) for c in profile.collateral or []
        )
        purpose_label = self.taxonomy.label("purposes", purpose or "", lang)
        refused = self.policy["platform_products"].get(profile.platform or "", [])
        return _Context(
            segments=frozenset(self._segments(profile)),
            business=purpose in self.policy["business_purposes"]
            or (purpose is None and profile.is_business),
            refused=frozenset(refused if profile.symptom is not None else []),
            tax_why=f"纳税信用{profile.tax_rating}级符合要求" if zh else f"tax rating {profile.tax_rating} qualifies",
            receivables_why="你有大企业/国企的应收账款" if zh else "you hold receivables from large buyers",
            orders_why="你手上有订单" if zh else "you have orders in hand",
            collateral_why=f"你有可用的抵质押物（{owned}）" if zh else f"you have collateral ({owned})",
            purpose_why=f"适合“{purpose_label}”这类用途" if zh else f"suits '{purpose_label}'",
        )  # fmt: skip

    def _lenders(
        self, profile: Profile, reasons: Sequence[ScoredReason], lang: str
    ) -> list[tuple[float, Product, _Fit]]:
        lenders: list[tuple[float, Product, _Fit]] = []
        if self.lenders_allowed(profile) and profile.overdue != "current":
            context = self._context(profile, lang)
            for product in self.catalog.products:
                if self._eligible(product, profile, context):
                    fit = self._fit(product, profile, reasons, lang, context)
                    lenders.append((fit.score, product, fit))
        lenders.sort(key=lambda item: -item[0])
        return self._diversify(lenders)

    # ---- filters -----------------------------------------------------------------------------

    def _segments(self, profile: Profile) -> set[str]:
        if profile.segment:
            return {profile.segment}
        if profile.need_purpose in self.policy["business_purposes"]:
            return {"sole_proprietor", "sme"}
        if profile.need_purpose in self.policy["consumer_purposes"]:
            return {"consumer"}
        if profile.platform in self.policy["consumer_platforms"] and profile.need_purpose is None:
            return {"consumer"}  # a 借呗/花呗 refusal with no business cue: a personal borrower
        return {"consumer", "sole_proprietor", "sme"}

    def _eligible(self, product: Product, profile: Profile, context: _Context) -> bool:
        if not product.available:
            return False
        purpose = profile.need_purpose
        if context.business and product.channel in self.policy["consumer_channels"]:
            return False
        if purpose and (
            purpose in product.purposes_forbidden or purpose not in product.purposes_allowed
        ):
            return False
        if not context.segments.intersection(product.segments):
            return False
        if product.id in context.refused:
            return False
        req = product.requirements
        if profile.is_student and not req.students_allowed:
            return False
        if profile.age is not None and (
            (req.age_min is not None and profile.age < req.age_min)
            or (req.age_max is not None and profile.age > req.age_max)
        ):
            return False
        checks: list[tuple[Any, Any, Callable[[Any, Any], bool]]] = [
            (req.years_operating_min, profile.years_operating, _at_least),
            (req.tax_rating_in, profile.tax_rating, _member),
            (req.collateral_any_of, profile.collateral, _overlaps),
            (req.needs_receivables_from_large_buyers or None, profile.receivables_large_buyers, _has),
            (req.needs_orders or None, profile.orders_in_hand, _has),
            (req.no_judicial_record or None, profile.judicial_record, _lacks),
            (req.needs_social_insurance or None, profile.social_insurance, _has),
        ]  # fmt: skip
        for need, have, ok in checks:
            if need is not None and have is not None and not ok(need, have):
                return False
        return True

    # ---- fit ---------------------------------------------------------------------------------

    def _fit(
        self,
        product: Product,
        profile: Profile,
        reasons: Sequence[ScoredReason],
        lang: str,
        context: _Context,
    ) -> _Fit:
        w = self.weights
        zh = lang == "zh"
        fit = _Fit(w["base"])
        req = product.requirements
        if profile.segment and profile.segment in product.segments:
            fit.score += w["segment_match"]
        self._requirement(
            fit, req.tax_rating_in, profile.tax_rating, w["tax_match"], context.tax_why
        )
        self._requirement(fit, req.needs_receivables_from_large_buyers or None, profile.receivables_large_buyers,
                          w["receivables_match"], context.receivables_why)  # fmt: skip
        self._requirement(fit, req.needs_orders or None, profile.orders_in_hand, w["orders_match"],
                          context.orders_why)  # fmt: skip
        self._requirement(fit, req.collateral_any_of, profile.collateral, w["collateral_match"],
                          context.collateral_why)  # fmt: skip
        if (
            req.collateral_any_of
            and profile.collateral is None
            and profile.need_purpose == "receivable_gap"
        ):
            fit.score -= w["requirement_unknown"] / 2  # receivables are the collateral here
        boost = (
            self.policy["purpose_boost"]
            .get(profile.need_purpose or "", {})
            .get(product.channel, 0.0)
        )
        if boost:
            fit.score += boost
            fit.why.append(context.purpose_why)
        for reason in reasons:
            lift = self.policy["reason_boost"].get(reason.code, {}).get(product.channel, 0.0)
            if lift:
                fit.score += lift * reason.confidence
                if reason.confidence >= 0.4:
                    fit.why.append(
                        f"针对“{reason.label}”的情况" if zh else f"works around '{reason.label}'"
                    )
        self._amount(fit, product, profile, zh)
        self._speed(fit, product, profile, zh)
        apr = product.apr
        if apr.max is not None and apr.max <= w["low_cost_apr"]:
            fit.score += w["low_cost"]
            fit.why.append("成本较低" if zh else "low cost")
        if apr.max is not None and apr.max > 24:
            fit.score += w["high_cost"]
        if product.channel in self.policy["consumer_channels"]:
            fit.score += w["consumer_default"]
        fit.score = max(0.05, min(0.99, fit.score))
        return fit

    def _requirement(self, fit: _Fit, need: Any, have: Any, weight: float, why: str) -> None:
        if need is None:
            return
        if have is None:
            fit.score += self.weights["requirement_unknown"]
            return
        fit.score += weight
        fit.why.append(why)

    def _amount(self, fit: _Fit, product: Product, profile: Profile, zh: bool) -> None:
        need, high = profile.need_amount, product.amount.max
        if need is None or high is None:
            return
        if need <= high:
            fit.score += self.weights["amount_covered"]
            fit.why.append(
                f"{need / 10000:g}万元在额度范围内" if zh else f"{need:,.0f} is within the limit"
            )
        else:
            fit.score += self.weights["amount_short"]

    def _speed(self, fit: _Fit, product: Product, profile: Profile, zh: bool) -> None:
        if profile.urgency != "days":
            return
        if product.speed.label in {"minutes", "days"}:
            fit.score += self.weights["fast_when_urgent"]
            fit.why.append("放款较快，适合急用" if zh else "funds quickly")
        else:
            fit.score += self.weights["slow_when_urgent"]

    # ---- assembly ----------------------------------------------------------------------------

    def _card(self, product: Product, fit: _Fit, lang: str) -> Recommendation:
        zh = lang == "zh"
        speed = (_SPEED_ZH if zh else _SPEED_EN)[product.speed.label]
        why = "；".join(fit.why) if zh else "; ".join(fit.why)
        if not why:
            why = "符合你已说明的条件" if zh else "fits what you told me"
        return Recommendation(
            channel=product.channel,
            product=product.id,
            title=product.name,
            provider=product.provider,
            fit=round(fit.score, 2),
            why=why,
            apr=product.apr.display(),
            speed=f"{speed}（{product.speed.note}）" if zh and product.speed.note else speed,
            materials=product.materials,
            citations=[product.doc_id],
        )

    def _diversify(
        self, ranked: list[tuple[float, Product, _Fit]]
    ) -> list[tuple[float, Product, _Fit]]:
        per_channel: dict[str, int] = {}
        first: list[tuple[float, Product, _Fit]] = []
        rest: list[tuple[float, Product, _Fit]] = []
        for item in ranked:
            channel = item[1].channel
            count = per_channel.get(channel, 0)
            (first if count < int(self.policy["max_per_channel"]) else rest).append(item)
            per_channel[channel] = count + 1
        return first + rest

    def _action_weights(
        self, profile: Profile, reasons: Sequence[ScoredReason]
    ) -> dict[str, float]:
        weights = {r.code: r.confidence for r in reasons}
        if not self.lenders_allowed(profile):
            weights.setdefault("high_debt", 0.8)
            weights.setdefault("multi_lending", 0.6)
        return weights

    def _actions(self, profile: Profile, reasons: list[Reason], lang: str) -> list[Recommendation]:
        weights = self._action_weights(profile, reasons)
        scored = []
        for action in self.catalog.credit_improvement:
            matching = [weights[c] for c in action.reasons if c in weights]
            if matching:
                scored.append((max(matching), action))
        scored.sort(key=lambda item: -item[0])
        zh = lang == "zh"
        return [
            Recommendation(
                channel="credit_improvement",
                product=action.id,
                title=action.action,
                fit=round(score, 2),
                why=action.detail,
                apr="不适用（不是贷款）" if zh else "n/a (not a loan)",
                speed=action.time_to_effect,
                citations=[action.doc_id],
            )
            for score, action in scored
        ]

    def _credit_first(self, profile: Profile, reasons: Sequence[ScoredReason]) -> bool:
        if not self.lenders_allowed(profile) or profile.overdue == "current":
            return True
        thresholds: dict[str, float] = self.policy["credit_first_reasons"]
        return any(r.code in thresholds and r.confidence >= thresholds[r.code] for r in reasons)
