"""``Recommender``: hard rules on who gets a lender, ordering, diversity, one shared ranking."""

from __future__ import annotations

import pytest

from bot.knowledge import Knowledge
from bot.profile import Profile
from bot.recommend import Recommender
from bot.turn import Reason, Recommendation


@pytest.fixture
def recommender(knowledge: Knowledge) -> Recommender:
    rules = knowledge.rules
    return Recommender(rules.recommend, rules.policy, knowledge.catalog, knowledge.taxonomy)


def _reason(code: str, confidence: float) -> Reason:
    return Reason(code=code, label=code, confidence=confidence, evidence="e")


def _lenders(recs: list[Recommendation]) -> list[Recommendation]:
    return [r for r in recs if r.channel != "credit_improvement"]


CONSUMER_CHANNELS = {"fintech_consumer_credit", "consumer_finance_company", "credit_card"}


@pytest.mark.parametrize(
    "profile",
    [
        Profile(segment="sole_proprietor", need_purpose="inventory"),
        Profile(segment="consumer", need_purpose="working_capital"),
        Profile(need_purpose="equipment"),
        Profile(segment="sme"),
    ],
    ids=["sole-proprietor-stock", "consumer-working-capital", "no-segment-equipment", "sme"],
)
def test_consumer_credit_never_for_a_business_purpose(
    recommender: Recommender, profile: Profile
) -> None:
    recs = recommender.recommend(profile, [])
    assert recs, "some business lender should be offered"
    assert {r.channel for r in recs}.isdisjoint(CONSUMER_CHANNELS)


def test_consumer_credit_is_offered_for_consumption(recommender: Recommender) -> None:
    recs = recommender.recommend(Profile(segment="consumer", need_purpose="consumption"), [])
    assert [r.channel for r in recs[:3]] == [
        "credit_card",
        "consumer_finance_company",
        "fintech_consumer_credit",
    ]


def test_no_lender_when_borrowing_to_repay(recommender: Recommender) -> None:
    recs = recommender.recommend(Profile(segment="consumer", borrowing_to_repay=True), [])
    assert [r.product for r in recs] == [
        "lower-card-utilisation-and-debt",
        "close-small-online-loans",
    ]
    assert recs[0].apr == "不适用（不是贷款）"


@pytest.mark.parametrize("purpose", ["home_purchase", "securities", "repay_debt"])
def test_no_lender_for_never_lend_purposes(recommender: Recommender, purpose: str) -> None:
    recs = recommender.recommend(Profile(need_purpose=purpose), [_reason("high_debt", 0.5)])
    assert _lenders(recs) == []
    assert recs[0].channel == "credit_improvement"


def test_no_lender_with_a_current_overdue(recommender: Recommender) -> None:
    reasons = [_reason("overdue_record", 0.95)]
    recs = recommender.recommend(Profile(segment="consumer", overdue="current"), reasons)
    assert _lenders(recs) == []
    assert [r.product for r in recs] == [
        "check-own-credit-report",
        "repay-current-overdue",
    ]


def test_a_past_overdue_still_gets_lenders(recommender: Recommender) -> None:
    recs = recommender.recommend(Profile(segment="consumer", overdue="past"), [])
    assert len(_lenders(recs)) == 5


@pytest.mark.parametrize(
    ("platform", "refused"),
    [("jiebei", {"jiebei"}), ("jd", {"jd-jintiao", "jd-baitiao"}), ("huabei", {"huabei"})],
)
def test_the_refusing_product_is_not_offered_again(
    knowledge: Knowledge, platform: str, refused: set[str]
) -> None:
    rules = knowledge.rules
    unlimited = Recommender(
        rules.recommend.model_copy(update={"max_recommendations": 100}),
        rules.policy,
        knowledge.catalog,
        knowledge.taxonomy,
    )
    asked = Profile(platform=platform, segment="consumer")
    refused_by = asked.model_copy(update={"symptom": "limit_cut"})
    offered = {r.product for r in unlimited.recommend(asked, [])}
    offered_after = {r.product for r in unlimited.recommend(refused_by, [])}
    assert refused <= offered
    assert offered - offered_after == refused


def test_channel_diversity(recommender: Recommender) -> None:
    recs = recommender.recommend(Profile(segment="consumer", need_purpose="consumption"), [])
    channels = [r.channel for r in recs]
    distinct = len(set(channels))
    assert distinct == 4
    assert len(set(channels[:distinct])) == distinct  # every channel once before any repeats
    assert channels[distinct:] == ["credit_card"]


def test_max_per_channel_two_allows_a_pair(knowledge: Knowledge) -> None:
    rules = knowledge.rules
    two = Recommender(
        rules.recommend.model_copy(update={"max_per_channel": 2}),
        rules.policy,
        knowledge.catalog,
        knowledge.taxonomy,
    )
    recs = two.recommend(Profile(segment="consumer", need_purpose="consumption"), [])
    assert [r.channel for r in recs[:2]] == ["credit_card", "credit_card"]


def test_credit_first_when_a_reason_reaches_its_threshold(recommender: Recommender) -> None:
    recs = recommender.recommend(Profile(segment="consumer"), [_reason("overdue_record", 0.7)])
    assert [r.channel for r in recs] == [
        "credit_improvement",
        "credit_improvement",
        "fintech_consumer_credit",
        "consumer_finance_company",
        "credit_card",
    ]


def test_a_low_score_said_in_words_puts_restoring_credit_first(recommender: Recommender) -> None:
    """ "芝麻分才560": the next platform refuses a low score too, and each try adds an inquiry."""
    said = recommender.recommend(Profile(segment="consumer"), [_reason("credit_score_low", 0.7)])
    assert [r.channel for r in said][:2] == ["credit_improvement", "credit_improvement"]
    prior = recommender.recommend(Profile(segment="consumer"), [_reason("credit_score_low", 0.35)])
    assert prior[0].channel != "credit_improvement"  # a prior alone is only a possibility


def test_lenders_first_below_the_threshold(recommender: Recommender) -> None:
    """A finding under the credit-first line: two lenders, then its credit step, then lenders."""
    recs = recommender.recommend(Profile(segment="consumer"), [_reason("overdue_record", 0.69)])
    assert [r.channel for r in recs][2] == "credit_improvement"
    assert recs[2].product == "check-own-credit-report"
    assert all(r.channel != "credit_improvement" for r in recs[:2] + recs[3:])


def test_a_possibility_puts_the_credit_step_last_unless_a_refusal_was_told(
    recommender: Recommender,
) -> None:
    """A prior alone is no finding: the credit step waits after the lenders, until the user tells
    of a refusal (then getting the line back is one of the first three)."""
    weak = [_reason("overdue_record", 0.3)]
    asked = recommender.recommend(Profile(segment="consumer"), weak)
    assert [r.channel for r in asked][-1] == "credit_improvement"
    assert all(r.channel != "credit_improvement" for r in asked[:-1])
    refused = Profile(segment="consumer", platform="jiebei", symptom="cannot_open")
    told = recommender.recommend(refused, weak)
    assert [r.channel for r in told][2] == "credit_improvement"


def test_at_most_max_recommendations(recommender: Recommender) -> None:
    recs = recommender.recommend(Profile(segment="sme", need_purpose="working_capital"), [])
    assert len(recs) == recommender.rules.max_recommendations == 5


@pytest.mark.parametrize("n", [1, 3, 5])
@pytest.mark.parametrize(
    ("profile", "reasons"),
    [
        (Profile(segment="consumer"), [_reason("overdue_record", 0.7)]),
        (Profile(segment="sme", need_purpose="receivable_gap"), []),
        (Profile(borrowing_to_repay=True), []),
        (Profile(platform="jiebei", symptom="cannot_open"), [_reason("thin_file", 0.33)]),
    ],
)
def test_channel_ranking_equals_the_channels_of_recommend(
    recommender: Recommender, profile: Profile, reasons: list[Reason], n: int
) -> None:
    shown = [r.channel for r in recommender.recommend(profile, reasons)[:n]]
    assert recommender.channel_ranking(profile, reasons, n) == shown


def test_a_card_explains_the_fit(recommender: Recommender) -> None:
    profile = Profile(segment="sme", need_purpose="receivable_gap", receivables_large_buyers=True)
    top = recommender.recommend(profile, [])[0]
    assert top.channel == "bank_supply_chain"
    assert "你有大企业/国企的应收账款" in top.why
    assert "适合“" in top.why
    assert top.doc_id != "" and top.provider != ""


def test_english_cards(recommender: Recommender) -> None:
    recs = recommender.recommend(Profile(segment="consumer", borrowing_to_repay=True), [], "en")
    assert recs[0].apr == "n/a (not a loan)"


def _why(recs: list[Recommendation], product: str) -> str:
    return next(r.why for r in recs if r.product == product)


def test_a_central_soe_buyer_gets_receivables_finance_not_procurement(
    recommender: Recommender,
) -> None:
    factory = Profile(segment="sme", need_purpose="receivable_gap", buyer_types=["soe"],
                      receivables_large_buyers=True)  # fmt: skip
    recs = recommender.recommend(factory, [])
    products = [r.product for r in recs]
    assert products[0] in {"receivables-pledge-loan", "bank-factoring", "supply-chain-bill"}
    assert "gov-procurement-loan" not in products
    assert "国企或央企" in recs[0].why  # the user's own buyer, named


def test_provident_fund_and_payroll_surface_a_bank_consumer_loan(
    recommender: Recommender,
) -> None:
    worker = Profile(segment="consumer", need_purpose="consumption", provident_fund=True,
                     payroll_account=True)  # fmt: skip
    recs = recommender.recommend(worker, [])
    assert recs[0].product == "bank-online-consumer-loan"
    assert "公积金" in recs[0].why and "代发" in recs[0].why
    english = recommender.recommend(worker, [], lang="en")
    assert "provident fund" in _why(english, "bank-online-consumer-loan")


def test_why_names_the_users_facts(recommender: Recommender) -> None:
    shop = Profile(segment="sme", need_purpose="working_capital", tax_rating="B",
                   years_operating=3)  # fmt: skip
    recs = recommender.recommend(shop, [])
    assert "纳税信用B级" in _why(recs, "big-bank-tax-loan")
    meituan = Profile(segment="sole_proprietor", need_purpose="working_capital",
                      merchant_platforms=["meituan"])  # fmt: skip
    assert "美团商家" in _why(recommender.recommend(meituan, []), "meituan-business-loan")


def test_a_foreign_resident_is_not_asked_for_a_hukou_book(recommender: Recommender) -> None:
    person = Profile(segment="consumer", need_purpose="consumption", residency="foreign")
    for rec in _lenders(recommender.recommend(person, [])):
        assert not any("户口" in m or "身份证" in m for m in rec.materials[1:]), rec.product
        assert rec.materials[0].startswith("护照")
    mainland = Profile(segment="consumer", need_purpose="consumption")
    assert any("身份证" in m for r in recommender.recommend(mainland, []) for m in r.materials)


def test_an_m_rated_taxpayer_is_not_told_to_reach_m(recommender: Recommender) -> None:
    risky = [_reason("business_risk", 0.9)]
    unrated = [r.product for r in recommender.recommend(Profile(segment="sme"), risky)]
    assert "repair-tax-credit" in unrated
    for rating in ("A", "B", "M"):
        rated = Profile(segment="sme", tax_rating=rating)
        assert "repair-tax-credit" not in [r.product for r in recommender.recommend(rated, risky)]


def test_debt_found_rules_out_unsecured_consumer_credit(recommender: Recommender) -> None:
    """ "三张信用卡都刷满了": another card or consumer loan would only add to the debt; secured
    and business options stay."""
    policy = recommender.policy
    indebted = recommender.recommend(Profile(segment="consumer"), [_reason("high_debt", 0.75)])
    assert not {r.channel for r in indebted} & policy.consumer_channels
    possible = recommender.recommend(Profile(segment="consumer"), [_reason("high_debt", 0.3)])
    assert {r.channel for r in possible} & policy.consumer_channels


def test_a_bill_discounted_for_materials_is_offered(recommender: Recommender) -> None:
    """Bill-discount proceeds may pay for raw materials: a 银承 holder buying stock gets it."""
    holder = Profile(segment="sme", collateral=["bills"], need_purpose="inventory", invoices=True)
    assert "leasing_or_bill" in [r.channel for r in recommender.recommend(holder, [])[:3]]
