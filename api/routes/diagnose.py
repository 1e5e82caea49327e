"""POST /v1/diagnose: the design.md diagnosis contract, without a session."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..deps import AdvisorDep
from ..schemas import DiagnoseRequest

router = APIRouter(prefix="/v1/diagnose", tags=["diagnose"])


@router.post("")
def diagnose(body: DiagnoseRequest, advisor: AdvisorDep) -> dict[str, Any]:
    """Profile, ranked reasons and recommendations, warnings, missing facts, citations."""
    return advisor.diagnose(body.text).contract()
