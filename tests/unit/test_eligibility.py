"""Hard eligibility, one rule per test, each with the passing case beside the failing one."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.eligibility import EligibilityContext, eligible
from bot.knowledge import Knowledge
from bot.policy import borrows_for_business, refused_products, segments_for
from bot.profile import Profile
from bot.turn import Reason
from knowledge import Product
from knowledge.rules import Policy


@pytest.fixture
def policy(knowledge: Knowledge) -> Policy:
    return knowledge.rules.policy


@pytest.fixture
def products(knowledge: Knowledge) -> dict[str, Product]:
    return {p.id: p for p in knowledge.catalog.products}


def ok(product: Product, profile: Profile, policy: Policy) -> bool:
    return eligible(product, profile, policy, EligibilityContext.of(policy, profile))


def requiring(product: Product, **requirements: Any) -> Product:
    """``product`` with extra requirements (the shipped catalog uses few of them)."""
    req = product.requirements.model_copy(update=requirements)
    return product.model_copy(update={"requirements": req})


SME = Profile(segment="sme", need_purpose="working_capital")
CONSUMER = Profile(segment="consumer", need_purpose="consumption")


def test_a_programme_is_out_after_its_end_date(
    products: dict[str, Product], policy: Policy
) -> None:
    programme = products["service-sector-loan-subsidy"]
    profile = Profile(segment="sme", need_purpose="expansion")
    while_open = EligibilityContext.of(policy, profile, today=dt.date(2026, 6, 1))
    after_end = EligibilityContext.of(policy, profile, today=dt.date(2027, 1, 1))
    assert eligible(programme, profile, policy, while_open)
    assert not eligible(programme, profile, policy, after_end)


def test_consumer_credit_never_funds_a_business(
    products: dict[str, Product], policy: Policy
) -> None:
    card = products["credit-card-spending"]
    assert ok(card, CONSUMER, policy)
    business_use = Profile(segment="consumer", need_purpose="inventory")
    assert borrows_for_business(policy, business_use) is True
    # even a product that allowed the purpose would be out: patch the purposes to prove it
    permissive = card.model_copy(
        update={"purposes_allowed": ["inventory"], "purposes_forbidden": []}
    )
    assert not ok(permissive, business_use, policy)


def test_a_business_without_a_purpose_borrows_for_the_business(policy: Policy) -> None:
    assert borrows_for_business(policy, Profile(segment="sole_proprietor")) is True
    assert borrows_for_business(policy, Profile(segment="consumer")) is False


def test_a_purpose_the_product_does_not_allow(products: dict[str, Product], policy: Policy) -> None:
    card = products["credit-card-spending"]
    assert not ok(card, Profile(segment="consumer", need_purpose="home_purchase"), policy)
    huabei = products["huabei"]
    assert "education" not in huabei.purposes_allowed
    assert not ok(huabei, Profile(segment="consumer", need_purpose="education"), policy)
    assert ok(products["jiebei"], Profile(segment="consumer", need_purpose="education"), policy)


def test_a_forbidden_purpose_wins_over_an_allowed_one(
    products: dict[str, Product], policy: Policy
) -> None:
    both = products["jiebei"].model_copy(update={"purposes_forbidden": ["consumption"]})
    assert not ok(both, CONSUMER, policy)


def test_the_segment_must_match(products: dict[str, Product], policy: Policy) -> None:
    weiyedai = products["webank-weiyedai"]
    assert weiyedai.segments == ["sme"]
    assert ok(weiyedai, SME, policy)
    assert not ok(
        weiyedai, Profile(segment="sole_proprietor", need_purpose="working_capital"), policy
    )


def test_segments_follow_purpose_and_platform(policy: Policy) -> None:
    assert segments_for(policy, Profile(need_purpose="inventory")) == {"sole_proprietor", "sme"}
    assert segments_for(policy, Profile(need_purpose="medical")) == {"consumer"}
    assert segments_for(policy, Profile(platform="jiebei")) == {"consumer"}
    assert segments_for(policy, Profile(platform="mybank")) == {
        "consumer",
        "sole_proprietor",
        "sme",
    }


def test_the_refusing_product_is_out(products: dict[str, Product], policy: Policy) -> None:
    refused = Profile(segment="consumer", platform="jiebei", symptom="cannot_open")
    assert refused_products(policy, refused) == {"jiebei"}
    assert not ok(products["jiebei"], refused, policy)
    assert ok(products["huabei"], refused, policy)
    assert refused_products(policy, Profile(platform="jiebei")) == frozenset()


def test_a_used_up_product_is_out(products: dict[str, Product], policy: Policy) -> None:
    maxed = Profile(segment="consumer", platform="huabei", platform_maxed=True)
    assert refused_products(policy, maxed) == {"huabei"}
    assert not ok(products["huabei"], maxed, policy)
    assert ok(products["jiebei"], maxed, policy)


def test_siblings_are_out_when_the_reason_holds_for_the_lender(
    knowledge: Knowledge, products: dict[str, Product], policy: Policy
) -> None:
    refused = Profile(segment="consumer", platform="jiebei", symptom="limit_closed")

    def offered(product: str, reasons: list[Reason]) -> bool:
        context = EligibilityContext.of(policy, refused, reasons=reasons, catalog=knowledge.catalog)
        return eligible(products[product], refused, policy, context)

    overdue = [Reason(code="overdue_record", label="", confidence=0.7, evidence="")]
    local = [Reason(code="regulatory_limit", label="", confidence=0.9, evidence="")]
    assert products["huabei"].provider == products["jiebei"].provider
    assert not offered("huabei", overdue)  # same lender, lender-wide reason
    assert offered("huabei", local)  # a reason of the one product only
    assert offered("jd-jintiao", overdue)  # another lender


def test_a_merchant_loan_needs_the_merchant_account(
    products: dict[str, Product], policy: Policy
) -> None:
    loan = products["meituan-business-loan"]
    shop = Profile(segment="sole_proprietor", need_purpose="working_capital")
    assert not ok(loan, shop, policy)  # never on a guess
    assert not ok(loan, shop.model_copy(update={"merchant_platforms": ["taobao"]}), policy)
    assert ok(loan, shop.model_copy(update={"merchant_platforms": ["meituan"]}), policy)
    jd = products["jd-business-loan-family"]
    assert ok(jd, shop.model_copy(update={"merchant_platforms": ["jd", "alipay"]}), policy)


def test_the_buyer_must_be_the_kind_the_product_finances(
    products: dict[str, Product], policy: Policy
) -> None:
    factory = SME.model_copy(update={"need_purpose": "receivable_gap", "orders_in_hand": True})
    soe = factory.model_copy(update={"buyer_types": ["soe"], "receivables_large_buyers": True})
    government = factory.model_copy(update={"buyer_types": ["government"]})
    assert not ok(products["gov-procurement-loan"], soe, policy)
    assert ok(products["gov-procurement-loan"], government, policy)
    assert ok(products["gov-procurement-loan"], factory, policy)  # unknown buyer: not a failure
    for product in ("receivables-pledge-loan", "bank-factoring", "supply-chain-bill"):
        assert ok(products[product], soe, policy), product
    assert not ok(products["supply-chain-bill"], government, policy)


def test_years_operating_minimum(products: dict[str, Product], policy: Policy) -> None:
    loan = requiring(products["webank-weiyedai"], years_operating_min=2)
    assert not ok(loan, SME.model_copy(update={"years_operating": 1.5}), policy)
    assert ok(loan, SME.model_copy(update={"years_operating": 2}), policy)
    assert ok(loan, SME, policy)  # unknown is not a failure


def test_tax_rating(products: dict[str, Product], policy: Policy) -> None:
    tax_loan = products["big-bank-tax-loan"]
    assert ok(tax_loan, SME.model_copy(update={"tax_rating": "M"}), policy)
    assert not ok(tax_loan, SME.model_copy(update={"tax_rating": "C"}), policy)


def test_collateral(products: dict[str, Product], policy: Policy) -> None:
    mortgage = products["property-mortgage-business-loan"]
    assert ok(mortgage, SME.model_copy(update={"collateral": ["property", "ip"]}), policy)
    assert not ok(mortgage, SME.model_copy(update={"collateral": ["deposit"]}), policy)
    assert not ok(mortgage, SME.model_copy(update={"collateral": []}), policy)


def test_receivables_from_large_buyers(products: dict[str, Product], policy: Policy) -> None:
    factoring = products["bank-factoring"]
    assert ok(factoring, SME.model_copy(update={"receivables_large_buyers": True}), policy)
    assert not ok(factoring, SME.model_copy(update={"receivables_large_buyers": False}), policy)


def test_orders_in_hand(products: dict[str, Product], policy: Policy) -> None:
    orders = products["order-financing"]
    assert ok(orders, SME.model_copy(update={"orders_in_hand": True}), policy)
    assert not ok(orders, SME.model_copy(update={"orders_in_hand": False}), policy)


def test_no_judicial_record(products: dict[str, Product], policy: Policy) -> None:
    loan = products["webank-weiyedai"]
    assert not ok(loan, SME.model_copy(update={"judicial_record": True}), policy)
    assert ok(loan, SME.model_copy(update={"judicial_record": False}), policy)
    bills = products["bank-acceptance-bill-discount"]  # does not ask about court records
    assert ok(bills, SME.model_copy(update={"judicial_record": True}), policy)


def test_social_insurance(products: dict[str, Product], policy: Policy) -> None:
    loan = requiring(products["bank-online-consumer-loan"], needs_social_insurance=True)
    assert not ok(loan, CONSUMER.model_copy(update={"social_insurance": False}), policy)
    assert ok(loan, CONSUMER.model_copy(update={"social_insurance": True}), policy)


def test_age_range(products: dict[str, Product], policy: Policy) -> None:
    loan = requiring(products["jiebei"], age_max=55)
    assert not ok(loan, CONSUMER.model_copy(update={"age": 17}), policy)
    assert ok(loan, CONSUMER.model_copy(update={"age": 18}), policy)
    assert ok(loan, CONSUMER.model_copy(update={"age": 55}), policy)
    assert not ok(loan, CONSUMER.model_copy(update={"age": 56}), policy)


def test_students(products: dict[str, Product], policy: Policy) -> None:
    """Students get no consumer credit: no online lender, no consumer finance company, and no
    credit card either (a student's card needs a second repayment source, 银监发〔2009〕60号)."""
    student = CONSUMER.model_copy(update={"is_student": True})
    consumer = [p for p in products.values() if p.channel in policy.consumer_channels]
    assert {p.channel for p in consumer} >= {"credit_card", "fintech_consumer_credit"}
    assert not [p.id for p in consumer if ok(p, student, policy)]
    assert ok(products["credit-card-spending"], CONSUMER, policy)


def test_no_property_still_leaves_receivables_as_collateral(
    products: dict[str, Product], policy: Policy
) -> None:
    supplier = SME.model_copy(update={"collateral": [], "receivables_large_buyers": True})
    assert ok(products["receivables-pledge-loan"], supplier, policy)
    assert ok(products["bank-factoring"], supplier, policy)
    assert not ok(products["property-mortgage-business-loan"], supplier, policy)
    assert not ok(products["receivables-pledge-loan"], SME.model_copy(update={"collateral": []}),
                  policy)  # fmt: skip
