"""The code vocabularies of ``taxonomy.yaml`` (segments, reasons, channels, warnings, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SECTIONS = (
    "segments",
    "symptoms",
    "platforms",
    "reasons",
    "channels",
    "warnings",
    "purposes",
    "licences",
    "collateral",
    "buyer_types",
    "merchant_platforms",
    "residency",
    "fields",
)


@dataclass(frozen=True)
class Label:
    """One code with its Chinese and English labels."""

    code: str
    zh: str
    en: str
    description: str


@dataclass(frozen=True)
class Taxonomy:
    """All code vocabularies, keyed by section name then code."""

    sections: dict[str, dict[str, Label]]

    def codes(self, section: str) -> frozenset[str]:
        """The valid codes of one section."""
        return frozenset(self.sections.get(section, {}))

    def label(self, section: str, code: str, lang: str = "zh") -> str:
        """The label of a code in ``zh`` or ``en``; the code itself when unknown."""
        entry = self.sections.get(section, {}).get(code)
        if entry is None:
            return code
        return entry.en if lang == "en" else entry.zh


def parse_taxonomy(raw: Any) -> tuple[Taxonomy, list[str]]:
    """Build a taxonomy from parsed YAML, with a list of schema problems."""
    problems: list[str] = []
    sections: dict[str, dict[str, Label]] = {}
    if not isinstance(raw, dict):
        return Taxonomy({}), ["taxonomy.yaml: top level must be a mapping"]
    for name in SECTIONS:
        entries = raw.get(name)
        if not isinstance(entries, dict) or not entries:
            problems.append(f"taxonomy.yaml: section '{name}' is missing or empty")
            continue
        sections[name] = {}
        for code, entry in entries.items():
            fields = entry if isinstance(entry, dict) else {}
            missing = [k for k in ("zh", "en", "description") if not fields.get(k)]
            if missing:
                problems.append(f"taxonomy.yaml: {name}.{code} lacks {', '.join(missing)}")
            sections[name][str(code)] = Label(
                str(code),
                str(fields.get("zh", "")),
                str(fields.get("en", "")),
                str(fields.get("description", "")),
            )
    return Taxonomy(sections), problems


def load_taxonomy(knowledge_dir: Path) -> Taxonomy:
    """Load ``taxonomy.yaml`` from a knowledge directory (schema problems are for the validator)."""
    raw = yaml.safe_load((knowledge_dir / "taxonomy.yaml").read_text(encoding="utf-8"))
    return parse_taxonomy(raw)[0]
