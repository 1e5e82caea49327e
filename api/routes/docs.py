"""GET /v1/docs/{doc_id}: a knowledge document, so that citations link somewhere."""

from __future__ import annotations

import html
import re
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse

from ..deps import AdvisorDep
from ..schemas import QUERY_ERRORS, errors

router = APIRouter(prefix="/v1/docs", tags=["docs"])
_DOC_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def _render(markdown: str) -> str:
    """A small, safe Markdown subset (headings, lists, bold, paragraphs) as HTML."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", markdown.strip()):
        lines = block.strip().splitlines()
        if lines and lines[0].startswith("#"):
            level = min(len(lines[0]) - len(lines[0].lstrip("#")), 4)
            text = html.escape(lines[0].lstrip("# ").strip())
            out.append(f'<h{level} id="{text}">{text}</h{level}>')
            lines = lines[1:]
        if not lines:
            continue
        items = [
            html.escape(line.strip()[2:]) for line in lines if line.strip().startswith(("- ", "* "))
        ]
        body = items if len(items) == len(lines) else [html.escape(" ".join(lines))]
        body = [re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", part) for part in body]
        if len(items) == len(lines):
            out.append("<ul>" + "".join(f"<li>{item}</li>" for item in body) + "</ul>")
        else:
            out.append(f"<p>{body[0]}</p>")
    return "\n".join(out)


_DOCUMENT_RESPONSES = {
    200: {
        "description": "The document as JSON, or as an HTML page with ``format=html``.",
        "content": {"application/json": {}, "text/html": {"schema": {"type": "string"}}},
    },
    **errors(404, *QUERY_ERRORS),
}


@router.get("/{doc_id}", response_model=None, responses=_DOCUMENT_RESPONSES)
def document(
    doc_id: str, advisor: AdvisorDep, format: Literal["json", "html"] = "json"
) -> dict[str, Any] | HTMLResponse:
    """The document's front matter and Markdown body (``format=html`` for a readable page)."""
    if not _DOC_ID.match(doc_id):
        raise HTTPException(
            404, f"No document '{doc_id[:60]}'; see GET /v1/search for document ids."
        )
    doc = advisor.documents.get(doc_id)
    if doc is None:
        raise HTTPException(404, f"No document '{doc_id}'; see GET /v1/search for document ids.")
    headings = [
        line.lstrip("# ").strip() for line in doc.body.splitlines() if line.startswith("## ")
    ]
    if format == "html":
        sources = "".join(f"<li>{html.escape(s)}</li>" for s in doc.meta.sources)
        page = (
            f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{html.escape(doc.title)}</title><link rel="stylesheet" href="/static/style.css"></head>'
            f'<body class="doc"><main><p class="meta">{html.escape(doc.id)} · 更新于 {doc.meta.updated}</p>'
            f"{_render(doc.body)}<h2>来源（front matter）</h2><ul>{sources}</ul></main></body></html>"
        )
        return HTMLResponse(page)
    return {
        "id": doc.id,
        "title": doc.title,
        "kind": doc.meta.kind,
        "updated": doc.meta.updated.isoformat(),
        "topics": doc.meta.topics,
        "channels": doc.meta.channels,
        "reasons": doc.meta.reasons,
        "sources": doc.meta.sources,
        "headings": headings,
        "body": doc.body,
    }
