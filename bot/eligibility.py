"""Hard eligibility: whether a catalog product can be offered to a profile at all.

A product is out when it is closed, when consumer credit would fund a business, when the
purpose is not one it allows, when the segment does not match, when it is the product that just
refused the user (or a sibling from the same lender when the reason holds for the whole lender),
when it serves only merchants of a platform the user does not sell on, when the user's buyers are
not the kind it finances, or when a stated requirement (years operating, tax rating, collateral
actually held, receivables, orders, no judicial record, social insurance, age, students) is
known to fail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from knowledge import Catalog, Product
from knowledge.rules import Policy

from .policy import (
    ScoredReason,
    borrows_for_business,
    held_collateral,
    platform_wide,
    refused_products,
    segments_for,
)
from .profile import Profile


@dataclass(frozen=True)
class EligibilityContext:
    """What eligibility needs of the profile, computed once per ranking."""

    segments: frozenset[str]
    business: bool
    refused: frozenset[str]
    today: dt.date
    """Time-limited programmes are open or ended as of this date."""
    refused_providers: frozenset[str] = frozenset()
    """Lenders whose every product is out: the refusing lender when the reason is lender-wide."""

    @classmethod
    def of(
        cls,
        policy: Policy,
        profile: Profile,
        today: dt.date | None = None,
        reasons: Sequence[ScoredReason] = (),
        catalog: Catalog | None = None,
    ) -> EligibilityContext:
        """The context for ``profile`` (programmes judged as of ``today``, default the date).

        With ``catalog`` and a lender-wide reason among ``reasons``, the refusing product's
        siblings (same provider) are out too.
        """
        refused = refused_products(policy, profile)
        providers: frozenset[str] = frozenset()
        if catalog is not None and refused and platform_wide(policy, reasons):
            providers = frozenset(p.provider for p in catalog.products if p.id in refused)
        return cls(
            segments=segments_for(policy, profile),
            business=borrows_for_business(policy, profile),
            refused=refused,
            today=today or dt.date.today(),
            refused_providers=providers,
        )


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


def _requirements_met(product: Product, profile: Profile) -> bool:
    req = product.requirements
    if profile.is_student and not req.students_allowed:
        return False
    if req.merchant_of and not set(req.merchant_of) & set(profile.merchant_platforms or []):
        return False  # a merchant loan needs the merchant account: never offered on a guess
    if req.buyer_types_any_of and profile.buyer_types:
        if not set(req.buyer_types_any_of) & set(profile.buyer_types):
            return False
    if profile.age is not None and (
        (req.age_min is not None and profile.age < req.age_min)
        or (req.age_max is not None and profile.age > req.age_max)
    ):
        return False
    checks: list[tuple[Any, Any, Callable[[Any, Any], bool]]] = [
        (req.years_operating_min, profile.years_operating, _at_least),
        (req.tax_rating_in, profile.tax_rating, _member),
        (req.collateral_any_of, held_collateral(profile), _overlaps),
        (req.needs_receivables_from_large_buyers or None, profile.receivables_large_buyers, _has),
        (req.needs_orders or None, profile.orders_in_hand, _has),
        (req.no_judicial_record or None, profile.judicial_record, _lacks),
        (req.needs_social_insurance or None, profile.social_insurance, _has),
    ]  # fmt: skip
    return all(need is None or have is None or ok(need, have) for need, have, ok in checks)


def eligible(
    product: Product, profile: Profile, policy: Policy, context: EligibilityContext
) -> bool:
    """Whether ``product`` may be offered to ``profile``."""
    if not product.is_open(context.today):
        return False
    purpose = profile.need_purpose
    if context.business and product.channel in policy.consumer_channels:
        return False
    if purpose and (
        purpose in product.purposes_forbidden or purpose not in product.purposes_allowed
    ):
        return False
    if not context.segments.intersection(product.segments):
        return False
    if product.id in context.refused or product.provider in context.refused_providers:
        return False
    return _requirements_met(product, profile)
