"""GET and DELETE /v1/sessions/{session_id}: only ids this server issued (others get 404)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from bot.pii import mask_pii_in

from ..deps import AdvisorDep, known_session
from ..schemas import SESSION_ID, errors

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])
SessionId = Annotated[str, Path(pattern=SESSION_ID, description="An id returned by POST /v1/chat.")]


@router.get("/{session_id}", responses=errors(404, 422, 429))
def get_session(session_id: SessionId, advisor: AdvisorDep) -> dict[str, Any]:
    """A session's profile and turns (phone, ID and card numbers are stored masked)."""
    state = advisor.store.load(known_session(advisor, session_id))
    body: dict[str, Any] = mask_pii_in(
        {
            "session_id": session_id,
            "profile": state.profile.model_dump(exclude_none=True),
            "turns": state.turns,
            "updated_at": state.updated_at,
        }
    )
    return body


@router.delete("/{session_id}", status_code=204, responses=errors(404, 422, 429))
def delete_session(session_id: SessionId, advisor: AdvisorDep) -> Response:
    """Forget a session."""
    advisor.reset(known_session(advisor, session_id))
    return Response(status_code=204)
