"""``finadvisor kb check``: every rule the knowledge base must keep, one line per problem."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from core.errors import KnowledgeError

from .catalog import Catalog
from .documents import KnowledgeDoc, chinese_chars, parse_document
from .rules import parse_rules
from .taxonomy import Taxonomy, parse_taxonomy
from .training import check_training
from .validate_sources import SourceRules, check_catalog_sources, check_document_sources

_DOC_REF = re.compile(r"`([a-z][a-z0-9]*(?:-[a-z0-9]+)+)`")
_HEADING = re.compile(r"^##\s+\S", re.MULTILINE)


def validate_knowledge(knowledge_dir: Path) -> list[str]:
    """Check taxonomy, documents and catalog under ``knowledge_dir``; return the problems."""
    problems: list[str] = []
    taxonomy = _check_taxonomy(knowledge_dir, problems)
    required = _load_yaml(knowledge_dir / "required.yaml", problems) or {}
    rules = SourceRules.from_yaml(_load_yaml(knowledge_dir / "checks.yaml", problems))
    problems.extend(rules.problems)
    docs = _check_documents(knowledge_dir / "docs", taxonomy, required, problems)
    problems.extend(check_document_sources(docs, rules))
    catalog = _check_catalog(knowledge_dir, taxonomy, {d.id for d in docs}, required, problems)
    if catalog is not None:
        problems.extend(check_catalog_sources(catalog, rules))
    for name in required.get("engine_files") or []:
        if not (knowledge_dir / name).exists():
            problems.append(f"{name}: required file is missing")
    _check_engine_data(knowledge_dir, taxonomy, {d.id for d in docs}, problems)
    problems += parse_rules(knowledge_dir, missing_ok=True)[1]
    problems += check_training(knowledge_dir, taxonomy)
    return problems


def _check_engine_data(
    knowledge_dir: Path, taxonomy: Taxonomy, doc_ids: set[str], problems: list[str]
) -> None:
    """Codes used by the engine's rule files must exist in the taxonomy (and docs they cite)."""
    used: list[tuple[str, str, str]] = []  # (file, section, code)

    def load(name: str) -> Any:
        path = knowledge_dir / name
        return (_load_yaml(path, problems) or {}) if path.exists() else {}

    diagnosis = load("diagnosis.yaml")
    for platform, by_symptom in (diagnosis.get("priors") or {}).items():
        if platform != "default":
            used.append(("diagnosis.yaml", "platforms", platform))
        for symptom, weights in (by_symptom or {}).items():
            if symptom != "default":
                used.append(("diagnosis.yaml", "symptoms", symptom))
            used += [("diagnosis.yaml", "reasons", code) for code in weights or {}]
    used += [
        ("diagnosis.yaml", "reasons", r.get("reason", "")) for r in diagnosis.get("rules") or []
    ]
    for code, advice in (diagnosis.get("advice") or {}).items():
        used.append(("diagnosis.yaml", "reasons", code))
        if advice.get("doc") not in doc_ids:
            problems.append(
                f"diagnosis.yaml: advice for {code} cites unknown document {advice.get('doc')!r}"
            )
    policy = load("policy.yaml")
    for key in ("consumer_channels", "business_channels"):
        used += [("policy.yaml", "channels", c) for c in policy.get(key) or []]
    for key in ("business_purposes", "consumer_purposes", "never_lend_purposes",
                "forbidden_investment_purposes"):  # fmt: skip
        used += [("policy.yaml", "purposes", c) for c in policy.get(key) or []]
    for key in ("consumer_platforms", "platform_products"):
        used += [("policy.yaml", "platforms", c) for c in policy.get(key) or []]
    for key in ("credit_first_reasons", "debt_action_weights", "platform_wide_reasons",
                "no_consumer_credit_when"):  # fmt: skip
        used += [("policy.yaml", "reasons", c) for c in policy.get(key) or {}]
    recommend = load("recommend.yaml")
    used += [("recommend.yaml", "channels", c) for c in recommend.get("asset_backed") or []]
    for table, section in (("purpose_boost", "purposes"), ("reason_boost", "reasons")):
        for code, boosts in (recommend.get(table) or {}).items():
            used.append(("recommend.yaml", section, code))
            used += [("recommend.yaml", "channels", c) for c in boosts or {}]
    understanding = load("understanding.yaml")
    for key, section in (("platforms", "platforms"), ("symptoms", "symptoms"), ("segments", "segments"),
                         ("purposes", "purposes"), ("collateral", "collateral"), ("hints", "reasons")):  # fmt: skip
        used += [("understanding.yaml", section, code) for code in understanding.get(key) or {}]
    used += [
        ("understanding.yaml", "purposes", c) for c in understanding.get("purpose_priority") or []
    ]
    used += [
        ("understanding.yaml", "reasons", c) for c in understanding.get("cross_clause_hints") or []
    ]
    for file, section, code in used:
        if code not in taxonomy.codes(section):
            problems.append(
                f"{file}: unknown {section[:-1] if section.endswith('s') else section} code '{code}'"
            )


def _load_yaml(path: Path, problems: list[str]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{path.name}: file is missing")
    except yaml.YAMLError as exc:
        problems.append(f"{path.name}: not valid YAML ({_yaml_where(exc)})")
    return None


def _yaml_where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f"line {mark.line + 1}" if mark is not None else exc.__class__.__name__


def _check_taxonomy(knowledge_dir: Path, problems: list[str]) -> Taxonomy:
    raw = _load_yaml(knowledge_dir / "taxonomy.yaml", problems)
    taxonomy, found = parse_taxonomy(raw if raw is not None else {})
    problems.extend(found if raw is not None else [])
    return taxonomy


def _unknown(codes: Iterable[str], taxonomy: Taxonomy, section: str) -> list[str]:
    valid = taxonomy.codes(section)
    return [c for c in codes if c not in valid]


def _check_documents(
    docs_dir: Path, taxonomy: Taxonomy, required: dict[str, Any], problems: list[str]
) -> list[KnowledgeDoc]:
    docs: list[KnowledgeDoc] = []
    for path in sorted(docs_dir.glob("*.md")):
        try:
            docs.append(parse_document(path))
        except KnowledgeError as exc:
            problems.append(f"docs/{path.name}: {exc}")
    min_chars = int(required.get("min_body_chars", 600))
    ids = Counter(d.id for d in docs)
    known_ids = set(ids)
    for doc in docs:
        where = f"docs/{doc.path.name}"
        if doc.id != doc.path.stem:
            problems.append(f"{where}: id '{doc.id}' differs from the file name '{doc.path.stem}'")
        if ids[doc.id] > 1:
            problems.append(f"{where}: id '{doc.id}' is used by {ids[doc.id]} documents")
        for code in _unknown(doc.meta.channels, taxonomy, "channels"):
            problems.append(f"{where}: unknown channel code '{code}'")
        for code in _unknown(doc.meta.reasons, taxonomy, "reasons"):
            problems.append(f"{where}: unknown reason code '{code}'")
        length = chinese_chars(doc.body)
        if length < min_chars:
            problems.append(f"{where}: body has {length} Chinese characters, needs {min_chars}")
        if not _HEADING.search(doc.body):
            problems.append(f"{where}: body has no '## ' section heading to cite")
        for ref in sorted(set(_DOC_REF.findall(doc.body)) - known_ids):
            problems.append(f"{where}: refers to unknown document `{ref}`")
    for kind, wanted in (required.get("documents") or {}).items():
        for doc_id in wanted:
            if doc_id not in known_ids:
                problems.append(f"docs/{doc_id}.md: required {kind} document is missing")
    return docs


def _check_catalog(
    knowledge_dir: Path,
    taxonomy: Taxonomy,
    doc_ids: set[str],
    required: dict[str, Any],
    problems: list[str],
) -> Catalog | None:
    raw = _load_yaml(knowledge_dir / "catalog.yaml", problems)
    if raw is None:
        return None
    try:
        catalog = Catalog.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors()[:20]:
            where = _catalog_path(raw, error["loc"]) or "catalog"
            problems.append(f"catalog.yaml: {where}: {error['msg']}")
        return None
    for product_id, count in Counter(p.id for p in catalog.products).items():
        if count > 1:
            problems.append(f"catalog.yaml: product id '{product_id}' appears {count} times")
    for product in catalog.products:
        where = f"catalog.yaml: product {product.id}"
        _code(where, "channel", [product.channel], taxonomy, "channels", problems)
        if product.channel == "credit_improvement":
            problems.append(f"{where}: credit_improvement belongs in the credit_improvement list")
        _code(where, "segment", product.segments, taxonomy, "segments", problems)
        purposes = product.purposes_allowed + product.purposes_forbidden
        _code(where, "purpose", purposes, taxonomy, "purposes", problems)
        _code(where, "licence", [product.licence], taxonomy, "licences", problems)
        _code(
            where,
            "collateral",
            product.requirements.collateral_any_of or [],
            taxonomy,
            "collateral",
            problems,
        )
        req = product.requirements
        _code(where, "merchant platform", req.merchant_of or [], taxonomy, "merchant_platforms",
              problems)  # fmt: skip
        _code(where, "buyer type", req.buyer_types_any_of or [], taxonomy, "buyer_types",
              problems)  # fmt: skip
        both = set(product.purposes_allowed) & set(product.purposes_forbidden)
        if both:
            problems.append(f"{where}: purposes both allowed and forbidden: {sorted(both)}")
        if product.doc_id not in doc_ids:
            problems.append(f"{where}: doc_id '{product.doc_id}' has no document")
    for action in catalog.credit_improvement:
        where = f"catalog.yaml: credit action {action.id}"
        _code(where, "reason", action.reasons, taxonomy, "reasons", problems)
        if action.doc_id not in doc_ids:
            problems.append(f"{where}: doc_id '{action.doc_id}' has no document")
    _check_english(catalog, problems)
    _check_coverage(catalog, taxonomy, required, problems)
    return catalog


def _check_english(catalog: Catalog, problems: list[str]) -> None:
    """Every product and credit action says in English what it says in Chinese: one line each."""
    for product in catalog.products:
        missing = [name for name, en in (("name_en", product.name_en),
                                          ("provider_en", product.provider_en)) if not en]  # fmt: skip
        if len(product.materials_en) != len(product.materials):
            missing.append(f"materials_en ({len(product.materials_en)} of "
                           f"{len(product.materials)} items)")  # fmt: skip
        for field_name in ("amount", "term_months", "apr", "speed"):
            figure = getattr(product, field_name)
            if figure is not None and figure.note and not figure.note_en:
                missing.append(f"{field_name}.note_en")
        other, other_en = product.requirements.other, product.requirements.other_en
        if len(other_en) != len(other):
            missing.append(f"requirements.other_en ({len(other_en)} of {len(other)} items)")
        english = [product.name_en, product.provider_en, *product.materials_en, *other_en]
        english += [getattr(product, f).note_en for f in ("amount", "apr", "speed")]
        english += [product.term_months.note_en if product.term_months else None]
        _english_problems(f"catalog.yaml: product {product.id}", missing, english, problems)
    for action in catalog.credit_improvement:
        missing = [name for name, en in (
            ("action_en", action.action_en), ("detail_en", action.detail_en),
            ("time_to_effect_en", action.time_to_effect_en),
        ) if not en]  # fmt: skip
        english = [action.action_en, action.detail_en, action.time_to_effect_en]
        _english_problems(f"catalog.yaml: credit action {action.id}", missing, english, problems)


def _english_problems(
    where: str, missing: list[str], english: list[str | None], problems: list[str]
) -> None:
    if missing:
        problems.append(f"{where}: no English for {', '.join(missing)}")
    if any(text and chinese_chars(text) for text in english):
        problems.append(f"{where}: English text contains Chinese characters")


def _check_coverage(
    catalog: Catalog, taxonomy: Taxonomy, required: dict[str, Any], problems: list[str]
) -> None:
    min_products = int(required.get("min_products", 30))
    if len(catalog.products) < min_products:
        problems.append(f"catalog.yaml: {len(catalog.products)} products, needs {min_products}")
    per_channel = Counter(p.channel for p in catalog.products)
    min_each = int(required.get("min_products_per_channel", 2))
    for channel in sorted(taxonomy.codes("channels") - {"credit_improvement"}):
        if per_channel[channel] < min_each:
            problems.append(
                f"catalog.yaml: channel '{channel}' has {per_channel[channel]} products, "
                f"needs {min_each}"
            )
    min_actions = int(required.get("min_credit_actions", 8))
    if len(catalog.credit_improvement) < min_actions:
        problems.append(
            f"catalog.yaml: {len(catalog.credit_improvement)} credit_improvement actions, "
            f"needs {min_actions}"
        )


def _code(
    where: str,
    what: str,
    codes: Iterable[str],
    taxonomy: Taxonomy,
    section: str,
    problems: list[str],
) -> None:
    for code in _unknown(codes, taxonomy, section):
        problems.append(f"{where}: unknown {what} code '{code}'")


def _catalog_path(raw: Any, loc: tuple[int | str, ...]) -> str:
    """Name a validation error by product id rather than list index where possible."""
    parts: list[str] = []
    node = raw
    for key in loc:
        if isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
            label = node.get("id") if isinstance(node, dict) else None
            parts.append(str(label) if label else f"[{key}]")
        else:
            node = node.get(key) if isinstance(node, dict) else None
            parts.append(str(key))
    return ".".join(parts)
