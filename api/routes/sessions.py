"""GET and DELETE /v1/sessions/{session_id}."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Response

from ..deps import AdvisorDep
from ..schemas import SESSION_ID

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])
SessionId = Annotated[str, Path(pattern=SESSION_ID)]


@router.get("/{session_id}")
def get_session(session_id: SessionId, advisor: AdvisorDep) -> dict[str, Any]:
    """A session's profile and turns (phone, ID and card numbers are stored masked)."""
    if not advisor.store.exists(session_id):
        raise HTTPException(404, f"No session '{session_id}'; start one with POST /v1/chat.")
    state = advisor.store.load(session_id)
    return {
        "session_id": session_id,
        "profile": state.profile.model_dump(exclude_none=True),
        "turns": state.turns,
        "updated_at": state.updated_at,
    }


@router.delete("/{session_id}", status_code=204)
def delete_session(session_id: SessionId, advisor: AdvisorDep) -> Response:
    """Forget a session."""
    if not advisor.reset(session_id):
        raise HTTPException(404, f"No session '{session_id}'; nothing to delete.")
    return Response(status_code=204)
