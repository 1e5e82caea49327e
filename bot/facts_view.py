"""The profile as people read it: each known fact as (field label, value) in one language.

Field names are the taxonomy's ``fields`` labels, values are worded as in "记下了：…"
(``respond.fact_value``); a field without a label is internal and not shown. Interfaces show
these lines instead of field names and internal values (``finadvisor chat``'s ``/profile``).
"""

from __future__ import annotations

from .knowledge import Knowledge
from .profile import FACT_FIELDS, Profile
from .respond import fact_value


def fact_lines(profile: Profile, knowledge: Knowledge, lang: str) -> list[tuple[str, str]]:
    """Every known, labelled fact of ``profile`` as (label, value) in ``lang``, in field order."""
    taxonomy = knowledge.taxonomy
    labelled = taxonomy.codes("fields")
    return [
        (taxonomy.label("fields", name, lang), fact_value(name, value, lang, knowledge))
        for name in FACT_FIELDS
        if name in labelled and (value := getattr(profile, name)) is not None
    ]
