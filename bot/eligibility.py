"""Hard eligibility: whether a catalog product can be offered to a profile at all.

A product is out when it is closed, when consumer credit would fund a business, when the
purpose is not one it allows, when the segment does not match, when it is the product that just
refused the user, or when a stated requirement (years operating, tax rating, collateral,
receivables, orders, no judicial record, social insurance, age, students) is known to fail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from knowledge import Product
from knowledge.rules import Policy

from .policy import borrows_for_business, refused_products, segments_for
from .profile import Profile


@dataclass(frozen=True)
class EligibilityContext:
    """What eligibility needs of the profile, computed once per ranking."""

    segments: frozenset[str]
    business: bool
    refused: frozenset[str]
    today: dt.date
    """Time-limited programmes are open or ended as of this date."""

    @classmethod
    def of(
        cls, policy: Policy, profile: Profile, today: dt.date | None = None
    ) -> EligibilityContext:
        """The context for ``profile`` (programmes judged as of ``today``, default the date)."""
        return cls(
            segments=segments_for(policy, profile),
            business=borrows_for_business(policy, profile),
            refused=refused_products(policy, profile),
            today=today or dt.date.today(),
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
    if product.id in context.refused:
        return False
    return _requirements_met(product, profile)
