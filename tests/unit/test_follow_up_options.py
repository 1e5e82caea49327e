"""Follow-up options as data: typed values, zh/en labels, and every label read back to its value."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.answers import answer_pending, chosen_option
from bot.engine import Engine
from bot.followup import follow_up_for
from bot.knowledge import Knowledge, check_rules
from bot.profile import Profile
from bot.turn import FollowUp, Label, Option
from tests.unit.test_rule_files import copy_knowledge, replace_in


def labelled_options(knowledge: Knowledge) -> list[tuple[str, int, str]]:
    """(field, option index, language) for every option label of every question."""
    return [
        (field, n, lang)
        for field, question in knowledge.rules.diagnosis.questions.items()
        for n in range(len(question.options))
        for lang in ("zh", "en")
    ]


def read_back(engine: Engine, field: str, text: str) -> object:
    """What the understand and answer stages make of ``text`` sent as the answer about ``field``."""
    question = engine.knowledge.rules.diagnosis.questions[field]
    understood = answer_pending(
        engine.knowledge.rules.understanding,
        field,
        text,
        engine.understander.understand(text),
        question.options,
    )
    assert not understood.skip, f"{text!r} was read as a skip"
    return getattr(Profile.model_validate(dict(understood.facts)), field, None)


def test_every_question_offers_labelled_options(knowledge: Knowledge) -> None:
    questions = knowledge.rules.diagnosis.questions
    assert questions
    for field, question in questions.items():
        assert len(question.options) >= 2, field
        for option in question.options:
            assert option.zh.strip() and option.en.strip(), field
            assert option.en.isascii(), f"{field}: the English label {option.en!r} is not English"


def test_every_label_round_trips_in_both_languages(knowledge: Knowledge, engine: Engine) -> None:
    cases = labelled_options(knowledge)
    assert len(cases) >= 2 * 30
    questions = knowledge.rules.diagnosis.questions
    for field, n, lang in cases:
        option = questions[field].options[n]
        label = option.label(lang)
        expected = getattr(Profile.model_validate({field: option.value}), field)
        assert read_back(engine, field, label) == expected, f"{field} {lang} label {label!r}"


def test_a_label_is_recognised_in_any_case_and_with_an_end_mark(engine: Engine) -> None:
    assert read_back(engine, "overdue", "in the past, repaid now.") == "past"
    assert read_back(engine, "urgency", "  不急，可以等几个月。 ") == "months"


def test_a_label_wins_over_what_the_phrase_rules_read(engine: Engine) -> None:
    # "6 lenders or more" alone would be read as the number 6 by the phrase rules as well; the
    # point is the button's value, whatever the rules make of its words
    options = engine.knowledge.rules.diagnosis.questions["need_amount"].options
    chosen = chosen_option(options, "3 million yuan")
    assert chosen is not None and chosen.value == 3_000_000
    assert read_back(engine, "need_amount", "3 million yuan") == 3_000_000


def test_other_text_is_no_option(knowledge: Knowledge) -> None:
    options = knowledge.rules.diagnosis.questions["overdue"].options
    assert chosen_option(options, "没有逾期吗？我也不确定") is None
    assert chosen_option(options, "") is None


def test_the_skip_label_is_read_as_a_skip(knowledge: Knowledge, engine: Engine) -> None:
    skip = knowledge.rules.diagnosis.skip
    for text in (skip.zh, skip.en):
        assert engine.understander.understand(text).skip, text


def test_the_follow_up_carries_json_typed_values(knowledge: Knowledge) -> None:
    skip = knowledge.rules.diagnosis.skip
    questions = knowledge.rules.diagnosis.questions
    dumped = {
        field: follow_up_for(field, question, skip, "en").model_dump(mode="json")
        for field, question in questions.items()
    }
    values = {field: [o["value"] for o in body["options"]] for field, body in dumped.items()}
    assert values["receivables_large_buyers"] == [True, False]
    assert values["collateral"] == [["property"], []]
    assert values["lender_count"] == [0, 3, 6]
    assert values["years_operating"] == [0.5, 3]
    assert values["overdue"] == ["none", "past", "current"]
    assert dumped["overdue"]["options"][0]["label"] == {"zh": "没有逾期", "en": "No late payments"}
    assert dumped["overdue"]["skip"] == {"zh": "跳过", "en": "Skip"}
    assert dumped["overdue"]["question"] == questions["overdue"].en
    for field, body in dumped.items():
        for option in body["options"]:
            Profile.model_validate({field: option["value"]})  # the profile takes it as it is


def test_choices_are_the_labels_then_skip() -> None:
    follow_up = FollowUp(
        field="is_student",
        question="Q",
        options=[Option(value=True, label=Label(zh="是", en="Yes")),
                 Option(value=False, label=Label(zh="不是", en="No"))],
    )  # fmt: skip
    assert follow_up.choices("zh") == ["是", "不是", "跳过"]
    assert follow_up.choices("en") == ["Yes", "No", "Skip"]
    assert Option.model_validate({"value": True, "label": {"zh": "是", "en": "Yes"}}).value is True


MISSING_EN = (
    replace_in("diagnosis.yaml", "{value: A, zh: A级, en: Grade A}", "{value: A, zh: A级}"),
    "diagnosis.yaml: questions.tax_rating.options.0.en: Field required",
)
WRONG_TYPE = (
    replace_in("diagnosis.yaml", "{value: 560, zh:", "{value: high, zh:"),
    "diagnosis.yaml: questions.zhima_score.options.0: value 'high' is not a valid zhima_score "
    "as typed",
)
BOOL_AS_TEXT = (
    replace_in("diagnosis.yaml", '{value: true, zh: 是, en: "Yes"}', '{value: "yes", zh: 是, en: "Yes"}'),
    "diagnosis.yaml: questions.is_student.options.0: value 'yes' is not a valid is_student as typed",
)  # fmt: skip
SHARED_LABEL = (
    replace_in("diagnosis.yaml", "{value: D, zh: D级, en: Grade D}", "{value: D, zh: A级, en: Grade D}"),
    "diagnosis.yaml: questions.tax_rating: two options share a zh label",
)  # fmt: skip
UNREAD_SKIP = (
    replace_in("diagnosis.yaml", "skip: {zh: 跳过, en: Skip}", "skip: {zh: 略过, en: Skip}"),
    "diagnosis.yaml: skip.zh: '略过' is not one of understanding.yaml skip_phrases",
)


@pytest.mark.parametrize(
    ("breakage", "problem"),
    [MISSING_EN, WRONG_TYPE, BOOL_AS_TEXT, SHARED_LABEL, UNREAD_SKIP],
    ids=["missing-en", "wrong-type", "bool-as-text", "shared-label", "skip"],
)
def test_kb_check_finds_each_label_problem(
    tmp_path: Path, breakage: Callable[[Path], None], problem: str
) -> None:
    from bot.knowledge import check_knowledge

    kb = copy_knowledge(tmp_path)
    breakage(kb)
    assert check_knowledge(kb) == [problem]


def test_the_shipped_labels_are_clean(tmp_path: Path) -> None:
    assert check_rules(copy_knowledge(tmp_path)) == []
