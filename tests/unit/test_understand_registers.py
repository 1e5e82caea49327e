"""Facts read from news, forum and mixed registers: what falls, what is signed, what is bought,
how many lenders, and the words that look like a fact but are not one."""

from __future__ import annotations

from typing import Any

import pytest

from bot.knowledge import load_knowledge
from bot.understand import Understander
from core.settings import PACKAGE_KNOWLEDGE_DIR, PROMPTS_DIR


@pytest.fixture(scope="module")
def understander() -> Understander:
    rules = load_knowledge(PACKAGE_KNOWLEDGE_DIR, PROMPTS_DIR).rules
    return Understander(rules.understanding, rules.policy)


SAID: list[tuple[str, dict[str, Any]]] = [
    ("我在五六个平台都借了钱", {"lender_count": 5}),  # a range states its lower bound
    ("七八个口子 每个月要还9000多 这个月有两个口子下不了款了", {"lender_count": 7}),  # a total
    ("他用个人名义在借呗、京东金条、分付上都借了钱", {"lender_count": 3}),  # lenders named
    ("外卖订单比去年少了近三成", {"revenue_falling": True}),
    ("今年营收掉了快四成", {"revenue_falling": True}),
    ("抖店GMV这个quarter掉了40%", {"revenue_falling": True}),
    ("流水也比去年好", {"revenue_falling": False}),
    ("正在承接一家国企的信息化项目，合同已经签了", {"orders_in_hand": True}),
    ("我们外贸公司有几个signed PO", {"orders_in_hand": True}),
    ("花呗本来一万五的，昨天一看变两千了", {"symptom": "limit_cut"}),
    ("上个月她去银行申请经营贷，被告知不符合条件", {"symptom": "application_rejected"}),
    ("微粒贷申请被拒 综合评分不足怎么提高", {"symptom": "application_rejected"}),
    ("借呗点进去说暂时无法开通", {"symptom": "cannot_open"}),
    ("Huabei keeps saying it cannot be activated right now", {"symptom": "cannot_open"}),
    ("他想再开一个网点，需要十万元左右", {"need_purpose": "expansion"}),
    ("想借一万五买个新的推车和炉子", {"need_purpose": "equipment"}),
    ("大二学生，想借3000买个电脑", {"need_purpose": "consumption", "is_student": True}),
    ("打算买一套九十平的二手房，用公积金加商贷", {"need_purpose": "home_purchase"}),
    ("其实我还在读大专，平时兼职", {"is_student": True}),
    ("记者了解到，网络小贷不得向在校大学生发放贷款。大三学生小林说", {"is_student": True}),
    ("上个月花呗忘了还，到现在还欠着两千多没还", {"overdue": "current"}),
    ("征信上还有一笔五年前的呆账没有处理", {"overdue": "current"}),  # a bad debt still unpaid
    ("征信上有一笔呆账，去年已经结清了", {"overdue": "past"}),
    ("能不能再找个地方借点先还上，急", {"borrowing_to_repay": True}),
    ("我想创业开个奶茶店，能申请创业担保贷款吗", {"need_purpose": "startup"}),
    # a space between Chinese words ends a clause: the 无 of 无法开通 does not reach 身份证过期
    ("分付一直开不了 提示暂时无法开通 后来才发现身份证去年就过期了", {"profile_incomplete": True}),
    ("借被有入口没额度 点进去显示去开通 点了又说综合评估未通过", {"symptom": "entry_no_limit"}),
    ("借呗有入口但开不了", {"symptom": "cannot_open"}),  # the entry alone names no outcome
    ("借呗点进去一直有入口", {"symptom": "entry_no_limit"}),
    ("我之前在一个店刷了花呗把钱弄出来用", {"cashout": True}),
    # a company the user works for makes an employee; one the user runs, an enterprise
    ("在杭州一家广告公司做设计的王女士今年28岁", {"segment": "consumer"}),
    ("楼主去年六月刚毕业，在苏州一家电子厂做文员", {"segment": "consumer"}),
    ("在上海做运营的蒋女士就是其中之一", {"segment": "consumer"}),
    ("刚毕业半年的打工人 公积金社保都是公司交的", {"segment": "consumer"}),
    ("杭州一家软件开发有限公司成立四年", {"segment": "sme"}),
    ("公司这个月工资差十来万", {"segment": "sme"}),  # paying wages is the owner's worry
    ("换了new iPhone之后Jiebei只有entry没有limit了", {"symptom": "entry_no_limit"}),
    ("之前用Huabei做了几次cash out，现在Huabei被close了", {"symptom": "limit_closed"}),
    ("bank loan被reject了因为debt ratio太high", {"symptom": "application_rejected"}),
    ("银行说我们成立时间太短", {"symptom": "application_rejected"}),
    ("这个月用美团的钱还网商贷，下个月再用借呗还美团", {"borrowing_to_repay": True}),
    ("I've been using new ones to pay off the old ones", {"borrowing_to_repay": True}),
    (
        "向银行申请五百万元贷款被拒。厂里目前还有大约四百万元的银行贷款未还清",
        {"need_amount": 5000000, "total_debt": 4000000},
    ),  # fmt: skip
    ("我妈要做手术，要十来万，这周就得交，借呗只有一万", {"need_amount": 100000}),
    # "N年前" dates an event, unless what it dates is the opening
    ("办厂已有15年。记者了解到，三年前他为朋友的公司提供担保", {"years_operating": 15}),
    ("店是三年前开的", {"years_operating": 3}),
    ("I opened the shop 2 years ago", {"years_operating": 2}),
    # card use as a share, in words, per cent or "maxed out"; English ages; debt totals
    ("他的芝麻分只有六百一，信用卡额度也已用了九成", {"zhima_score": 610, "card_utilisation": 0.9}),
    ("我的 credit card utilisation 大概 120%", {"card_utilisation": 1.2}),
    ("三张信用卡全刷爆了", {"card_utilisation": 1.0}),
    ("Hi, I'm a 35-year-old German engineer working in Shanghai", {"age": 35}),
    ("I'm 63, a retired engineer from Canada", {"age": 63}),
    (
        "现在在六个平台有借款，加起来七万多，每个月还九千多",
        {"lender_count": 6, "total_debt": 70000, "monthly_debt_payment": 9000},
    ),  # fmt: skip
    ("Total is about 120k.", {"total_debt": 120000}),
    ("花呗降到五百了 我天天用", {"symptom": "limit_cut"}),
    (
        "借呗突然关了 入口都没了 前两天刚换了个新手机登的支付宝",
        {"account_anomaly": True},
    ),  # 没了: gone
    ("有人冒用他的身份在一家消费金融公司借了钱", {"account_anomaly": True}),
    ("我前两天在我朋友手机上登过支付宝", {"account_anomaly": True}),
    ("I changed my SIM card when I came back to China last month", {"account_anomaly": True}),
    ("没逾期也没乱借，只是前几天手机号换了", {"account_anomaly": True}),
    ("支付宝提示账户存在安全风险", {"account_anomaly": True}),
    ("有人用我的身份证在网上借了钱", {"account_anomaly": True}),
    ("密码被人改了，借呗就没了", {"account_anomaly": True}),
    ("没换手机号也没异常登录", {"account_anomaly": False}),
    (
        "我们 factory 给一家 listed 新能源车企 供货, 应收账款 about 三百万",
        {"receivables_large_buyers": True},
    ),
    (
        "一家建筑劳务公司为某央企建筑集团做分包，负责人告诉记者，公司应收账款约800万元",
        {"receivables_large_buyers": True},
    ),  # fmt: skip
    ("To be honest I have loans on 5 different apps", {"lender_count": 5}),
    ("我在五个app上都有借款 加起来大概四万", {"lender_count": 5, "total_debt": 40000}),
    ("I applied to about ten loan apps last month", {"inquiries_recent": 10}),
    ("I owe money to 7 loan apps", {"lender_count": 7}),
    ("My Huabei limit was cut and I have 5 loan apps, why?", {"lender_count": 5}),
    # tax ratings in the lower-cased text, in words around the letter, in English
    ("去年开票金额约三千万元，纳税信用等级为A。", {"tax_rating": "A"}),
    ("开票三年B级能贷多少", {"tax_rating": "B"}),
    ("公司 tax rating 是 D, 因为去年有 invoice 问题", {"tax_rating": "D"}),
    ("税务评级A 每年都开票", {"tax_rating": "A"}),
    # what the user owns and could pledge
    ("他名下有一套全款买的住房", {"collateral": ["property"]}),
    ("我 founder 本人在杭州有一套 apartment, 没有贷款", {"collateral": ["property"]}),
    ("We own our apartment outright.", {"collateral": ["property"]}),
    (
        "I'm on the dishonest judgment debtor list because I guaranteed a loan",
        {"judicial_record": True},
    ),  # fmt: skip
    ("厂里有三十多台进口绣花机", {"collateral": ["equipment"]}),
    ("我们小厂收了下游一家上市公司的银承 一共六十万", {"collateral": ["bills"]}),
    ("bank说要抵押，我们没有property", {"collateral": []}),
    (
        "Hi, we are a hardware exporter in Shenzhen, the company is 1.5 years old.",
        {"years_operating": 1.5},
    ),  # fmt: skip
    ("成都一家冷链物流公司需要新购3辆冷藏车，约90万元", {"need_purpose": "equipment"}),
    ("银行普惠贷说成立时间短，只能给三十万", {"symptom": "application_rejected"}),
    ("需要备料，大概一百来万，银行普惠贷只能给三十万", {"need_amount": 1000000}),
    ("借呗的 entry 还在但是 limit 是 0.", {"symptom": "entry_no_limit"}),
    ("Alipay says Jiebei is unavailable and my limit is gone.", {"symptom": "limit_closed"}),
    (
        "I tried to open Huabei in Alipay but it just says I can't open it",
        {"symptom": "cannot_open"},
    ),
]

NOT_SAID: list[tuple[str, str]] = [
    ("上个月她去银行申请经营贷，被告知不符合条件", "judicial_record"),  # 被告知 is "was told"
    ("没过多久就还了", "symptom"),
    ("外卖订单比去年少了近三成", "need_purpose"),  # a fall in orders is no order to fund
    ("正在承接一家国企的信息化项目", "lender_count"),  # 一家国企 is not a lender
    ("签了借款合同", "orders_in_hand"),
    ("借呗和花呗都没额度了", "lender_count"),  # named, but nothing borrowed
    ("创业担保贷款个人最多贷多少", "need_purpose"),  # a product's name, not a start-up
    ("How much can I borrow with a startup guarantee loan?", "need_purpose"),
    ("通过朋友的网店刷单把花呗额度套出来", "segment"),  # a friend's shop is not the user's
    ("今年外贸订单减少，营收下降了两成", "symptom"),  # revenue fell, no credit line was cut
    # English words are whole words: "rent" is in neither "currently" nor "different"
    ("I currently have loans on 4 apps in different cities", "need_purpose"),
    ("三年前他为朋友的公司提供担保", "years_operating"),
    ("营收下降了两成", "card_utilisation"),  # a share of revenue, no card
    ("I'm 5 days late", "age"),
    ("我是A型血", "tax_rating"),
    ("A级景区门票多少钱", "tax_rating"),
    ("利率降到三个点", "symptom"),
    ("我开了家连锁奶茶店，欠了银行二十万", "receivables_large_buyers"),  # the user's own chain
    ("新品上市以后回款很慢", "receivables_large_buyers"),  # a launch, not a listed buyer
    ("公司代发工资，公积金也一直在交", "need_purpose"),  # how the user is paid, no wages to pay
    ("I guaranteed a loan for my cousin's company and it went bust", "segment"),
    (
        "对方称该行小微贷只服务本地区注册的商户",
        "segment",
    ),  # a bank's product for small firms  # a rate falls; no credit line was cut
]


HINTED: list[tuple[str, str]] = [
    ("银行告诉他，普惠信用贷单户额度有上限，只能批50万元", "regulatory_limit"),
    ("对方称该行小微贷只服务本地区注册的商户", "regulatory_limit"),
    ("他们曾在某互联网平台申请经营贷，只批了五万元，远远不够", "regulatory_limit"),
]


@pytest.mark.parametrize(("text", "code"), HINTED)
def test_hinted(understander: Understander, text: str, code: str) -> None:
    assert code in understander.understand(text).hints


def test_a_login_elsewhere_is_no_cross_region_rule(understander: Understander) -> None:
    assert "regulatory_limit" not in understander.understand("她的微信账号在异地被登录").hints


@pytest.mark.parametrize(("text", "expected"), SAID)
def test_said(understander: Understander, text: str, expected: dict[str, Any]) -> None:
    facts = understander.understand(text).facts
    assert {k: facts.get(k) for k in expected} == expected


@pytest.mark.parametrize(("text", "field"), NOT_SAID)
def test_not_said(understander: Understander, text: str, field: str) -> None:
    assert field not in understander.understand(text).facts
