"""GET /v1/search: hybrid retrieval over the knowledge base."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request

from ..deps import AdvisorDep, RateLimiterDep, SettingsDep
from ..schemas import NOT_BLANK, QUERY_ERRORS, SearchResult, checked_text, errors

router = APIRouter(prefix="/v1/search", tags=["search"])


@router.get("", response_model=list[SearchResult], responses=errors(*QUERY_ERRORS, 413))
def search(
    request: Request,
    advisor: AdvisorDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    q: Annotated[
        str, Query(min_length=1, pattern=NOT_BLANK, description="The question or keywords.")
    ],
    kind: Annotated[list[str], Query(default_factory=list)],
    channel: Annotated[list[str], Query(default_factory=list)],
    k: Annotated[int, Query(ge=1, le=50)] = 5,
    mode: Literal["hybrid", "bm25", "dense"] = "hybrid",
) -> list[dict[str, object]]:
    """Passages best first; ``score`` is higher-is-more-relevant."""
    if not q.strip():
        raise HTTPException(422, "Parameter 'q' is empty; pass the words to search for.")
    try:
        checked_text(q)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    if len(q) > settings.max_message_chars:
        raise HTTPException(
            413,
            f"Parameter 'q' is longer than {settings.max_message_chars} characters; shorten it.",
        )
    limiter.charge_texts(request, [q])
    filters = {key: values for key, values in (("kind", kind), ("channels", channel)) if values}
    hits = advisor.index.search(q, k, mode=mode, filters=filters or None)
    return [hit.as_dict() for hit in hits]
