"""Rule-file validation: one breakage in a copy of the shipped knowledge, one problem line."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bot.knowledge import check_knowledge, check_rules, load_knowledge
from core.errors import KnowledgeInvalidError
from core.settings import PROMPTS_DIR
from knowledge.rules import load_rules, parse_rules
from tests.unit.conftest import SHIPPED


def copy_knowledge(root: Path) -> Path:
    """The shipped knowledge files (YAML and docs) under ``root``."""
    target = root / "kb"
    shutil.copytree(
        SHIPPED,
        target,
        ignore=shutil.ignore_patterns("__pycache__", "*.py", "index", "training"),
    )
    return target


def replace_in(name: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(kb: Path) -> None:
        path = kb / name
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} must occur once in {name}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    return apply


def _judicial_rule() -> int:
    """The position of the shipped rule ``when: {judicial_record: true}`` in diagnosis.yaml."""
    rules = yaml.safe_load((SHIPPED / "diagnosis.yaml").read_text(encoding="utf-8"))["rules"]
    return next(i for i, r in enumerate(rules) if r["when"] == {"judicial_record": True})


JUDICIAL = _judicial_rule()


def remove(name: str) -> Callable[[Path], None]:
    return lambda kb: (kb / name).unlink()


GE_OPERATOR = (
    replace_in("diagnosis.yaml", "overdue_days: {gte: 90}", "overdue_days: {ge: 90}"),
    "diagnosis.yaml: rules.2.when.overdue_days: Value error, unknown operator 'ge' "
    "(use one of gte, gt, lte, lt)",
)
MISSPELLED_FIELD = (
    replace_in("diagnosis.yaml", "when: {judicial_record: true}", "when: {judical_record: true}"),
    f"diagnosis.yaml: rules.{JUDICIAL}.when: unknown field 'judical_record' (not a profile field)",
)
UNKNOWN_KEY = (
    replace_in("recommend.yaml", "max_per_channel: 1", "max_per_channel: 1\nmax_per_chanel: 2"),
    "recommend.yaml: max_per_chanel: Extra inputs are not permitted",
)
MISSING_POLICY = (remove("policy.yaml"), "policy.yaml: required file is missing")


@pytest.fixture(scope="module")
def clean_problems(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return check_knowledge(copy_knowledge(tmp_path_factory.mktemp("clean")))


def test_the_shipped_copy_is_clean(clean_problems: list[str]) -> None:
    assert clean_problems == []


@pytest.mark.parametrize(
    ("breakage", "problem"),
    [GE_OPERATOR, MISSPELLED_FIELD, UNKNOWN_KEY],
    ids=["ge-operator", "misspelled-field", "unknown-key"],
)
def test_one_breakage_one_problem_line(
    tmp_path: Path, breakage: Callable[[Path], None], problem: str
) -> None:
    kb = copy_knowledge(tmp_path)
    breakage(kb)
    assert check_knowledge(kb) == [problem]
    with pytest.raises(KnowledgeInvalidError) as raised:
        load_knowledge(kb, PROMPTS_DIR)
    assert raised.value.problems == [problem]
    assert str(raised.value) == f"1 problem(s) in the knowledge base: {problem}"


def test_a_missing_policy_file_refuses_to_load(tmp_path: Path) -> None:
    kb = copy_knowledge(tmp_path)
    MISSING_POLICY[0](kb)
    assert MISSING_POLICY[1] in check_knowledge(kb)
    with pytest.raises(KnowledgeInvalidError) as raised:
        load_knowledge(kb, PROMPTS_DIR)
    assert raised.value.problems == [MISSING_POLICY[1]]
    assert parse_rules(kb) == (None, [MISSING_POLICY[1]])


def test_a_misspelled_question_field(tmp_path: Path) -> None:
    kb = copy_knowledge(tmp_path)
    replace_in("diagnosis.yaml", "  urgency:\n    zh:", "  urgncy:\n    zh:")(kb)
    assert check_rules(kb) == [
        "diagnosis.yaml: questions.urgncy: unknown field 'urgncy' (not a profile field)"
    ]


def test_a_computed_field_is_a_known_condition(tmp_path: Path) -> None:
    kb = copy_knowledge(tmp_path)
    replace_in(
        "diagnosis.yaml", "when: {judicial_record: true}", "when: {debt_to_income: {gt: 2}}"
    )(kb)
    assert check_rules(kb) == []


def test_invalid_yaml_is_one_line(tmp_path: Path) -> None:
    kb = copy_knowledge(tmp_path)
    (kb / "guard.yaml").write_text("scam_phrases: [unclosed\n", encoding="utf-8")
    rules, problems = parse_rules(kb)
    assert rules is None
    assert len(problems) == 1 and problems[0].startswith("guard.yaml: not valid YAML (")
    with pytest.raises(KnowledgeInvalidError):
        load_rules(kb)


def test_a_condition_without_a_value(tmp_path: Path) -> None:
    kb = copy_knowledge(tmp_path)
    replace_in("diagnosis.yaml", "when: {judicial_record: true}", "when: {judicial_record: null}")(
        kb
    )
    _, problems = parse_rules(kb)
    assert problems == [
        f"diagnosis.yaml: rules.{JUDICIAL}.when.judicial_record: Value error, "
        "a condition needs a value, a list of values or a range"
    ]
