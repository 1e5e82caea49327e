"""Domain policy as functions of the profile, read from ``policy.yaml`` (one place, every stage).

Who may be offered a lender at all, which segments a profile can borrow as, which purposes are
business purposes, and when restoring credit comes before any new loan.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from knowledge.rules import Policy

from .profile import Profile

ALL_SEGMENTS = frozenset({"consumer", "sole_proprietor", "sme"})


class ScoredReason(Protocol):
    """What policy and ranking need of a reason (``Reason`` and ``ReasonScore`` both have it)."""

    @property
    def code(self) -> str: ...
    @property
    def confidence(self) -> float: ...
    @property
    def label(self) -> str: ...


def lending_forbidden(policy: Policy, profile: Profile) -> bool:
    """True when no lender may be offered whatever the record: borrowing to repay, 购房/股市.

    A home bought with a housing loan (公积金/商贷) is a normal purchase: nothing is forbidden,
    though no product of the catalog finances it.
    """
    if profile.need_purpose == "home_purchase" and profile.housing_loan:
        return False
    return bool(profile.borrowing_to_repay) or profile.need_purpose in policy.never_lend_purposes


def over_indebted(policy: Policy, profile: Profile) -> bool:
    """Borrowing to repay, stopped repaying, too many lenders, repayments eating income, 失信."""
    rule = policy.over_indebted
    ratio = profile.debt_to_income()
    return (
        bool(profile.borrowing_to_repay)
        or profile.overdue == "current"
        or (profile.lender_count is not None and profile.lender_count >= rule.lender_count_min)
        or (ratio is not None and ratio >= rule.debt_to_income_min)
        or (rule.judicial_record and bool(profile.judicial_record))
    )


def lenders_allowed(policy: Policy, profile: Profile) -> bool:
    """Whether any lender may be recommended: lending not forbidden, the borrower not over-indebted."""
    return not lending_forbidden(policy, profile) and not over_indebted(policy, profile)


def credit_first(policy: Policy, profile: Profile, reasons: Sequence[ScoredReason]) -> bool:
    """Whether restoring credit is ranked before any lender."""
    if not lenders_allowed(policy, profile):
        return True
    thresholds = policy.credit_first_reasons
    return any(r.code in thresholds and r.confidence >= thresholds[r.code] for r in reasons)


def borrows_for_business(policy: Policy, profile: Profile) -> bool:
    """A business purpose, or no purpose from a 个体户/企业."""
    purpose = profile.need_purpose
    return purpose in policy.business_purposes or (purpose is None and profile.is_business)


def segments_for(policy: Policy, profile: Profile) -> frozenset[str]:
    """The segments whose products this profile can use."""
    if profile.segment:
        return frozenset({profile.segment})
    if profile.need_purpose in policy.business_purposes:
        return frozenset({"sole_proprietor", "sme"})
    if profile.need_purpose in policy.consumer_purposes:
        return frozenset({"consumer"})
    if profile.platform in policy.consumer_platforms and profile.need_purpose is None:
        return frozenset({"consumer"})  # a 借呗/花呗 refusal with no business cue: a person
    return ALL_SEGMENTS


def refused_products(policy: Policy, profile: Profile) -> frozenset[str]:
    """The products of the platform that refused, cut or is used up for the user (not offered)."""
    if profile.symptom is None and not profile.platform_maxed:
        return frozenset()
    return frozenset(policy.platform_products.get(profile.platform or "", []))


def platform_wide(policy: Policy, reasons: Sequence[ScoredReason]) -> bool:
    """Whether a reason that holds for the whole lender is likely enough (then its siblings go too)."""
    wide = policy.platform_wide_reasons
    return any(r.code in wide and r.confidence >= wide[r.code] for r in reasons)


def holds_receivables(profile: Profile) -> bool:
    """Receivables owed by a large buyer, or a receivables gap: collateral of their own."""
    return bool(profile.receivables_large_buyers) or profile.need_purpose == "receivable_gap"


def held_collateral(profile: Profile) -> list[str] | None:
    """What the user holds that can secure a loan; None when unknown.

    "没有抵押" means no property: receivables (``holds_receivables``) still count, since
    应收账款质押 and 保理 lend on them.
    """
    if profile.collateral is None:
        return None
    held = list(profile.collateral)
    if holds_receivables(profile) and "receivables" not in held:
        held.append("receivables")
    return held
