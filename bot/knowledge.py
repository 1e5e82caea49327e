"""``Knowledge``: everything a turn reads, loaded and checked once per process.

Taxonomy, catalog, documents, the typed rule files and the reply templates. Stages receive it
as their second argument and never read a file themselves.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from core.errors import KnowledgeInvalidError
from knowledge import (
    Catalog,
    KnowledgeDoc,
    Taxonomy,
    load_catalog,
    load_documents,
    load_taxonomy,
    validate_knowledge,
)
from knowledge.rules import COMPUTED_FIELDS, Rules, parse_rules

from .profile import FACT_FIELDS, Profile

PROMPT_LANGS = ("zh", "en")


@dataclass(frozen=True)
class Knowledge:
    """The knowledge bundle: data only, no behaviour beyond look-ups."""

    taxonomy: Taxonomy
    catalog: Catalog
    documents: Mapping[str, KnowledgeDoc]
    rules: Rules
    templates: Mapping[str, Mapping[str, Any]]
    topics: frozenset[str] = frozenset()
    """Domain words that name a topic (征信异议, 保理...): lexicon words that are not attributes."""

    def template(self, lang: str, key: str, **values: object) -> str:
        """One reply template filled in."""
        return str(self.templates[lang][key]).format(**values)


def _json_kind(value: Any) -> str:
    """The JSON type of a value (an int and a float are both a number; a bool is not)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def label_problems(rules: Rules) -> list[str]:
    """Questions whose options the profile would not take as they are, or could not tell apart;
    a skip label the understanding would not read as a skip."""
    diagnosis = rules.diagnosis
    problems = []
    for name, question in diagnosis.questions.items():
        if name not in FACT_FIELDS:
            continue  # reported as an unknown field by rule_problems
        for n, option in enumerate(question.options):
            where = f"diagnosis.yaml: questions.{name}.options.{n}"
            try:
                stored = getattr(Profile.model_validate({name: option.value}), name, None)
            except ValidationError:
                stored = None
            if stored != option.value or _json_kind(stored) != _json_kind(option.value):
                problems.append(f"{where}: value {option.value!r} is not a valid {name} as typed")
        for lang in ("zh", "en"):
            labels = [" ".join(getattr(o, lang).lower().split()) for o in question.options]
            if len(set(labels)) < len(labels):
                problems.append(
                    f"diagnosis.yaml: questions.{name}: two options share a {lang} label"
                )
    phrases = {p.lower() for p in rules.understanding.skip_phrases}
    problems += [
        f"diagnosis.yaml: skip.{lang}: {text!r} is not one of understanding.yaml skip_phrases"
        for lang, text in (("zh", diagnosis.skip.zh), ("en", diagnosis.skip.en))
        if text.lower() not in phrases
    ]
    return problems


def rule_problems(rules: Rules) -> list[str]:
    """Rule conditions and questions that name fields the profile does not have."""
    known = set(FACT_FIELDS) | set(COMPUTED_FIELDS)
    problems = []
    for n, rule in enumerate(rules.diagnosis.rules):
        problems += [
            f"diagnosis.yaml: rules.{n}.when: unknown field {name!r} (not a profile field)"
            for name in rule.when
            if name not in known
        ]
    problems += [
        f"diagnosis.yaml: questions.{name}: unknown field {name!r} (not a profile field)"
        for name in rules.diagnosis.questions
        if name not in FACT_FIELDS
    ]
    problems += [
        f"understanding.yaml: {section}.{name}: unknown field {name!r} (not a profile field)"
        for section, names in (
            ("number_roles", [n for n in rules.understanding.number_roles if n[:1] != "_"]),
            ("booleans", rules.understanding.booleans),
            ("retractions", rules.understanding.retractions),
        )
        for name in names
        if name not in FACT_FIELDS
    ]
    return problems + label_problems(rules)


def catalog_problems(catalog: Catalog, rules: Rules | None = None) -> list[str]:
    """Catalog entries that name profile fields the profile does not have, or of the wrong kind."""
    yes_no = {
        name
        for name, info in Profile.model_fields.items()
        if name in FACT_FIELDS and info.annotation == (bool | None)
    }
    problems = [
        f"catalog.yaml: product {product.id}: fit_signals: {name!r} is not a yes/no profile field"
        for product in catalog.products
        for name in product.fit_signals
        if name not in yes_no
    ]
    if rules is not None:
        labels = rules.recommend.signal_labels
        problems += [
            f"catalog.yaml: product {product.id}: fit_signals: {name!r} has no label in "
            "recommend.yaml signal_labels"
            for product in catalog.products
            for name in product.fit_signals
            if name not in labels
        ]
    problems += [
        f"catalog.yaml: credit action {action.id}: not_when: unknown field {name!r} "
        "(not a profile field)"
        for action in catalog.credit_improvement
        for name in action.not_when
        if name not in FACT_FIELDS
    ]
    return problems


def check_rules(knowledge_dir: Path) -> list[str]:
    """Fields the profile does not have in rules and catalog (schema problems are ``validate``'s)."""
    rules, _ = parse_rules(knowledge_dir)
    problems = [] if rules is None else rule_problems(rules)
    try:
        catalog = load_catalog(knowledge_dir)
    except (OSError, ValueError, TypeError, yaml.YAMLError):
        return problems  # validate_knowledge reports why
    return problems + catalog_problems(catalog, rules)


def check_knowledge(knowledge_dir: Path) -> list[str]:
    """Every problem of the knowledge base, one line each (``kb check`` and server start)."""
    return validate_knowledge(knowledge_dir) + check_rules(knowledge_dir)


def _templates(prompts_dir: Path) -> dict[str, dict[str, Any]]:
    return {
        lang: yaml.safe_load((prompts_dir / f"reply.{lang}.yaml").read_text(encoding="utf-8"))
        for lang in PROMPT_LANGS
    }


@functools.lru_cache(maxsize=8)
def load_knowledge(knowledge_dir: Path, prompts_dir: Path) -> Knowledge:
    """The bundle for these directories (cached: loaded once per process)."""
    rules, problems = parse_rules(knowledge_dir)
    if rules is None or (problems := rule_problems(rules)):
        raise KnowledgeInvalidError(problems)
    catalog = load_catalog(knowledge_dir)
    if problems := catalog_problems(catalog, rules):
        raise KnowledgeInvalidError(problems)
    return Knowledge(
        taxonomy=load_taxonomy(knowledge_dir),
        catalog=catalog,
        documents={d.id: d for d in load_documents(knowledge_dir / "docs")},
        rules=rules,
        templates=_templates(prompts_dir),
        topics=_topics(knowledge_dir),
    )


def _topics(knowledge_dir: Path) -> frozenset[str]:
    lexicon = yaml.safe_load((knowledge_dir / "lexicon.yaml").read_text(encoding="utf-8")) or {}
    attributes = set(lexicon.get("attribute_words") or [])
    return frozenset(w for w in lexicon.get("words") or [] if w not in attributes)
