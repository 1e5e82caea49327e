"""The direct answer a reply opens with, by the kind of question asked.

From the catalog's structured fields for the product in focus (the one the user names, else the
top recommendation): amount, cost, speed, materials, conditions, collateral; point by point for a
comparison of two products; from the diagnosis for "why"; from the ranking for "where"; and
otherwise from the best retrieved passages as whole sentences, with Markdown table and list
debris removed. Every answer carries the sources it rests on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property
from typing import Literal

from knowledge import Product

from .context import Answer, Passage, TurnContext
from .knowledge import Knowledge
from .matcher import Table

CATALOG_KINDS = frozenset(
    {"amount", "cost", "speed", "materials", "eligibility", "collateral_guarantee", "compare"}
)
CJK = re.compile(r"[\u4e00-\u9fff]")
"""A Chinese character: an English reply quotes no text that has one."""
_CJK_ASIDE = re.compile(r"\s*[（(][^（）()]*[\u4e00-\u9fff][^（）()]*[）)]")
_SENTENCE = re.compile(r"[^。！？!?；\n]+[。！？!?；]?")
_DEBRIS = re.compile(r"^\s*(\||#|>|[-*_]{3,}\s*$|\*\*[^*]+\*\*[：:]?\s*$)")
"""Lines that are table rows, headings, quotes, rules or a bold label alone: not sentences."""
_MARKUP = re.compile(r"\*\*|__|`|\[(\d+)\]|^\s*[-*]\s+|^\s*\d+[.、)]\s+")


def sentences(text: str, limit: int = 220) -> str:
    """Whole sentences from the start of ``text``, up to about ``limit`` characters, no debris."""
    kept: list[str] = []
    size = 0
    for line in text.splitlines():
        if not line.strip() or _DEBRIS.match(line):
            continue
        for sentence in _SENTENCE.findall(_MARKUP.sub("", line).strip()):
            sentence = sentence.strip()
            if len(sentence) < 6:
                continue
            if size and size + len(sentence) > limit:
                return "".join(kept)
            kept.append(sentence if sentence[-1] in "。！？!?；." else sentence + "。")
            size += len(sentence)
    return "".join(kept)


_ELLIPTIC_WORDS = 7


def elliptic(text: str, topics: frozenset[str]) -> bool:
    """A question with no topic of its own ("大概多久能放款", "how fast?"): about the product in
    focus. One that names a domain topic ("征信异议多久出结果") or is long is for the documents."""
    if any(topic in text for topic in topics):
        return False
    cjk = CJK.findall(text)
    if cjk:
        return len(cjk) <= 14
    return len(re.findall(r"[A-Za-z]+", text)) <= _ELLIPTIC_WORDS


class Responder:
    """Builds the direct answer for a context whose act is a question."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        self.products = {p.id: p for p in knowledge.catalog.products}

    @cached_property
    def _names(self) -> Table:
        return Table({
            p.id: [p.name, *([p.name_en] if p.name_en else []), *p.aliases]
            for p in self.knowledge.catalog.products
        })  # fmt: skip

    def named(self, text: str) -> list[Product]:
        """Products the text names, in the order named (longest name wins an overlap)."""
        found = self._names.find(text.lower())
        # earliest first; at one start the longest name first, so it claims the overlap
        spans = sorted(
            ((hits[0], code) for code, hits in found.items()),
            key=lambda span: (span[0][0], span[0][0] - span[0][1]),
        )
        taken: list[tuple[int, int]] = []
        ordered: list[Product] = []
        for (start, end), code in spans:
            if any(s < end and start < e for s, e in taken):
                continue
            taken.append((start, end))
            if self.products[code] not in ordered:
                ordered.append(self.products[code])
        return ordered

    def answer(self, ctx: TurnContext) -> Answer | None:
        """The direct answer, or None when neither catalog, diagnosis nor passages hold one."""
        act = ctx.act
        if act is None or act.kind != "asks":
            return None
        kind = act.question
        lang = ctx.lang
        named = self.named(ctx.text)
        if kind == "compare" and len(named) >= 2:
            return self._compare(named[:2], lang)
        if kind == "compare" and len(named) == 1 and ctx.recommendations:
            other = self._top(ctx, besides=named[0])
            if other is not None:
                return self._compare([named[0], other], lang)
        if kind == "why_refused":
            if ctx.reasons:
                return self._why(ctx)
            # nothing refused is known yet: the documents' general answer, else what to tell us
            return self._passages(ctx.passages or (), lang) or Answer(
                self._t(lang, "answer_why_unknown"), ()
            )
        if kind == "where_to_borrow" and not named:
            lenders = [r for r in ctx.recommendations if r.channel != "credit_improvement"]
            if lenders:
                return self._where(ctx)
            repairs = [r for r in ctx.recommendations if r.channel == "credit_improvement"][:2]
            if repairs:  # no lender is advised now (debt spiral, current overdue): say so first
                sep = "；" if lang == "zh" else "; "
                return Answer(
                    self._t(lang, "answer_where_none", actions=sep.join(r.title for r in repairs)),
                    tuple(r.doc_id for r in repairs if r.doc_id),
                )
        focus = named[0] if named else None
        if focus is None and elliptic(ctx.text, self.knowledge.topics):
            # "多久能放款" asks about the product in focus, else the top recommendation;
            # a question with a topic of its own ("征信异议多久出结果") is for the documents
            remembered = [self.products[i] for i in ctx.dialogue.focus if i in self.products]
            focus = next(iter(remembered), None) or self._top(ctx)
        if kind in CATALOG_KINDS and focus is not None:
            text = self._field(focus, kind, lang)
            if text:
                return Answer(text, (focus.doc_id,))
        return self._passages(ctx.passages or (), lang)

    # ---- from the catalog ------------------------------------------------------------------

    def _top(self, ctx: TurnContext, besides: Product | None = None) -> Product | None:
        for rec in ctx.recommendations:
            if rec.product in self.products and (besides is None or rec.product != besides.id):
                return self.products[rec.product]
        return None

    def _t(self, lang: str, key: str, **values: object) -> str:
        return self.knowledge.template(lang, key, **values)

    def _field(self, product: Product, kind: str, lang: str) -> str:
        title = product.name_in(lang)
        if kind == "amount":
            return self._t(lang, "answer_amount", title=title, amount=self._amount(product, lang))
        if kind == "cost":
            return self._t(lang, "answer_cost", title=title, apr=product.apr.display(_lang(lang)))
        if kind == "speed":
            return self._t(lang, "answer_speed", title=title, speed=self._speed(product, lang))
        if kind == "materials":
            sep = "、" if lang == "zh" else ", "
            return self._t(lang, "answer_materials", title=title,
                           materials=sep.join(product.materials_in(lang)))  # fmt: skip
        if kind == "collateral_guarantee":
            return self._t(lang, "answer_collateral", title=title,
                           collateral=self._collateral(product, lang))  # fmt: skip
        if kind in {"eligibility", "compare"}:
            return self._t(lang, "answer_eligibility", title=title,
                           conditions=self._conditions(product, lang))  # fmt: skip
        return ""

    def _amount(self, product: Product, lang: str) -> str:
        amount = product.amount
        if amount.min is None and amount.max is None:
            return amount.note_in(lang) or self._t(lang, "answer_no_figure")
        low = _money(amount.min, lang) if amount.min is not None else ""
        high = _money(amount.max, lang) if amount.max is not None else ""
        span = f"{low}–{high}" if low and high else (f"≤{high}" if high else f"≥{low}")
        return span + _aside(amount.note_in(lang), lang)

    def _speed(self, product: Product, lang: str) -> str:
        speed = product.speed
        return self._t(lang, f"speed_{speed.label}") + _aside(speed.note_in(lang), lang)

    def _collateral(self, product: Product, lang: str) -> str:
        needed = product.requirements.collateral_any_of
        taxonomy = self.knowledge.taxonomy
        if not needed:
            return self._t(lang, "answer_no_collateral")
        sep = "、" if lang == "zh" else ", "
        return sep.join(taxonomy.label("collateral", c, lang) for c in needed)

    def _conditions(self, product: Product, lang: str) -> str:
        taxonomy, req = self.knowledge.taxonomy, product.requirements
        sep = "、" if lang == "zh" else ", "
        parts = [sep.join(taxonomy.label("segments", s, lang) for s in product.segments)]
        zh = lang == "zh"
        if req.years_operating_min:
            parts.append(f"经营满{req.years_operating_min:g}年" if zh
                         else f"{req.years_operating_min:g}+ years in business")  # fmt: skip
        if req.tax_rating_in:
            ratings = "/".join(req.tax_rating_in)
            parts.append(f"纳税信用{ratings}级" if zh else f"tax rating {ratings}")
        if req.collateral_any_of:
            parts.append(self._collateral(product, lang))
        if req.buyer_types_any_of:
            parts.append(sep.join(taxonomy.label("buyer_types", b, lang)
                                  for b in req.buyer_types_any_of))  # fmt: skip
        if req.merchant_of:
            parts.append(sep.join(taxonomy.label("merchant_platforms", m, lang)
                                  for m in req.merchant_of))  # fmt: skip
        others = req.other_in(lang)
        if others:
            parts.append(others[0])
        return "；".join(parts) if zh else "; ".join(parts)

    def _compare(self, products: Sequence[Product], lang: str) -> Answer:
        names = [p.name_in(lang) for p in products]
        rows = [self._t(lang, "compare_header", a=names[0], b=names[1])]
        rows.append("| | " + " | ".join(names) + " |")
        rows.append("| --- | --- | --- |")
        for key, value in (
            ("compare_cost", lambda p: p.apr.display(_lang(lang))),
            ("compare_speed", lambda p: self._speed(p, lang)),
            ("compare_who", lambda p: self._conditions(p, lang)),
            (
                "compare_materials",
                lambda p: ("、" if lang == "zh" else ", ").join(p.materials_in(lang)[:4]),
            ),
        ):
            cells = [str(value(p)).replace("|", "/") for p in products]
            rows.append(f"| {self._t(lang, key)} | " + " | ".join(cells) + " |")
        return Answer("\n".join(rows), tuple(dict.fromkeys(p.doc_id for p in products)))

    # ---- from the diagnosis and the ranking --------------------------------------------------

    def _why(self, ctx: TurnContext) -> Answer:
        top = ctx.reasons[:2]
        sep = "；" if ctx.lang == "zh" else "; "
        labels = sep.join(f"{r.label}（{r.evidence}）" if ctx.lang == "zh"
                          else f"{r.label} ({r.evidence})" for r in top)  # fmt: skip
        return Answer(self._t(ctx.lang, "answer_why", reasons=labels),
                      tuple(r.doc_id for r in top if r.doc_id))  # fmt: skip

    def _where(self, ctx: TurnContext) -> Answer:
        lenders = [r for r in ctx.recommendations if r.channel != "credit_improvement"][:3]
        sep = "、" if ctx.lang == "zh" else ", "
        return Answer(self._t(ctx.lang, "answer_where", names=sep.join(r.title for r in lenders)),
                      tuple(r.doc_id for r in lenders if r.doc_id))  # fmt: skip

    # ---- from the passages -------------------------------------------------------------------

    def _passages(self, passages: Sequence[Passage], lang: str) -> Answer | None:
        """Whole sentences of the best passage; an English reply never quotes Chinese: it names
        the document that covers the question instead."""
        for passage in passages:
            text = sentences(passage.text)
            if text and (lang == "zh" or not CJK.search(text)):
                return Answer(text, (f"{passage.doc_id}#{passage.heading}",))
        if lang == "en" and passages:
            best = passages[0]
            about = self._english_summary(best.doc_id)
            key = "answer_in_document_about" if about else "answer_in_document"
            return Answer(self._t(lang, key, doc=best.doc_id, about=about),
                          (f"{best.doc_id}#{best.heading}",))  # fmt: skip
        return None

    def _english_summary(self, doc_id: str) -> str:
        """The document's English summary without its Chinese asides; "" when there is none."""
        doc = self.knowledge.documents.get(doc_id)
        summary = doc.meta.summary if doc is not None else None
        if not summary:
            return ""
        text = _CJK_ASIDE.sub("", summary)
        text = " ".join(text.split()).rstrip(".")
        return "" if CJK.search(text) or len(text) < 20 else text


def _aside(note: str | None, lang: str) -> str:
    """A note in brackets after a figure: （…） in Chinese, (…) in English; "" without one."""
    if not note:
        return ""
    return f"（{note}）" if lang == "zh" else f" ({note})"


def _lang(lang: str) -> Literal["zh", "en"]:
    return "en" if lang == "en" else "zh"


def _money(value: float, lang: str) -> str:
    if lang == "zh":
        return f"{value / 10000:g}万元" if value >= 10000 else f"{value:g}元"
    return f"CNY {value:,.0f}"


_CODE_SECTIONS = {
    "segment": "segments", "platform": "platforms", "symptom": "symptoms",
    "need_purpose": "purposes", "residency": "residency", "collateral": "collateral",
    "buyer_types": "buyer_types", "merchant_platforms": "merchant_platforms",
}  # fmt: skip
_MONEY = frozenset(
    {"need_amount", "monthly_income", "total_debt", "monthly_debt_payment", "annual_revenue"}
)
_WORDS = {
    "zh": {"overdue": {"none": "没有逾期", "past": "有过、已还清", "current": "正在逾期"},
           "urgency": {"days": "几天内", "weeks": "几周内", "months": "几个月内"},
           True: "有", False: "没有", "none": "无", "years": "{v:g}年", "months": "{v:g}个月",
           "rating": "{v}级"},
    "en": {"overdue": {"none": "never overdue", "past": "overdue before, repaid",
                       "current": "overdue now"},
           "urgency": {"days": "within days", "weeks": "within weeks", "months": "within months"},
           True: "yes", False: "no", "none": "none", "years": "{v:g} years",
           "months": "{v:g} months", "rating": "{v}"},
}  # fmt: skip


def recorded(ctx: TurnContext, knowledge: Knowledge) -> str:
    """The facts this message added or changed, labelled ("月收入：约1.5万元"); "" when none."""
    lang = "en" if ctx.lang == "en" else "zh"
    taxonomy = knowledge.taxonomy
    labels = taxonomy.sections.get("fields", {})
    parts = []
    changed = [n for n in ctx.profile.known() if n not in ctx.understanding.facts]
    for name in [*ctx.understanding.facts, *changed]:  # also a bare correction's field
        value, before = getattr(ctx.profile, name, None), getattr(ctx.previous, name, None)
        if name not in labels or value is None or value == before:
            continue
        parts.append(f"{taxonomy.label('fields', name, lang)}{'：' if lang == 'zh' else ': '}"
                     f"{fact_value(name, value, lang, knowledge)}")  # fmt: skip
    sep = "；" if lang == "zh" else "; "
    return sep.join(parts)


def fact_value(name: str, value: object, lang: str, knowledge: Knowledge) -> str:
    """A profile value in words: yes/no, a code's label, an amount in 万元, a rating."""
    words, taxonomy = _WORDS[lang], knowledge.taxonomy
    if isinstance(value, bool):
        return str(words[value])
    if name in _CODE_SECTIONS:
        section = _CODE_SECTIONS[name]
        if isinstance(value, list):
            if not value:
                return str(words["none"])
            sep = "、" if lang == "zh" else ", "
            return sep.join(taxonomy.label(section, str(v), lang) for v in value)
        return taxonomy.label(section, str(value), lang)
    if name in _MONEY and isinstance(value, int | float):
        return _money(float(value), lang)
    if name in {"overdue", "urgency"}:
        table = words[name]
        assert isinstance(table, dict)
        return str(table.get(str(value), value))
    if name == "years_operating":
        return str(words["years"]).format(v=value)
    if name == "need_term_months":
        return str(words["months"]).format(v=value)
    if name == "tax_rating":
        return str(words["rating"]).format(v=value)
    return str(value)
