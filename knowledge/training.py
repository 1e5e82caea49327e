"""The labelled utterances the meaning models are fitted on: ``training/*.jsonl``, checked here.

Each line: ``text``, ``register``, ``intent``, ``act``, ``question``, ``hints`` (reason codes),
``segment``, ``purpose``, ``warnings`` (warning codes), ``overdue`` (none/past/current or null).
"""

from __future__ import annotations

import json
from pathlib import Path

from .taxonomy import Taxonomy

INTENTS = frozenset({"diagnose", "find_financing", "ask_product", "compute_cost", "small_talk",
                     "out_of_scope", "unsafe"})  # fmt: skip
OVERDUE = frozenset({"none", "past", "current"})
_CODED = (("segment", "segments"), ("purpose", "purposes"))
_LISTS = (("hints", "reasons"), ("warnings", "warnings"))


def _row_problems(row: object, taxonomy: Taxonomy) -> list[str]:
    if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not row["text"]:
        return ["needs a non-empty text"]
    problems = []
    if row.get("intent") not in INTENTS:
        problems.append(f"unknown intent {row.get('intent')!r}")
    if row.get("overdue") is not None and row["overdue"] not in OVERDUE:
        problems.append(f"unknown overdue status {row['overdue']!r}")
    for key, section in _CODED:
        value = row.get(key)
        if value is not None and value not in taxonomy.codes(section):
            problems.append(f"unknown {key} code {value!r}")
    for key, section in _LISTS:
        values = row.get(key) or []
        if not isinstance(values, list):
            problems.append(f"{key} must be a list")
            continue
        problems += [
            f"unknown {key} code {v!r}" for v in values if v not in taxonomy.codes(section)
        ]
    return problems


def check_training(knowledge_dir: Path, taxonomy: Taxonomy) -> list[str]:
    """One line per bad utterance (file:line: what is wrong)."""
    problems = []
    for path in sorted((knowledge_dir / "training").glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"training/{path.name}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                problems.append(f"{where}: not valid JSON")
                continue
            problems += [f"{where}: {p}" for p in _row_problems(row, taxonomy)]
    return problems
