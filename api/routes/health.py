"""GET /healthz."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..deps import AdvisorDep

router = APIRouter(tags=["health"])


@router.get("/healthz", responses={})
def healthz(advisor: AdvisorDep) -> dict[str, Any]:
    """Liveness plus what the advisor has loaded."""
    index = advisor.index
    return {
        "status": "ok",
        "documents": len({c.doc_id for c in index.chunks}),
        "chunks": len(index.chunks),
        "products": len(advisor.catalog.products),
        "retrieval": "hybrid" if index.dense_available else "bm25",
    }
