"""APR: every branch of ``compute_apr`` from the user's words, against hand calculations."""

from __future__ import annotations

import pytest

from bot.apr import (
    HIGH_COST_APR,
    AprResult,
    CostTerms,
    apr_from_text,
    compute_apr,
    parse_cost_terms,
)


def monthly_irr(in_hand: float, payment: float, n: int) -> float:
    """The monthly rate r with in_hand = payment * (1 - (1 + r)^-n) / r, by bisection."""
    low, high = 1e-12, 1.0
    for _ in range(200):
        mid = (low + high) / 2
        value = payment * (1 - (1 + mid) ** -n) / mid
        low, high = (mid, high) if value > in_hand else (low, mid)
    return (low + high) / 2


def result(text: str) -> AprResult:
    found = apr_from_text(text)
    assert found is not None, text
    return found


@pytest.mark.parametrize(
    ("text", "daily"), [("日息0.05%", 0.05), ("日息万五", 0.05), ("日利率千分之一", 0.1)]
)
def test_daily_rate(text: str, daily: float) -> None:
    r = result(text)
    assert r.terms.daily_rate == pytest.approx(daily)
    assert r.apr == pytest.approx(daily * 365)
    assert r.effective == pytest.approx(((1 + daily / 100) ** 365 - 1) * 100)
    assert r.method == "日利率×365（单利）"


def test_daily_rate_high_cost() -> None:
    r = result("日息千分之一的网贷")
    assert r.apr == pytest.approx(36.5)
    assert r.high_cost is True


def test_weekly_rate() -> None:
    r = result("一周收3%")
    assert r.terms.weekly_rate == 3.0
    assert r.apr == pytest.approx(3 * 365 / 7)  # 156.43
    assert r.effective == pytest.approx((1.03 ** (365 / 7) - 1) * 100)
    assert r.method == "周费率×365÷7（单利）"


@pytest.mark.parametrize(
    ("text", "monthly"), [("月息2%", 2.0), ("月息1.5分", 1.5), ("月利率8厘", 0.8)]
)
def test_monthly_rate(text: str, monthly: float) -> None:
    r = result(text)
    assert r.terms.monthly_rate == pytest.approx(monthly)
    assert r.apr == pytest.approx(monthly * 12)
    assert r.effective == pytest.approx(((1 + monthly / 100) ** 12 - 1) * 100)
    assert r.method == "月利率×12（单利）"


def test_monthly_two_percent_sits_on_the_line() -> None:
    r = result("月息2%")
    assert r.apr == pytest.approx(HIGH_COST_APR)
    assert r.as_dict()["apr"] == 24.0


def test_stated_annual_rate() -> None:
    r = result("年化利率是7.2%")
    assert (r.apr, r.effective, r.method) == (7.2, 7.2, "按对方给出的年化利率")
    assert r.high_cost is False
    assert result("年化36%").high_cost is True


def test_one_off_fee_repaid_after_days() -> None:
    r = result("借1万，到手9500，30天后还10000")
    assert (r.terms.received, r.terms.days, r.terms.repay_total) == (9500, 30, 10000)
    assert r.apr == pytest.approx(500 / 9500 * 365 / 30 * 100)  # 64.04
    assert r.method == "(还款额−到手金额)÷到手金额×365÷30天（单利）"


def test_one_off_fee_subtracted_from_the_principal() -> None:
    r = result("借1万，手续费1000，一年后一次性还1万")
    assert (r.terms.principal, r.terms.fee, r.terms.days) == (10000, 1000, 365)
    assert r.apr == pytest.approx(1000 / 9000 * 100)  # 11.11: the fee over the 9000 in hand
    assert r.high_cost is False


def test_short_loan_repaid_in_days() -> None:
    r = result("借1000，7天后还1200")
    assert r.apr == pytest.approx(200 / 1000 * 365 / 7 * 100)  # 1042.86
    assert r.high_cost is True


def test_fee_deducted_up_front() -> None:
    r = result("借10000元，到手9000")
    assert r.apr == pytest.approx(1000 / 9000 * 100)
    assert r.effective == r.apr
    assert r.method == "预扣费用÷到手金额（按一年计）"


def test_instalments_with_fee_taken_up_front() -> None:
    r = result("借1万，到手9000，12期每期还1000")
    month = monthly_irr(9000, 1000, 12)
    assert r.apr == pytest.approx(month * 12 * 100, abs=1e-6)  # about 56.75
    assert r.effective == pytest.approx(((1 + month) ** 12 - 1) * 100, abs=1e-6)
    assert round(r.apr, 2) == 56.75
    assert r.method == "IRR（按月分期，计入全部费用）"
    assert r.high_cost is True


def test_pboc_worked_example() -> None:
    """人民银行公告〔2021〕第3号: 10万, 1000 fee, 12 x 8833.3 -> 12.80% simple, 13.58% compound."""
    r = result("借10万元，服务费1000元，12期每期还8833.3元")
    assert (r.terms.principal, r.terms.fee, r.terms.installments, r.terms.payment) == (
        100000,
        1000,
        12,
        8833.3,
    )
    assert round(r.apr, 2) == 12.80
    assert round(r.effective, 2) == 13.58
    month = monthly_irr(99000, 8833.3, 12)
    assert r.apr == pytest.approx(month * 1200, abs=1e-6)


def test_instalment_fee_rate_on_the_initial_principal() -> None:
    r = result("借一万分12期，每期手续费0.6%")
    assert r.terms.installment_fee_rate == 0.6
    payment = 10000 / 12 + 10000 * 0.006
    month = monthly_irr(10000, payment, 12)
    assert r.apr == pytest.approx(month * 1200, abs=1e-6)
    assert round(r.apr, 2) == 13.03  # a "0.6% a month" fee is about 13% a year, not 7.2%
    assert r.method == "IRR（每期手续费按初始本金收取）"


def test_instalments_without_a_fee_is_the_plain_annuity_rate() -> None:
    r = result("借10000，12期，每期还888.49")
    assert r.apr == pytest.approx(12.0, abs=0.01)


def test_not_enough_figures() -> None:
    assert apr_from_text("借呗额度被降了") is None
    assert apr_from_text("借1万") is None
    assert compute_apr(CostTerms(principal=10000, installments=12)) is None
    assert compute_apr(CostTerms(principal=10000, received=10000)) is None


def test_repayment_below_the_money_in_hand_is_no_cost() -> None:
    assert compute_apr(CostTerms(received=1000, days=30, repay_total=900)) is None


def test_parse_cost_terms_reads_thousands_separators_and_units() -> None:
    terms = parse_cost_terms("借款10,000元，到手9,500，分6期")
    assert (terms.principal, terms.received, terms.installments) == (10000, 9500, 6)
    assert parse_cost_terms("没有数字").any() is False


def test_out_of_range_instalments_are_ignored() -> None:
    assert parse_cost_terms("借1万，分200期").installments is None


def test_as_dict_rounds_and_keeps_only_given_terms() -> None:
    shape = result("月息3%").as_dict()
    assert shape == {
        "apr": 36.0,
        "effective": 42.58,
        "method": "月利率×12（单利）",
        "high_cost": True,
        "terms": {"monthly_rate": 3.0},
    }
