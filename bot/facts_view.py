"""The profile as people read it: each known fact as (field label, value label) in one language.

Field names, yes/no and the small value vocabularies come from ``diagnosis.yaml: labels``; coded
values (segment, platform, purpose, collateral...) from the taxonomy. Interfaces show these
lines instead of field names and internal values (``finadvisor chat``'s ``/profile``).
"""

from __future__ import annotations

from typing import Any

from knowledge import Taxonomy
from knowledge.rules import FieldLabel, Labels

from .profile import FACT_FIELDS, Profile

_TEN_THOUSAND = 10_000


def fact_lines(
    profile: Profile, labels: Labels, taxonomy: Taxonomy, lang: str
) -> list[tuple[str, str]]:
    """Every known fact of ``profile`` as (label, value) in ``lang``, in the profile's order."""
    lines = []
    for name in FACT_FIELDS:
        value = getattr(profile, name)
        if value is None:
            continue
        field = labels.fields.get(name)
        title = field.en if field and lang == "en" else field.zh if field else name
        lines.append((title, value_text(value, field, labels, taxonomy, lang)))
    return lines


def value_text(
    value: Any, field: FieldLabel | None, labels: Labels, taxonomy: Taxonomy, lang: str
) -> str:
    """One profile value in words: yes/no, a label for a code, a number with its unit."""
    if isinstance(value, bool):
        return (labels.yes if value else labels.no).text(lang)
    if isinstance(value, list):
        if not value:
            return labels.no.text(lang)
        separator = ", " if lang == "en" else "、"
        return separator.join(value_text(v, field, labels, taxonomy, lang) for v in value)
    if isinstance(value, int | float):
        return _number(value, field, lang)
    text = str(value)
    if field is not None and text in field.values:
        return field.values[text].text(lang)
    if field is not None and field.codes:
        return taxonomy.label(field.codes, text, lang)
    return text


def _number(value: float, field: FieldLabel | None, lang: str) -> str:
    unit = field.unit.text(lang) if field is not None and field.unit is not None else ""
    if lang == "en":
        figure = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0")
        return f"{figure} {unit}".strip()
    if unit == "元" and value >= _TEN_THOUSAND:
        return f"{value / _TEN_THOUSAND:g}万元"
    figure = f"{value:.0f}" if float(value).is_integer() else f"{value:g}"
    return f"{figure}{unit}"
