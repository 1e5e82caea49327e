"""Facts that eligibility reads from the user's words: buyers by role, merchant platforms,
residency, 公积金 and 代发工资, a used-up limit; and the words that must not set them."""

from __future__ import annotations

from typing import Any

import pytest

from bot.engine import Engine


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我们厂给央企供货，货款压了半年", {"buyer_types": ["soe"], "receivables_large_buyers": True}),
        ("客户是区政府，中标了一个项目", {"buyer_types": ["government"]}),
        ("我们给上市公司做配套，账期三个月", {"buyer_types": ["large"]}),
        ("we supply a state-owned company and they owe us 2 million", {"buyer_types": ["soe"]}),
        ("在美团上开了个外卖店", {"merchant_platforms": ["meituan"]}),
        ("我是淘宝卖家，也用支付宝收款码", {"merchant_platforms": ["taobao", "alipay"]}),
        ("I'm not a Chinese citizen, I have a work permit", {"residency": "foreign"}),
        ("我是香港居民，在深圳做生意", {"residency": "hk_macao_taiwan"}),
        ("有公积金，工资是建行代发的", {"provident_fund": True, "payroll_account": True}),
        ("没有公积金", {"provident_fund": False}),
        ("花呗用满了", {"platform_maxed": True}),
    ],
)  # fmt: skip
def test_said(engine: Engine, text: str, expected: dict[str, Any]) -> None:
    facts = engine.understander.understand(text).facts
    assert {k: facts.get(k) for k in expected} == expected


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("我在国企上班，想借点钱装修", "buyer_types"),  # an employer is not a buyer
        ("I work for a state-owned company", "buyer_types"),
        ("天天点美团外卖", "merchant_platforms"),  # a customer, not a merchant
        ("在京东买了个手机", "merchant_platforms"),
        ("我不是外国人", "residency"),
        ("网商贷降额了", "housing_loan"),  # 网商贷 is not 商贷
        ("我们厂给央企供货，货款压了半年", "years_operating"),  # a payment delay, not the age
        ("有社保", "provident_fund"),
    ],
)
def test_not_said(engine: Engine, text: str, absent: str) -> None:
    assert absent not in engine.understander.understand(text).facts
