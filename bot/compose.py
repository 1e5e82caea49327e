"""Compose the reply text from templates in ``prompts/`` (zh, en) with the cite stage's markers."""

from __future__ import annotations

from .context import TurnContext
from .knowledge import Knowledge
from .respond import CJK
from .turn import Recommendation


class Composer:
    """Fills the reply templates for one language."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        self.taxonomy = knowledge.taxonomy
        self.actions = {a.id: a for a in knowledge.catalog.credit_improvement}

    def text(self, lang: str, key: str, **values: object) -> str:
        """One template filled in."""
        return self.knowledge.template(lang, key, **values)

    def compose(
        self, ctx: TurnContext, lead: str | None, lenders_allowed: bool, recorded: str = ""
    ) -> str:
        """The reply body: lead, the direct answer, what was recorded, then the advice — whole
        in the full view, only what changed in the delta view — warnings and the question."""
        lang = ctx.lang
        parts: list[str] = [lead] if lead else []
        if ctx.apr is not None:  # a rate the user gave, computed: that is the direct answer
            parts.append(self._apr(ctx))
        if ctx.answer is not None:
            marks = "".join(ctx.markers.get(a, "") for a in ctx.answer.anchors)
            first, _, rest = ctx.answer.text.partition("\n")
            parts.append(first + marks + ("\n" + rest if rest else ""))
        if recorded:
            parts.append(self.text(lang, "recorded", facts=recorded))
        if ctx.apr is None:
            parts.append(self._apr(ctx))  # what to tell for a cost question without figures
        delta = ctx.view == "delta"
        parts.append(self._reasons(ctx, "reasons_new_header" if delta else None))
        if delta:
            parts.append(self._dropped(ctx))
        recommendations = ctx.visible_recommendations
        parts.append(self._plan(ctx))
        if recommendations and delta:
            lines = [self.text(lang, "recs_changed_header")]
            lines += [self._short(ctx, n, rec) for n, rec in enumerate(recommendations, 1)]
            parts.append("\n".join(lines))
        elif recommendations:
            header = "recs_header" if lenders_allowed else "recs_none_debt"
            lines = [self.text(lang, header)]
            lines += [self._recommendation(ctx, n, rec) for n, rec in enumerate(recommendations, 1)]
            parts.append("\n".join(lines))
        if ctx.passages and (ctx.answer is None or not delta):
            lines = [self.text(lang, "answer_header")]
            used = set(ctx.answer.anchors) if ctx.answer else set()
            named: set[str] = {a.partition("#")[0] for a in used}
            for passage in ctx.passages:
                anchor = f"{passage.doc_id}#{passage.heading}"
                if anchor in used:
                    continue
                cite = ctx.markers.get(anchor, "")
                if lang == "en" and CJK.search(passage.text):
                    # an English reply does not quote Chinese: it names the document, once
                    if passage.doc_id not in named:
                        named.add(passage.doc_id)
                        lines.append(self.text(lang, "passage_in_document",
                                               doc=passage.doc_id, cite=cite))  # fmt: skip
                    continue
                lines.append(
                    self.text(lang, "passage_line", text=_excerpt(passage.text), cite=cite)
                )
            if len(lines) > 1:
                parts.append("\n".join(lines))
        warnings = ctx.visible_warnings
        if warnings:
            lines = [self.text(lang, "warnings_header")]
            lines += [self.text(lang, "warning_line", message=w.message) for w in warnings]
            parts.append("\n".join(lines))
        if ctx.follow_up is not None:
            parts.append(self.text(lang, "follow_up", question=ctx.follow_up.question))
        if delta and ctx.show_diagnosis:
            parts.append(self.text(lang, "more_hint"))
        return "\n\n".join(p for p in parts if p)

    def _dropped(self, ctx: TurnContext) -> str:
        now = {r.code for r in ctx.shown_reasons}
        before = [i[7:] for i in ctx.dialogue_before.shown if i.startswith("reason:")]
        gone = [c for c in before if c not in now]
        if not gone or not ctx.show_diagnosis:
            return ""
        sep = "、" if ctx.lang == "zh" else ", "
        labels = sep.join(self.taxonomy.label("reasons", c, ctx.lang) for c in gone)
        return self.text(ctx.lang, "reasons_dropped", labels=labels)

    def _short(self, ctx: TurnContext, n: int, rec: Recommendation) -> str:
        return self.text(ctx.lang, "rec_short", n=n, title=rec.title, why=rec.why, apr=rec.apr,
                         cite=_marker(ctx, rec.citations))  # fmt: skip

    def _apr(self, ctx: TurnContext) -> str:
        apr, lang = ctx.apr, ctx.lang
        if apr is not None:
            verdict = self.text(lang, "apr_high" if apr.high_cost else "apr_ok")
            return self.text(lang, "apr_line", apr=f"{apr.apr:.2f}", method=apr.method_in(lang),
                             effective=f"{apr.effective:.2f}", verdict=verdict)  # fmt: skip
        if ctx.understanding.intent == "compute_cost":
            return self.text(lang, "apr_missing")
        return ""

    def _reasons(self, ctx: TurnContext, header: str | None = None) -> str:
        reasons, lang = ctx.visible_reasons, ctx.lang
        if not reasons:
            return ""
        below = self.knowledge.rules.diagnosis.possibility_below
        possible_only = all(r.confidence < below for r in reasons)
        header = header or ("reasons_header_possible" if possible_only else "reasons_header")
        lines = [self.text(lang, header)]
        for n, reason in enumerate(reasons, 1):
            cite = _marker(ctx, reason.citations)
            lines.append(self.text(lang, "reason_line", n=n, label=reason.label,
                                   confidence=f"{reason.confidence:.2f}", evidence=reason.evidence,
                                   advice=reason.advice, cite=cite))  # fmt: skip
        return "\n".join(lines)

    def _plan(self, ctx: TurnContext) -> str:
        lang = ctx.lang
        plan = [r for r in ctx.visible_recommendations if r.channel == "credit_improvement"]
        if not plan:
            return ""
        lines = [self.text(lang, "plan_header")]
        for rec in plan:
            action = self.actions.get(rec.product)
            days = action.days_min if action and action.days_min is not None else 0
            when = "plan_now" if days <= 30 else "plan_soon" if days <= 90 else "plan_later"
            lines.append(self.text(lang, "plan_line", when=self.text(lang, when), title=rec.title,
                                   detail=rec.speed, cite=_marker(ctx, rec.citations)))  # fmt: skip
        return "\n".join(lines)

    def _recommendation(self, ctx: TurnContext, n: int, rec: Recommendation) -> str:
        lang, cite = ctx.lang, _marker(ctx, rec.citations)
        if rec.channel == "credit_improvement":
            return self.text(lang, "action_line", n=n, title=rec.title, why=rec.why,
                             speed=rec.speed, cite=cite)  # fmt: skip
        channel = self.taxonomy.label("channels", rec.channel, lang)
        separator = "、" if lang == "zh" else ", "
        return self.text(lang, "rec_line", n=n, title=rec.title, provider=rec.provider,
                         channel=channel, fit=f"{rec.fit:.2f}", why=rec.why, apr=rec.apr,
                         speed=rec.speed, materials=separator.join(rec.materials[:5]),
                         cite=cite)  # fmt: skip

    def tail(self, ctx: TurnContext) -> str:
        """The numbered source list and, for advice, the disclaimer."""
        lang = ctx.lang
        parts = []
        if ctx.citations:
            lines = [self.text(lang, "sources_header")]
            for item in ctx.citations:
                lines.append(self.text(lang, "source_line", n=item.n, title=item.title,
                                       anchor=item.anchor, updated=item.updated or "—"))  # fmt: skip
            parts.append("\n".join(lines))
        if ctx.shown_reasons or ctx.shown_recommendations:
            parts.append(self.text(lang, "disclaimer"))
        return "\n\n".join(parts)


def _marker(ctx: TurnContext, anchors: list[str]) -> str:
    return ctx.markers.get(anchors[0], "") if anchors else ""


def _excerpt(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = max(text.rfind(mark, 0, limit) for mark in "。；！？")
    return text[: cut + 1] if cut > 40 else text[:limit] + "…"
