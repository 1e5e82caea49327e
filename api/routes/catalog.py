"""GET /v1/channels: the product catalog, filterable by segment, channel and purpose."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from ..deps import AdvisorDep
from ..schemas import QUERY_ERRORS, errors

router = APIRouter(prefix="/v1/channels", tags=["channels"])


@router.get("", responses=errors(*QUERY_ERRORS))
def channels(
    advisor: AdvisorDep,
    segment: str | None = None,
    channel: str | None = None,
    purpose: str | None = None,
) -> dict[str, Any]:
    """Products (and credit-improvement actions) matching every filter given."""
    taxonomy = advisor.taxonomy
    for name, value, section in (("segment", segment, "segments"), ("channel", channel, "channels"),
                                 ("purpose", purpose, "purposes")):  # fmt: skip
        if value is not None and value not in taxonomy.codes(section):
            known = ", ".join(sorted(taxonomy.codes(section)))
            raise HTTPException(422, f"Unknown {name} '{value}'; use one of: {known}.")
    products = [
        p.model_dump(mode="json")
        for p in advisor.catalog.products
        if (segment is None or segment in p.segments)
        and (channel is None or p.channel == channel)
        and (purpose is None or purpose in p.purposes_allowed)
    ]
    actions = (
        [a.model_dump(mode="json") for a in advisor.catalog.credit_improvement]
        if channel in {None, "credit_improvement"} and purpose is None
        else []
    )
    return {"products": products, "credit_improvement": actions}
