"""Checks on where facts come from and how dated facts are written (data: ``checks.yaml``).

- no document or catalog entry cites a known mirror site;
- catalog text never writes a programme's closed state by hand (it is computed from dates);
- a product named like a time-limited programme (贴息, 专项担保计划) names its programme.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .catalog import Catalog, Product
from .documents import KnowledgeDoc

_URL = re.compile(r"https?://[^\s)）\]】\"'，；]+")


@dataclass(frozen=True)
class SourceRules:
    """The lists from ``checks.yaml``."""

    mirror_domains: tuple[str, ...] = ()
    closed_words: tuple[str, ...] = ()
    programme_words: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)

    @classmethod
    def from_yaml(cls, raw: Any) -> SourceRules:
        """Build from the parsed ``checks.yaml`` (a mapping of string lists)."""
        raw = raw if isinstance(raw, dict) else {}
        found: list[str] = []
        lists: dict[str, tuple[str, ...]] = {}
        for key in ("mirror_domains", "closed_words", "programme_words"):
            values = raw.get(key)
            if not isinstance(values, list) or not values:
                found.append(f"checks.yaml: '{key}' must be a non-empty list")
                values = []
            lists[key] = tuple(
                str(v).lower() if key == "mirror_domains" else str(v) for v in values
            )
        return cls(problems=found, **lists)

    def mirrors_in(self, text: str) -> list[str]:
        """Mirror domains cited by any URL in ``text``."""
        hits: list[str] = []
        for url in _URL.findall(text):
            lowered = url.lower()
            hits += [d for d in self.mirror_domains if d in lowered and d not in hits]
        return hits


def check_document_sources(docs: Iterable[KnowledgeDoc], rules: SourceRules) -> list[str]:
    """One problem per document and mirror site it cites (front matter or body)."""
    problems: list[str] = []
    for doc in docs:
        text = "\n".join(doc.meta.sources) + "\n" + doc.body
        for domain in rules.mirrors_in(text):
            problems.append(
                f"docs/{doc.path.name}: cites mirror site '{domain}'; cite the primary source "
                "(or a reprint marked 转载 where none exists)"
            )
    return problems


def check_catalog_sources(catalog: Catalog, rules: SourceRules) -> list[str]:
    """Mirror sites, hand-written closed states and undated programmes in the catalog."""
    problems: list[str] = []
    shared = [(f"programme {p.id}", p.source) for p in catalog.programmes]
    shared += [(f"market average {a.id}", a.source) for a in catalog.market_averages]
    shared += [(f"product {p.id}", p.source) for p in catalog.products]
    shared += [(f"credit action {a.id}", a.source) for a in catalog.credit_improvement]
    for where, text in shared:
        for domain in rules.mirrors_in(text):
            problems.append(f"catalog.yaml: {where}: cites mirror site '{domain}'")
    for product in catalog.products:
        where = f"catalog.yaml: product {product.id}"
        text = _product_text(product)
        for word in rules.closed_words:
            if word in text:
                problems.append(
                    f"{where}: writes '{word}' by hand; give it a programme with start and end "
                    "dates so its state is computed"
                )
        named = [w for w in rules.programme_words if w in product.name]
        if named and not product.programme:
            problems.append(
                f"{where}: looks like a time-limited programme ('{named[0]}') but names no "
                "programme with start and end dates"
            )
    return problems


def _product_text(product: Product) -> str:
    """Every free-text field of a product a user can read."""
    parts = [product.name, product.amount.note, product.apr.note, product.speed.note]
    parts += [product.term_months.note if product.term_months else None]
    parts += product.requirements.other
    return "\n".join(p for p in parts if p)
