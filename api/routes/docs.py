"""GET /v1/docs/{doc_id}: a knowledge document, so that citations link somewhere."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse

from knowledge import KnowledgeDoc, Taxonomy

from ..deps import AdvisorDep
from ..schemas import QUERY_ERRORS, errors

router = APIRouter(prefix="/v1/docs", tags=["docs"])
_DOC_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


_CODE = re.compile(r"`([^`\n]+)`")


def page_url(doc_id: str) -> str:
    """Where a document's readable page is."""
    return f"/v1/docs/{doc_id}?format=html"


def _inline(text: str, titles: Mapping[str, str]) -> str:
    """Escaped text with **bold**; a `doc-id` of a known document becomes a link to its page,
    named by its title; other `code` stays code."""

    def code(match: re.Match[str]) -> str:
        name = match.group(1)
        title = titles.get(html.unescape(name))
        if title is None:
            return f"<code>{name}</code>"
        return (
            f'<a class="doc-link" href="{page_url(html.unescape(name))}">{html.escape(title)}</a>'
        )

    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(text))
    return _CODE.sub(code, escaped)


def _render(markdown: str, titles: Mapping[str, str]) -> str:
    """A small, safe Markdown subset (headings, lists, bold, code, paragraphs) as HTML; the ids
    of other documents in `code` become links to them."""
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
        items = [line.strip()[2:] for line in lines if line.strip().startswith(("- ", "* "))]
        if len(items) == len(lines):
            out.append("<ul>" + "".join(f"<li>{_inline(i, titles)}</li>" for i in items) + "</ul>")
        else:
            out.append(f"<p>{_inline(' '.join(lines), titles)}</p>")
    return "\n".join(out)


def _labels(taxonomy: Taxonomy, section: str, codes: list[str]) -> str:
    return "、".join(html.escape(taxonomy.label(section, code)) for code in codes)


def _page(doc: KnowledgeDoc, titles: Mapping[str, str], taxonomy: Taxonomy) -> str:
    """The readable page of a document: its body, what it is about (labels, not codes), sources."""
    about = [
        (heading, _labels(taxonomy, section, codes))
        for heading, section, codes in (
            ("相关渠道", "channels", doc.meta.channels),
            ("相关原因", "reasons", doc.meta.reasons),
        )
        if codes
    ]
    facts = "".join(f'<p class="meta">{heading}：{text}</p>' for heading, text in about)
    sources = "".join(f"<li>{html.escape(s)}</li>" for s in doc.meta.sources)
    return (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{html.escape(doc.title)}</title><link rel="stylesheet" href="/static/style.css"></head>'
        f'<body class="doc"><main><p class="meta">更新于 {doc.meta.updated}</p>{facts}'
        f"{_render(doc.body, titles)}<h2>来源</h2><ul>{sources}</ul></main></body></html>"
    )


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
        titles = {other.id: other.title for other in advisor.documents.values()}
        return HTMLResponse(_page(doc, titles, advisor.taxonomy))
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
