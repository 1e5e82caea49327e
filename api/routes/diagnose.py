"""POST /v1/diagnose: the design.md diagnosis contract, without a session."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from bot.pii import mask_pii_in

from ..deps import AdvisorDep, RateLimiterDep
from ..schemas import BODY_ERRORS, DiagnoseRequest, errors

router = APIRouter(prefix="/v1/diagnose", tags=["diagnose"])


@router.post("", responses=errors(*BODY_ERRORS))
def diagnose(
    request: Request, body: DiagnoseRequest, advisor: AdvisorDep, limiter: RateLimiterDep
) -> dict[str, Any]:
    """Profile, ranked reasons and recommendations, warnings, missing facts, citations."""
    limiter.charge_texts(request, [body.text])
    contract: dict[str, Any] = mask_pii_in(advisor.diagnose(body.text).contract())
    return contract
