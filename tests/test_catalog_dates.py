"""Programmes know their dates; rates say what they are (average, case, published) and when."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from knowledge import load_catalog
from knowledge.catalog import Apr, Catalog

SHIPPED = Path(__file__).resolve().parent.parent / "knowledge"
OPEN_DAY = dt.date(2026, 12, 1)
AFTER_END = dt.date(2027, 1, 1)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(SHIPPED)


def test_every_programme_has_dates_and_a_computed_state(catalog: Catalog) -> None:
    assert catalog.programmes
    for programme in catalog.programmes:
        assert programme.start is not None and programme.end is not None
        assert programme.is_open(programme.start) and programme.is_open(programme.end)
        assert not programme.is_open(programme.end + dt.timedelta(days=1))


def test_service_sector_subsidy_is_open_until_its_end_and_closed_after(catalog: Catalog) -> None:
    product = catalog.product("service-sector-loan-subsidy")
    assert product.is_open(OPEN_DAY) and not product.is_open(AFTER_END)
    assert product.amount.max == 10_000_000
    assert "零售经营主体" in (product.requirements.eligible_groups or [])
    assert "截至2026-12-31有效" in product.apr.display(on=OPEN_DAY)
    ended = product.apr.display(on=AFTER_END)
    assert "已于2026-12-31到期" in ended and "可能延长" in ended
    assert "截至" not in ended
    assert product.status(AFTER_END, "en") is not None
    assert "ended on 2026-12-31" in (product.status(AFTER_END, "en") or "")


def test_available_is_computed_from_today(catalog: Catalog) -> None:
    product = catalog.product("service-sector-loan-subsidy")
    assert product.available == product.is_open(dt.date.today())
    dumped = product.model_dump(mode="json")
    assert dumped["available"] == product.available
    standing = catalog.product("jiebei")
    assert standing.available and standing.is_open(AFTER_END) and standing.status() is None


def test_consumer_subsidy_covers_credit_card_instalments_in_2026(catalog: Catalog) -> None:
    card = catalog.product("credit-card-installment")
    shown = card.apr.display(on=OPEN_DAY)
    assert "信用卡账单分期财政贴息" in shown and "截至2026-12-31有效" in shown
    loan = catalog.product("webank-weilidai")
    assert "个人消费贷款财政贴息" in loan.apr.display(on=OPEN_DAY)
    assert "到期" in loan.apr.display(on=AFTER_END)
    assert loan.is_open(AFTER_END)  # the loan outlives its subsidy


def test_market_average_renders_as_an_average_with_its_month(catalog: Catalog) -> None:
    averages = [p for p in catalog.products if p.apr.basis == "market_average"]
    assert len(averages) >= 10
    for product in averages:
        zh = product.apr.display()
        assert zh == "全国普惠小微贷款平均利率约3.48%（2025-06），不是该产品报价"
        assert product.apr.display(lang="en") == (
            "national average inclusive SME loan rate about 3.48% (2025-06), "
            "not this product's price"
        )


def test_no_old_or_undated_average_is_shown(catalog: Catalog) -> None:
    for product in catalog.products:
        for lang in ("zh", "en"):
            shown = product.apr.display(lang=lang, on=OPEN_DAY)  # type: ignore[arg-type]
            assert "4.45" not in shown and "4.03" not in shown, product.id


def test_an_anecdote_says_case_and_is_one_figure(catalog: Catalog) -> None:
    fenfu = catalog.product("wechat-fenfu").apr
    assert fenfu.display() == "个案：约14.6%（2025-08），不是该产品的统一定价"
    assert "14.6%–14.6%" not in fenfu.display()
    tax = catalog.product("big-bank-tax-loan").amount
    assert tax.max is None and tax.note and tax.note.startswith("个案")


def test_published_range_keeps_its_format() -> None:
    apr = Apr(min=3.5, max=6.0, as_of="2025-02", basis="published")
    assert apr.display() == "3.5%–6%（2025-02）"
    assert apr.display("en") == "3.5%–6% (2025-02)"
    bare = Apr(min=None, max=None, note="以借款页面展示的年化利率为准")
    assert bare.display() == "以借款页面展示的年化利率为准"
    assert "APR shown" in bare.display("en")


def test_a_programme_not_yet_started_says_when_it_starts(catalog: Catalog) -> None:
    programme = catalog.programmes[0]
    assert programme.start is not None
    before = programme.start - dt.timedelta(days=1)
    assert not programme.is_open(before)
    assert programme.status(before).endswith(f"自{programme.start.isoformat()}起实施")
