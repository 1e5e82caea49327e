"""Compose the reply text from templates in ``prompts/`` (zh, en) with numbered citations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge import Catalog, Taxonomy

from .apr import AprResult
from .turn import Citation, FollowUp, Reason, Recommendation, Warning

Resolver = Callable[[str], Citation]


@dataclass
class Passage:
    """A retrieved passage offered as evidence for the reply."""

    doc_id: str
    heading: str
    title: str
    text: str
    updated: str = ""


class Citations:
    """Numbers sources in order of first use; the same anchor keeps its number."""

    def __init__(self, resolve: Resolver) -> None:
        self.resolve = resolve
        self.items: list[Citation] = []

    def cite(
        self, doc_id: str, heading: str | None = None, title: str = "", updated: str = ""
    ) -> str:
        """The ``[n]`` marker for a document or a ``doc_id#heading`` anchor."""
        if heading is None and "#" in doc_id:
            doc_id, heading = doc_id.split("#", 1)
        if heading is None or not title:
            found = self.resolve(doc_id)
            heading = heading if heading is not None else found.heading
            title, updated = title or found.title, updated or found.updated
        for item in self.items:
            if item.doc_id == doc_id and item.heading == heading:
                return f"[{item.n}]"
        self.items.append(Citation(n=len(self.items) + 1, doc_id=doc_id, heading=heading,
                                   title=title, updated=updated))  # fmt: skip
        return f"[{len(self.items)}]"


class Composer:
    """Fills the reply templates for one language."""

    def __init__(self, prompts_dir: Path, taxonomy: Taxonomy, catalog: Catalog) -> None:
        self.templates = {
            lang: yaml.safe_load((prompts_dir / f"reply.{lang}.yaml").read_text(encoding="utf-8"))
            for lang in ("zh", "en")
        }
        self.taxonomy = taxonomy
        self.actions = {a.id: a for a in catalog.credit_improvement}

    def text(self, lang: str, key: str, **values: object) -> str:
        """One template filled in."""
        return str(self.templates[lang][key]).format(**values)

    def compose(
        self,
        lang: str,
        citations: Citations,
        *,
        reasons: list[Reason],
        possible_only: bool,
        recommendations: list[Recommendation],
        warnings: list[Warning],
        follow_up: FollowUp | None,
        apr: AprResult | None = None,
        apr_asked: bool = False,
        passages: list[Passage] | None = None,
        lead: str | None = None,
        lenders_allowed: bool = True,
    ) -> str:
        """The reply body: lead, diagnosis, plan, alternatives, warnings, question (no sources)."""
        t = self.text
        parts: list[str] = [lead] if lead else []
        if apr is not None:
            verdict = t(lang, "apr_high" if apr.high_cost else "apr_ok")
            parts.append(t(lang, "apr_line", apr=f"{apr.apr:.2f}", method=apr.method,
                           effective=f"{apr.effective:.2f}", verdict=verdict))  # fmt: skip
        elif apr_asked:
            parts.append(t(lang, "apr_missing"))
        if reasons:
            lines = [t(lang, "reasons_header_possible" if possible_only else "reasons_header")]
            for n, reason in enumerate(reasons, 1):
                cite = citations.cite(reason.citations[0]) if reason.citations else ""
                lines.append(t(lang, "reason_line", n=n, label=reason.label,
                               confidence=f"{reason.confidence:.2f}", evidence=reason.evidence,
                               advice=reason.advice, cite=cite))  # fmt: skip
            parts.append("\n".join(lines))
        plan = [r for r in recommendations if r.channel == "credit_improvement"]
        if plan:
            lines = [t(lang, "plan_header")]
            for rec in plan:
                action = self.actions.get(rec.product)
                days = action.days_min if action and action.days_min is not None else 0
                when = t(
                    lang, "plan_now" if days <= 30 else "plan_soon" if days <= 90 else "plan_later"
                )
                lines.append(t(lang, "plan_line", when=when, title=rec.title, detail=rec.speed,
                               cite=citations.cite(rec.citations[0])))  # fmt: skip
            parts.append("\n".join(lines))
        if recommendations:
            header = "recs_header" if lenders_allowed else "recs_none_debt"
            lines = [t(lang, header)]
            for n, rec in enumerate(recommendations, 1):
                cite = citations.cite(rec.citations[0]) if rec.citations else ""
                if rec.channel == "credit_improvement":
                    lines.append(t(lang, "action_line", n=n, title=rec.title, why=rec.why,
                                   speed=rec.speed, cite=cite))  # fmt: skip
                    continue
                channel = self.taxonomy.label("channels", rec.channel, lang)
                separator = "、" if lang == "zh" else ", "
                lines.append(t(lang, "rec_line", n=n, title=rec.title, provider=rec.provider,
                               channel=channel, fit=f"{rec.fit:.2f}", why=rec.why, apr=rec.apr,
                               speed=rec.speed, materials=separator.join(rec.materials[:5]),
                               cite=cite))  # fmt: skip
            parts.append("\n".join(lines))
        if passages:
            lines = [t(lang, "answer_header")]
            for passage in passages:
                cite = citations.cite(
                    passage.doc_id, passage.heading, passage.title, passage.updated
                )
                lines.append(t(lang, "passage_line", text=_excerpt(passage.text), cite=cite))
            parts.append("\n".join(lines))
        if warnings:
            parts.append("\n".join([t(lang, "warnings_header")]
                                   + [t(lang, "warning_line", message=w.message) for w in warnings]))  # fmt: skip
        if follow_up is not None:
            parts.append(t(lang, "follow_up", question=follow_up.question))
        return "\n\n".join(p for p in parts if p)

    def tail(self, lang: str, citations: Citations, disclaimer: bool) -> str:
        """The numbered source list and, for advice, the disclaimer."""
        parts = []
        if citations.items:
            lines = [self.text(lang, "sources_header")]
            for item in citations.items:
                lines.append(self.text(lang, "source_line", n=item.n, title=item.title,
                                       anchor=item.anchor, updated=item.updated or "—"))  # fmt: skip
            parts.append("\n".join(lines))
        if disclaimer:
            parts.append(self.text(lang, "disclaimer"))
        return "\n\n".join(parts)


def _excerpt(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = max(text.rfind(mark, 0, limit) for mark in "。；！？")
    return text[: cut + 1] if cut > 40 else text[:limit] + "…"
