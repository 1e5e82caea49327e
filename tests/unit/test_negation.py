"""Negation with scope, lexicalised exceptions, and the overdue status from aspect and time."""

from __future__ import annotations

import pytest

from bot.knowledge import load_knowledge
from bot.mentions import sentences
from bot.negation import NegationScope
from bot.overdue import OverdueReader
from bot.understand import Understander
from core.settings import PACKAGE_KNOWLEDGE_DIR, PROMPTS_DIR


@pytest.fixture(scope="module")
def understander() -> Understander:
    rules = load_knowledge(PACKAGE_KNOWLEDGE_DIR, PROMPTS_DIR).rules
    return Understander(rules.understanding, rules.policy)


@pytest.fixture(scope="module")
def scope(understander: Understander) -> NegationScope:
    return understander.negation


def negated(scope: NegationScope, clause: str, word: str) -> bool:
    return scope.negated(clause, clause.index(word))


def test_a_negator_covers_its_predicate_beyond_five_characters(scope: NegationScope) -> None:
    assert negated(scope, "从来没有在任何网贷平台上逾期", "逾期")


def test_the_scope_ends_at_a_conjunction(scope: NegationScope) -> None:
    clause = "没有社保但是有营业执照"
    assert negated(scope, clause, "社保") and not negated(scope, clause, "营业执照")
    assert not negated(scope, "没有房子也有车", "有车")


def test_a_phrase_that_starts_with_the_negator_is_not_negated(scope: NegationScope) -> None:
    assert not negated(scope, "没有抵押物", "没有抵押")


@pytest.mark.parametrize(
    ("clause", "word"),
    [("收入不少每个月还是以贷养贷", "以贷养贷"), ("不得不拆东墙补西墙", "拆东墙补西墙"),
     ("差不多借了八家网贷", "借了"), ("不仅征信花了还欠了很多", "征信花了"),
     ("不久前刚被法院起诉", "起诉"), ("是不是征信花了", "征信花了"),
     ("我也不知道为什么借呗被降额", "降额"), ("借不到钱只能借新还旧", "借新还旧"),
     ("非常着急用钱周转", "周转")],
)  # fmt: skip
def test_lexicalised_words_negate_nothing(scope: NegationScope, clause: str, word: str) -> None:
    assert not negated(scope, clause, word)


def test_an_enumeration_keeps_the_second_item(understander: Understander) -> None:
    facts = understander.understand("这两年过得入不敷出、借新还旧，越陷越深").facts
    assert facts.get("borrowing_to_repay") is True


@pytest.mark.parametrize(
    ("text", "status"),
    [("信用卡晚了三天，第二天就还上了", "past"), ("花呗逾期十天，后来一次性还清了", "past"),
     ("那次逾期是2021年的，早就结清了", "past"), ("网贷逾期是前年的事，已经处理了", "past"),
     ("以前逾期过两次", "past"), ("逾期二十天了，到现在还没还", "current"),
     ("从今年三月开始停止还款", "current"), ("有两笔网贷一直拖着", "current"),
     ("信用卡已经逾期一个多月", "current"), ("I stopped repaying my loans in May", "current"),
     ("我从不逾期", "none"), ("没有逾期过，征信也没问题", "none"), ("一次逾期都没有", "none"),
     ("I was late once last year but paid it off the next day", "past")],
)  # fmt: skip
def test_overdue_status_from_aspect_and_time(
    understander: Understander, text: str, status: str
) -> None:
    assert understander.understand(text).facts.get("overdue") == status


def test_a_settlement_in_the_next_sentence_makes_it_past(understander: Understander) -> None:
    reader: OverdueReader = understander.overdue
    found = reader.read(sentences("借呗逾期了一周。后来已经全部还完了。"))
    assert found is not None and found[0] == "past"


def test_a_current_overdue_wins_over_an_old_one(understander: Understander) -> None:
    text = "以前逾期过一次已经还清，但这个月又逾期了还没还"
    assert understander.understand(text).facts.get("overdue") == "current"


def test_a_question_about_overdues_states_nothing(understander: Understander) -> None:
    assert "overdue" not in understander.understand("逾期会影响征信吗").facts


def test_receivables_are_read_across_the_comma(understander: Understander) -> None:
    facts = understander.understand("我们主要给一家国企供货，对方欠的货款有两百多万").facts
    assert facts.get("receivables_large_buyers") is True
