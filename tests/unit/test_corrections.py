"""A correction that names only the numbers fixes the field that held the old one."""

from __future__ import annotations

import pytest

from bot.context import TurnContext
from bot.corrections import bare_correction
from bot.engine import Engine
from bot.pipeline import run
from bot.profile import Profile


@pytest.mark.parametrize(
    ("text", "before", "after"),
    [
        ("说错了，是三年不是五年", Profile(years_operating=5), {"years_operating": 3}),
        ("不是两年，是三年", Profile(need_term_months=24), {"need_term_months": 36}),
        ("不对，是二十万而不是十万", Profile(need_amount=100000), {"need_amount": 200000}),
        ("sorry, not five years, three years", Profile(years_operating=5), {"years_operating": 3}),
        ("说错了，是650不是600", Profile(zhima_score=600), {"zhima_score": 650}),
    ],
)
def test_the_field_holding_the_old_number_gets_the_new_one(
    text: str, before: Profile, after: dict[str, float]
) -> None:
    assert bare_correction(text, before) == after


@pytest.mark.parametrize(
    ("text", "before"),
    [
        ("是三年不是五年", Profile(years_operating=4)),  # nothing held five years
        ("是三年不是五年", Profile()),
        ("是5万不是3年", Profile(years_operating=3)),  # a sum cannot replace a duration
        ("我不是学生，是上班族", Profile(years_operating=5)),  # no numbers at all
    ],
)
def test_nothing_changes_without_a_single_matching_value(text: str, before: Profile) -> None:
    assert bare_correction(text, before) == {}


def test_the_reply_acknowledges_a_bare_correction(engine: Engine) -> None:
    first = run(TurnContext(text="我开奶茶店的，开了五年了，网商贷降额了"), engine)
    assert first.profile.years_operating == 5
    second = run(
        TurnContext(text="说错了，是三年不是五年", previous=first.profile,
                    dialogue_before=first.dialogue),
        engine,
    )  # fmt: skip
    assert second.profile.years_operating == 3
    assert "3年" in second.reply.split("\n")[0]
