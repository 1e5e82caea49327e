"""Numbers with units and roles: each mention found once, kind from its unit, field from cues."""

from __future__ import annotations

import pytest

from bot.knowledge import load_knowledge
from bot.mentions import find_mentions, sentences
from bot.numbers import parse_number
from bot.roles import RoleAssigner
from core.settings import PACKAGE_KNOWLEDGE_DIR, PROMPTS_DIR


@pytest.fixture(scope="module")
def roles() -> RoleAssigner:
    rules = load_knowledge(PACKAGE_KNOWLEDGE_DIR, PROMPTS_DIR).rules.understanding
    return RoleAssigner(rules.number_roles, rules.number_exceptions, rules.number_conditions)


def facts(roles: RoleAssigner, text: str) -> dict[str, float | int]:
    found: dict[str, float | int] = {}
    for sentence in sentences(text):
        for name, value, _ in roles.assign(sentence):
            found[name] = value
    return found


@pytest.mark.parametrize(
    ("token", "value"),
    [("二十来万", 200_000), ("四百来万", 4_000_000), ("四五千", 4000), ("七八万", 70_000),
     ("1万2", 12_000), ("二十几", 25), ("三十几万", 350_000), ("十几", 15), ("七八", 7)],
)  # fmt: skip
def test_mixed_and_approximate_forms(token: str, value: float) -> None:
    assert parse_number(token) == value


@pytest.mark.parametrize(
    ("text", "kind", "unit", "value"),
    [("八万块", "money", "块", 80_000), ("3万元", "money", "元", 30_000),
     ("45k", "money", "", 45_000), ("3 million", "money", "million", 3_000_000),
     ("8 grand", "money", "grand", 8000), ("九家", "count", "家", 9), ("11次", "count", "次", 11),
     ("两张", "count", "张", 2), ("5笔", "count", "笔", 5), ("12 lenders", "count", "lenders", 12),
     ("620分", "score", "分", 620), ("十天", "duration", "天", 10), ("两个月", "duration", "个月", 2),
     ("一年半", "duration", "年半", 1.5), ("6 months", "duration", "months", 6),
     ("31岁", "age", "岁", 31), ("2022年", "year", "年", 2022), ("六千", "money", "", 6000),
     ("五百八", "bare", "", 580)],
)  # fmt: skip
def test_kind_comes_from_the_unit(text: str, kind: str, unit: str, value: float) -> None:
    [mention] = find_mentions(text)
    assert (mention.kind, mention.unit, mention.value) == (kind, unit, value)


def test_rates_are_mentions_of_their_own() -> None:
    kinds = [m.kind for m in find_mentions("日息万三，年化18%，月息2个点")]
    assert kinds == ["rate", "rate", "rate"]


def test_each_number_is_found_once_and_words_with_numerals_are_not_numbers() -> None:
    exceptions = ["一直", "万一", "双十一"]
    assert [m.text for m in find_mentions("一直想借三万，万一双十一要用", exceptions)] == ["三万"]
    assert [m.value for m in find_mentions("借了五家")] == [5]


def test_long_runs_cost_linear_time_and_yield_no_giant_numbers() -> None:
    assert find_mentions("7" * 5000) == []
    assert len(find_mentions("一二三四五六七八九十" * 500)) < 1000


def test_money_with_a_need_cue_is_the_need_never_a_lender_count(roles: RoleAssigner) -> None:
    found = facts(roles, "我这边急需八万块进货")
    assert found == {"need_amount": 80_000}


def test_money_without_a_count_unit_is_never_a_lender_count(roles: RoleAssigner) -> None:
    found = facts(roles, "店关了以后，每个月就剩三四千，网贷平台天天催")
    assert "lender_count" not in found and found.get("monthly_income") == 3000


def test_english_counts_and_debt_across_commas(roles: RoleAssigner) -> None:
    found = facts(roles, "borrowed from 14 platforms, 35万 debt in total, no longer paying")
    assert found == {"lender_count": 14, "total_debt": 350_000}


def test_lender_count_needs_a_count_unit_and_a_lender_cue(roles: RoleAssigner) -> None:
    assert facts(roles, "我在六个网贷平台都有借款") == {"lender_count": 6}
    assert facts(roles, "名下还有3笔小贷没结清") == {"lender_count": 3}
    assert "lender_count" not in facts(roles, "我开了两家店")
    assert "lender_count" not in facts(roles, "家里有三个孩子")


def test_inquiries_need_an_inquiry_cue(roles: RoleAssigner) -> None:
    assert facts(roles, "上个月征信被查了九次") == {"inquiries_recent": 9}
    assert facts(roles, "半年内申请了二十几个贷款") == {"inquiries_recent": 25}


def test_a_score_needs_a_score_cue_and_the_range(roles: RoleAssigner) -> None:
    assert facts(roles, "支付宝芝麻分才五百八") == {"zhima_score": 580}
    assert facts(roles, "my sesame score is 702") == {"zhima_score": 702}
    assert "zhima_score" not in facts(roles, "芝麻分掉了30")
    assert "zhima_score" not in facts(roles, "月入6500")


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [("税后到手七千二", "monthly_income", 7200), ("每个月要还六千五的网贷", "monthly_debt_payment", 6500),
     ("房贷月供4800", "monthly_debt_payment", 4800), ("七七八八加起来一共欠了三十来万", "total_debt", 300_000),
     ("去年店里流水差不多一百二十万", "annual_revenue", 1_200_000), ("想贷二十万开分店", "need_amount", 200_000),
     ("we need about 2 million for the new line", "need_amount", 2_000_000)],
)  # fmt: skip
def test_money_goes_to_the_field_its_cue_names(
    roles: RoleAssigner, text: str, field: str, value: float
) -> None:
    assert facts(roles, text).get(field) == value


def test_two_amounts_in_one_clause_take_their_own_cues(roles: RoleAssigner) -> None:
    found = facts(roles, "工资九千每月还四千")
    assert found == {"monthly_income": 9000, "monthly_debt_payment": 4000}


def test_a_cue_in_the_clause_before_reaches_across_the_comma(roles: RoleAssigner) -> None:
    assert facts(roles, "还差一笔启动资金，大概十五万") == {"need_amount": 150_000}


def test_a_cue_next_to_another_number_is_not_reused(roles: RoleAssigner) -> None:
    found = facts(roles, "想借40万扩产，银行只批了10万")
    assert found == {"need_amount": 400_000}


def test_fees_and_granted_limits_fill_nothing(roles: RoleAssigner) -> None:
    assert facts(roles, "中介让我先交3000的服务费") == {}


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [("这家小超市开了四年", "years_operating", 4), ("公司成立18个月", "years_operating", 1.5),
     ("信用卡逾期了两个月", "overdue_days", 60), ("网贷晚还了12天逾期", "overdue_days", 12),
     ("打算借两年", "need_term_months", 24), ("分24期还", "need_term_months", 24)],
)  # fmt: skip
def test_durations_by_cue_in_the_fields_unit(
    roles: RoleAssigner, text: str, field: str, value: float
) -> None:
    assert facts(roles, text).get(field) == value


def test_a_condition_is_not_the_fact(roles: RoleAssigner) -> None:
    assert "years_operating" not in facts(roles, "经营不满两年的能贷吗")


def test_age_needs_an_age_unit_or_cue(roles: RoleAssigner) -> None:
    assert facts(roles, "今年刚满19岁") == {"age": 19}
    assert facts(roles, "I'm a student, 21 years old") == {"age": 21}
