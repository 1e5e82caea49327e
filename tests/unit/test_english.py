"""English end to end: catalog text, reasons, direct answers, numbers, rates and one detector."""

from __future__ import annotations

import re

import pytest

from bot.acts import DialogueAct
from bot.apr import apr_from_text, parse_cost_terms
from bot.context import Passage
from bot.engine import Engine
from bot.knowledge import Knowledge
from bot.numbers import english_number, numbers_in, parse_number
from bot.pipeline import run
from bot.profile import Dialogue, Profile
from bot.recommend import Recommender
from bot.respond import Responder
from bot.turn import Reason
from bot.understand import language

from .conftest import make_ctx, understanding

CJK = re.compile(r"[\u4e00-\u9fff]")


def _no_chinese(*texts: str) -> None:
    for text in texts:
        assert not CJK.search(text), text


@pytest.fixture
def recommender(knowledge: Knowledge) -> Recommender:
    rules = knowledge.rules
    return Recommender(rules.recommend, rules.policy, knowledge.catalog, knowledge.taxonomy)


# ---- the catalog's English fields --------------------------------------------------------------


def test_every_product_and_action_reads_in_english(knowledge: Knowledge) -> None:
    for product in knowledge.catalog.products:
        _no_chinese(product.name_in("en"), product.provider_in("en"), *product.materials_in("en"))
        _no_chinese(*product.requirements.other_in("en"), product.apr.display("en"))
        for figure in (product.amount, product.term_months, product.apr, product.speed):
            if figure is not None and figure.note:
                assert figure.note_in("en"), (product.id, figure)
                _no_chinese(figure.note_in("en") or "")
        assert len(product.materials_in("en")) == len(product.materials)
    for action in knowledge.catalog.credit_improvement:
        _no_chinese(action.action_in("en"), action.detail_in("en"), action.time_to_effect_in("en"))


def test_chinese_turns_keep_the_chinese_text(knowledge: Knowledge) -> None:
    jiebei = next(p for p in knowledge.catalog.products if p.id == "jiebei")
    assert jiebei.name_in("zh") == "借呗" and jiebei.name_in("en").startswith("Jiebei")
    assert jiebei.materials_in("zh") == jiebei.materials
    assert jiebei.amount.note_in("zh") == jiebei.amount.note


def test_an_apr_without_figures_shows_its_english_note(knowledge: Knowledge) -> None:
    fenfu = next(p for p in knowledge.catalog.products if p.id == "mybank-business-loan")
    assert fenfu.apr.display("en").startswith("No official public range found")
    assert fenfu.apr.display("zh").startswith("未见官方公开区间")


@pytest.mark.parametrize(
    "profile",
    [
        Profile(segment="consumer", need_purpose="consumption", monthly_income=9000),
        Profile(
            segment="sme",
            need_purpose="receivable_gap",
            receivables_large_buyers=True,
            buyer_types=["soe"],
            urgency="days",
        ),  # fmt: skip
        Profile(
            segment="sole_proprietor",
            need_purpose="working_capital",
            tax_rating="B",
            residency="foreign",
        ),  # fmt: skip
    ],
    ids=["consumer", "receivables", "foreign-taxpayer"],
)
def test_cards_are_all_english_for_an_english_turn(
    recommender: Recommender, profile: Profile
) -> None:
    reasons = [Reason(code="high_debt", label="High debt", confidence=0.6, evidence="e")]
    cards = recommender.recommend(profile, reasons, "en")
    assert cards
    for card in cards:
        _no_chinese(card.title, card.provider or "", card.why, card.apr, card.speed,
                    *card.materials)  # fmt: skip
    zh_cards = recommender.recommend(profile, reasons, "zh")
    assert [c.product for c in zh_cards] == [c.product for c in cards]
    assert all(CJK.search(c.title) for c in zh_cards)


def test_a_foreign_user_gets_english_identity_papers(recommender: Recommender) -> None:
    profile = Profile(segment="consumer", need_purpose="consumption", residency="foreign")
    card = next(c for c in recommender.recommend(profile, [], "en") if c.materials)
    assert not any("ID card" == m for m in card.materials)
    _no_chinese(*card.materials)


def test_credit_steps_are_english(recommender: Recommender) -> None:
    profile = Profile(overdue="current", borrowing_to_repay=True, need_purpose="repay_debt")
    reasons = [Reason(code="overdue_record", label="Overdue", confidence=0.95, evidence="e")]
    steps = [c for c in recommender.recommend(profile, reasons, "en")
             if c.channel == "credit_improvement"]  # fmt: skip
    assert "Repay what is overdue now" in [step.title for step in steps]
    for step in steps:
        _no_chinese(step.title, step.why, step.speed, step.apr)


# ---- diagnosis evidence ------------------------------------------------------------------------


def test_rule_evidence_is_english_with_the_users_english_words(engine: Engine) -> None:
    profile = Profile(overdue="current", zhima_score=560,
                      evidence={"overdue": "i am late on a card", "zhima_score": "sesame 560"})  # fmt: skip
    reasons = {r.code: r for r in engine.diagnoser.diagnose(profile, {}, "en")}
    assert reasons["overdue_record"].evidence == 'a payment is overdue now ("i am late on a card")'
    assert reasons["credit_score_low"].evidence.startswith("Sesame score below 600")
    zh = {r.code: r for r in engine.diagnoser.diagnose(profile, {}, "zh")}
    assert zh["overdue_record"].evidence.startswith("当前有逾期未还")


def test_chinese_words_from_an_earlier_turn_are_not_quoted_in_english(engine: Engine) -> None:
    profile = Profile(platform="jiebei", symptom="limit_cut", overdue="current",
                      evidence={"overdue": "信用卡逾期了"})  # fmt: skip
    reasons = engine.diagnoser.diagnose(profile, {"high_debt": "卡都刷爆了"}, "en")
    for reason in reasons:
        _no_chinese(reason.label, reason.evidence, reason.advice)
    assert {r.code for r in reasons} >= {"overdue_record", "high_debt"}


# ---- direct answers ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["amount", "cost", "speed", "materials", "eligibility",
                                  "collateral_guarantee"])  # fmt: skip
def test_direct_answers_from_the_catalog_are_english(knowledge: Knowledge, kind: str) -> None:
    responder = Responder(knowledge)
    for product in knowledge.catalog.products:
        text = responder._field(product, kind, "en")
        assert text, (product.id, kind)
        _no_chinese(text)


def test_a_product_is_found_by_its_english_name(knowledge: Knowledge) -> None:
    responder = Responder(knowledge)
    named = responder.named("how fast is the government procurement contract loan (zhengcaidai)?")
    assert [p.id for p in named] == ["gov-procurement-loan"]


def test_a_comparison_is_english(knowledge: Knowledge) -> None:
    ctx = make_ctx("compare factoring and a tax loan",
                   u=understanding(lang="en"), act=DialogueAct("asks", "compare"))  # fmt: skip
    answer = Responder(knowledge).answer(ctx)
    assert answer is not None and "Bank factoring" in answer.text
    _no_chinese(answer.text)


def test_a_chinese_passage_is_named_not_quoted_in_english(knowledge: Knowledge) -> None:
    passage = Passage(doc_id="credit-inquiries", heading="多少次算多", title="征信查询",
                      text="近期审批查询次数多，机构会认为你很缺钱。")  # fmt: skip
    ctx = make_ctx("how many inquiries are too many?", u=understanding(lang="en"),
                   act=DialogueAct("asks", "definition"), passages=(passage,))  # fmt: skip
    answer = Responder(knowledge).answer(ctx)
    assert answer is not None and "credit-inquiries" in answer.text
    assert "no legal threshold" in answer.text  # from the document's English summary
    assert answer.anchors == ("credit-inquiries#多少次算多",)
    _no_chinese(answer.text)
    zh = make_ctx("查询多少次算多", act=DialogueAct("asks", "definition"), passages=(passage,))
    zh_answer = Responder(knowledge).answer(zh)
    assert zh_answer is not None and zh_answer.text.startswith("近期审批查询次数多")


# ---- numbers and rates ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "value"),
    [("two hundred thousand", 200_000), ("20k", 20_000), ("1.5 million", 1_500_000),
     ("twenty-five", 25), ("one hundred and fifty thousand", 150_000), ("five grand", 5_000),
     ("3K", 3_000), ("2 million", 2_000_000), ("twelve", 12)],
)  # fmt: skip
def test_english_numbers(token: str, value: float) -> None:
    assert parse_number(token) == value
    assert english_number(token) == value


def test_english_numbers_inside_a_sentence_and_chinese_ones_unchanged() -> None:
    found = [v for v, _, _ in numbers_in("I need two hundred thousand, maybe 1.5 million")]
    assert found == [200_000, 1_500_000]
    assert parse_number("三十万") == 300_000 and parse_number("1.5万") == 15_000
    assert english_number("none") is None and english_number("a lot") is None
    assert numbers_in("how fast is each one") == [] and numbers_in("which one is cheaper") == []
    assert [v for v, _, _ in numbers_in("just one lender")] == [1]


@pytest.mark.parametrize(
    ("text", "apr"),
    [
        ("What's a daily rate of 0.05% as APR?", 18.25),
        ("the interest is 0.05% per day", 18.25),
        ("monthly rate 1.5%", 18.0),
        ("they charge 2% a month", 24.0),
        ("APR of 36%", 36.0),
    ],
)
def test_english_rate_phrases(text: str, apr: float) -> None:
    result = apr_from_text(text)
    assert result is not None and round(result.apr, 2) == apr
    _no_chinese(result.method_in("en"))


def test_english_instalments_match_the_chinese_ones() -> None:
    english = apr_from_text("borrow 10k, receive 9,000, 12 payments of 1,000")
    chinese = apr_from_text("借1万到手9000 12期每期还1000")
    assert english is not None and chinese is not None
    assert parse_cost_terms("borrow 10k, receive 9,000, 12 payments of 1,000").installments == 12
    assert round(english.apr, 4) == round(chinese.apr, 4)
    assert english.method_in("en") == "IRR, monthly instalments, every fee included"
    assert english.method_in("zh") == chinese.method


def test_daily_rate_equals_the_chinese_wan_wu() -> None:
    english, chinese = apr_from_text("daily rate 0.05%"), apr_from_text("日息万五")
    assert english is not None and chinese is not None and english.apr == chinese.apr


# ---- one language detector ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [("My Jiebei limit was cut", "en"), ("我的借呗被降额了", "zh"),
     ("my 借呗 limit was cut to zero", "en"), ("借呗APR是多少", "zh"), ("3", None), ("", None)],
)  # fmt: skip
def test_language(text: str, lang: str | None) -> None:
    assert language(text) == lang


def test_a_message_without_letters_keeps_the_conversation_language(engine: Engine) -> None:
    before = Dialogue(lang="en", asked=("lender_count",))
    ctx = run(make_ctx("3", dialogue=before, dialogue_before=before), engine)
    assert ctx.lang == "en" and ctx.dialogue.lang == "en"
    _no_chinese(ctx.reply.split("**Sources**")[0])
    fresh = run(make_ctx("3"), engine)
    assert fresh.lang == "zh"
    back = run(make_ctx("还是说中文吧，我有逾期", dialogue=before, dialogue_before=before), engine)
    assert back.lang == "zh" and back.dialogue.lang == "zh"


def test_an_english_turn_reply_has_no_chinese_before_the_sources(engine: Engine) -> None:
    ctx = run(make_ctx("Huabei cut my limit, I owe 4 lenders and my card is maxed out. "
                       "I run a small shop and need 50k for stock."), engine)  # fmt: skip
    assert ctx.lang == "en" and ctx.recommendations
    body = ctx.reply.split("**Sources**")[0]
    _no_chinese(body)


def test_a_summary_with_chinese_inside_is_not_used(knowledge: Knowledge) -> None:
    responder = Responder(knowledge)
    assert responder._english_summary("huabei") == ""  # names 信用购 and 套现 inline
    zhima = responder._english_summary("zhima-credit")
    assert zhima.startswith("What Ant Group's Sesame Credit score is,")  # (芝麻分) dropped


@pytest.mark.parametrize(
    ("text", "facts"),
    [
        ("I need two hundred thousand for stock", {"need_amount": 200_000}),
        ("my sesame score is six hundred and fifty", {"zhima_score": 650}),
        ("I owe three lenders", {"lender_count": 3}),
        ("which one is cheaper", {}),
    ],
)
def test_english_number_words_become_facts(engine: Engine, text: str, facts: dict) -> None:
    found = engine.understander.understand(text).facts
    assert {k: found.get(k) for k in facts} == facts
    if not facts:
        assert not {"lender_count", "need_amount", "zhima_score"} & set(found)
