"""``choose_follow_up`` and ``missing_fields``: one useful question, never a known or skipped one."""

from __future__ import annotations

import pytest

from bot.diagnose import Diagnoser
from bot.followup import choose_follow_up, missing_fields
from bot.knowledge import Knowledge
from bot.profile import Dialogue, Profile
from bot.recommend import Recommender

JIEBEI = Profile(platform="jiebei", symptom="cannot_open", zhima_score=650, overdue="none")


@pytest.fixture
def diagnoser(knowledge: Knowledge) -> Diagnoser:
    return Diagnoser(knowledge.rules.diagnosis, knowledge.taxonomy)


@pytest.fixture
def recommender(knowledge: Knowledge) -> Recommender:
    rules = knowledge.rules
    return Recommender(rules.recommend, rules.policy, knowledge.catalog, knowledge.taxonomy)


def only(knowledge: Knowledge, *fields: str) -> Diagnoser:
    """A diagnoser that may ask only about ``fields``."""
    rules = knowledge.rules.diagnosis
    questions = {name: rules.questions[name] for name in fields}
    return Diagnoser(rules.model_copy(update={"questions": questions}), knowledge.taxonomy)


def test_asks_the_field_that_changes_the_ranking_most(
    diagnoser: Diagnoser, recommender: Recommender
) -> None:
    question = choose_follow_up(diagnoser, recommender, JIEBEI, Dialogue())
    assert question is not None
    assert question.field == "inquiries_recent"
    assert question.question == diagnoser.questions["inquiries_recent"].zh
    assert [o.value for o in question.options] == [1, 4, 10]
    assert [o.label.zh for o in question.options] == ["1次", "4次左右", "10次以上"]
    assert question.choices("en") == [
        "1 application", "About 4 applications", "10 applications or more", "Skip"
    ]  # fmt: skip
    assert question.choices("zh")[-1] == "跳过"


def test_asks_in_english(diagnoser: Diagnoser, recommender: Recommender) -> None:
    question = choose_follow_up(diagnoser, recommender, JIEBEI, Dialogue(), "en")
    assert question is not None
    assert question.question == diagnoser.questions["inquiries_recent"].en


def test_never_asks_a_known_field(diagnoser: Diagnoser, recommender: Recommender) -> None:
    known = JIEBEI.model_copy(update={"inquiries_recent": 1})
    question = choose_follow_up(diagnoser, recommender, known, Dialogue())
    # the next most useful question: whether a student (no consumer credit) changes the options
    assert question is not None and question.field == "is_student"


def test_never_asks_a_skipped_field(diagnoser: Diagnoser, recommender: Recommender) -> None:
    skipped = Dialogue(asked=("inquiries_recent",), skipped=("inquiries_recent",))
    question = choose_follow_up(diagnoser, recommender, JIEBEI, skipped)
    assert question is not None and question.field == "is_student"


def test_never_asks_any_of_many_skipped_fields(
    diagnoser: Diagnoser, recommender: Recommender
) -> None:
    skipped: tuple[str, ...] = ()
    asked: list[str] = []
    for _ in range(4):
        question = choose_follow_up(diagnoser, recommender, JIEBEI, Dialogue(skipped=skipped))
        assert question is not None
        assert question.field not in skipped
        assert getattr(JIEBEI, question.field) is None
        asked.append(question.field)
        skipped = (*skipped, question.field)
    assert len(set(asked)) == 4


def test_none_when_no_answer_would_change_anything(
    knowledge: Knowledge, recommender: Recommender
) -> None:
    urgency_only = only(knowledge, "urgency")
    profile = Profile(symptom="limit_cut", overdue="current")  # no lender either way
    assert missing_fields(urgency_only, profile, Dialogue()) == ["urgency"]
    assert choose_follow_up(urgency_only, recommender, profile, Dialogue()) is None


def test_the_same_field_is_asked_when_its_answer_matters(
    knowledge: Knowledge, recommender: Recommender
) -> None:
    overdue_only = only(knowledge, "overdue")
    question = choose_follow_up(overdue_only, recommender, Profile(symptom="limit_cut"), Dialogue())
    assert question is not None and question.field == "overdue"


def test_none_when_everything_is_known_or_skipped(
    diagnoser: Diagnoser, recommender: Recommender
) -> None:
    every = Dialogue(skipped=tuple(diagnoser.questions))
    assert missing_fields(diagnoser, JIEBEI, every) == []
    assert choose_follow_up(diagnoser, recommender, JIEBEI, every) is None


def test_missing_fields_in_file_order_without_known_or_skipped(diagnoser: Diagnoser) -> None:
    missing = missing_fields(diagnoser, JIEBEI, Dialogue(skipped=("segment",)))
    assert missing[:3] == ["need_purpose", "lender_count", "inquiries_recent"]
    assert "overdue" not in missing and "zhima_score" not in missing and "segment" not in missing
    assert missing == [f for f in diagnoser.questions if f in missing]


def test_missing_fields_by_segment(diagnoser: Diagnoser) -> None:
    consumer = missing_fields(diagnoser, Profile(segment="consumer"), Dialogue())
    business = missing_fields(diagnoser, Profile(segment="sme"), Dialogue())
    assert {"tax_rating", "receivables_large_buyers", "years_operating"}.isdisjoint(consumer)
    assert {"zhima_score", "social_insurance", "is_student", "monthly_income"}.isdisjoint(business)
    assert "tax_rating" in business and "zhima_score" in consumer
