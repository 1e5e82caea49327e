"""Understanding Chinese as users write it: numbers, negation, slang, English, intents."""

from __future__ import annotations

import pytest

from bot.knowledge import load_knowledge
from bot.numbers import parse_number
from bot.understand import Understander
from core.settings import PROMPTS_DIR

from .helpers import SHIPPED


@pytest.fixture(scope="module")
def understander() -> Understander:
    rules = load_knowledge(SHIPPED, PROMPTS_DIR).rules
    return Understander(rules.understanding, rules.policy)


@pytest.mark.parametrize(
    ("token", "value"),
    [("六百出头", 600), ("八千", 8000), ("1.5万", 15000), ("三十万", 300000), ("20w", 200000),
     ("百来万", 1000000), ("3k", 3000), ("十几", 15), ("七八", 7), ("两百万", 2000000),
     ("一万五", 15000), ("三万多", 30000), ("600", 600), ("0.5", 0.5)],
)  # fmt: skip
def test_numbers(token: str, value: float) -> None:
    assert parse_number(token) == value


@pytest.mark.parametrize(
    ("text", "facts"),
    [
        ("芝麻分六百出头，月入八千", {"zhima_score": 600, "monthly_income": 8000}),
        (
            "想借20w进货，急用",
            {"need_amount": 200000, "need_purpose": "inventory", "urgency": "days"},
        ),
        ("需要1.5万周转", {"need_amount": 15000, "need_purpose": "working_capital"}),
        (
            "我开了个奶茶店三年了，纳税B级",
            {"segment": "sole_proprietor", "years_operating": 3, "tax_rating": "B"},
        ),
        ("店开了半年", {"years_operating": 0.5}),
        ("借了七八家网贷", {"lender_count": 7}),  # a range states its lower bound
        ("最近查了12次征信", {"inquiries_recent": 12}),
        ("逾期了三个月还没还", {"overdue": "current", "overdue_days": 90}),
        ("以前逾期过，已经还清了", {"overdue": "past"}),
        ("我今年23岁，在上大学", {"age": 23, "is_student": True}),
        (
            "公司给国企供货，国企压了三个月货款",
            {"segment": "sme", "receivables_large_buyers": True, "need_purpose": "receivable_gap"},
        ),
        ("名下有套房，还有一张定期存单", {"collateral": ["property", "deposit"]}),
        ("我没有房，什么抵押都没有", {"collateral": []}),
    ],
)
def test_facts(understander: Understander, text: str, facts: dict[str, object]) -> None:
    found = understander.understand(text).facts
    for name, value in facts.items():
        assert found.get(name) == value, (name, found)


@pytest.mark.parametrize(
    ("text", "facts"),
    [
        ("没有逾期过", {"overdue": "none"}),
        ("从来没逾期", {"overdue": "none"}),
        ("我不是学生", {"is_student": False}),
        ("没交社保", {"social_insurance": False}),
        ("不开发票", {"invoices": False}),
        ("没有官司", {"judicial_record": False}),
    ],
)
def test_negation(understander: Understander, text: str, facts: dict[str, object]) -> None:
    found = understander.understand(text).facts
    assert {k: found.get(k) for k in facts} == facts


@pytest.mark.parametrize(
    ("text", "hint"),
    [("征信花了还能下款吗", "frequent_inquiries"), ("我是白户", "thin_file"), ("黑户能借吗", "overdue_record"),
     ("好多口子都借了", "multi_lending"), ("卡都刷爆了", "high_debt"), ("收的都是现金", "income_unverified")],
)  # fmt: skip
def test_slang_hints(understander: Understander, text: str, hint: str) -> None:
    assert hint in understander.understand(text).hints


@pytest.mark.parametrize(
    ("text", "platform", "symptom"),
    [("借呗有入口没额度", "jiebei", "entry_no_limit"), ("借被暂时无法开通", "jiebei", "cannot_open"),
     ("花呗被降额了", "huabei", "limit_cut"), ("网商贷额度被冻结了", "mybank", "limit_closed"),
     ("银行贷款申请被拒", "bank", "application_rejected"), ("信用卡逾期了，借呗也被关了", "jiebei", "limit_closed"),
     ("my huabei limit got cut", "huabei", "limit_cut"), ("Jiebei rejected me", "jiebei", "application_rejected"),
     ("公司成立两年，网商贷被关", "mybank", "limit_closed"), ("Huabei closed last night.", "huabei", "limit_closed"),
     ("MYbank cut my loan from 200k to 20k", "mybank", "limit_cut")],
)  # fmt: skip
def test_platform_and_symptom(
    understander: Understander, text: str, platform: str, symptom: str
) -> None:
    facts = understander.understand(text).facts
    assert (facts.get("platform"), facts.get("symptom")) == (platform, symptom)


@pytest.mark.parametrize(
    ("text", "intent"),
    [("借呗为什么开不了", "diagnose"), ("我想借10万进货，去哪借", "find_financing"),
     ("借1万到手9000，12期每期还1000，年化多少", "compute_cost"), ("银税互动是什么", "ask_product"),
     ("你好", "small_talk"), ("今天天气怎么样", "out_of_scope"), ("帮我做个假流水", "unsafe"),
     ("怎么套现花呗", "unsafe"), ("征信修复靠谱吗能删逾期吗", "unsafe")],
)  # fmt: skip
def test_intents(understander: Understander, text: str, intent: str) -> None:
    assert understander.understand(text).intent == intent


def test_english_and_mixed(understander: Understander) -> None:
    result = understander.understand(
        "I run a small shop, my credit score is 580, I need 50k for stock"
    )
    assert result.lang == "en"
    assert result.facts["segment"] == "sole_proprietor"
    assert result.facts["zhima_score"] == 580 and result.facts["need_amount"] == 50000
    assert result.facts["need_purpose"] == "inventory"
    assert understander.understand("花呗limit被cut了").lang == "zh"


def test_evidence_keeps_the_users_words(understander: Understander) -> None:
    result = understander.understand("我的芝麻分才580，其他都还好")
    assert "580" in result.evidence["zhima_score"]


@pytest.mark.parametrize(
    ("text", "facts"),
    [
        ("所以我这次得借十五万块去进货", {"need_amount": 150000, "need_purpose": "inventory"}),
        ("厂子倒闭后每月只有三四千", {"monthly_income": 3000}),
        ("owe money on 9 platforms, 18万 debt, stopped paying", {"lender_count": 9, "total_debt": 180000, "overdue": "current"}),
        ("我们的客户是一家上市公司，应收款压了两百来万", {"receivables_large_buyers": True}),
        ("工资不够花、只能以贷养贷", {"borrowing_to_repay": True}),
        ("花呗逾期了三天，当天就还上了", {"overdue": "past", "overdue_days": 3}),
        ("那笔逾期是2020年的，后来已经结清", {"overdue": "past"}),
        # what others have or do is not the user's
        ("我哥们儿欠了十来个平台 我就借了俩 一个借呗一个白条", {"lender_count": 2}),
        ("报告称用户平均在3.2个平台有借款，我只用过花呗", {"lender_count": None}),
        ("My friend has loans on 8 apps, but I only have two loans", {"lender_count": 2}),
        ("他朋友以贷养贷，我没有", {"borrowing_to_repay": None}),
        ("之前在朋友的店里用花呗套现了几次", {"cashout": True}),
        # a list of lenders is counted: the names plus the groups of a kind, not a group alone
        ("陆续在借呗、美团借钱、分付、京东金条和一个小贷App上借了钱", {"lender_count": 5}),
        ("欠了网商贷、借呗、两家银行信用卡，共计二十三万", {"lender_count": 4}),
        ("I have loans on Jiebei, Huabei, JD Jintiao, Meituan and two other apps, around 95k total", {"lender_count": 6}),
        ("我们 factory 现在 4 家 bank 加上网商贷、微业贷都有 loan，monthly repayment 三十五万", {"lender_count": 6}),
        # a count of lenders in general is the total; the lenders named are among them
        ("目前他在5个平台都有没还完的借款，最近半年基本是拿借呗的钱还网商贷", {"lender_count": 5}),
        ("My Huabei got cut and I currently have loans on 4 apps, two of them are overdue", {"lender_count": 4}),
        ("我才借了京东白条跟借呗 应该算正常吧 但为啥度小满给我拒了", {"lender_count": 2}),
        # stopping repayment is a current overdue; a window dates a count and keeps its cue
        ("工资6000 要还6500 已经停了两个月没还了", {"overdue": "current", "monthly_income": 6000, "monthly_debt_payment": 6500}),
        ("my credit has overdue records right now", {"overdue": "current"}),
        ("征信查询这三个月有二十多次", {"inquiries_recent": 20}),
        # who a rule serves is not who the user is; a lender's staff is no employer of the user's
        ("我是在校生。不少平台明确表示不向在校大学生提供消费信贷", {"is_student": True}),
        ("The app says it does not lend to students, I graduated last year", {"is_student": False}),
        ("有个自称蚂蚁员工的人加我微信", {"segment": None}),
        # the purpose of the sentence that asks for money, not of a past loan or a report's
        ("她2022年有一次房贷逾期了20天。现在想借两万给孩子交学费", {"need_purpose": "education"}),
        ("报告显示约三成借款人存在借新还旧的情况。我想借两万给父母家装修", {"need_purpose": "consumption"}),
        # borrowing to repay, in the forms news, forums and English use
        ("最近半年基本是拿借呗的钱还网商贷", {"borrowing_to_repay": True}),
        ("每到还款日前都要再申请新的借款来填坑", {"borrowing_to_repay": True}),
        ("A broker offered a consolidation loan at 2% per month", {"need_purpose": "repay_debt"}),
        ("I'm basically borrowing from one to pay the other every month", {"borrowing_to_repay": True}),
        # what the user saw, in more of the words people use
        ("她发现花呗突然不能用了，页面提示需要更新身份信息", {"symptom": "limit_closed"}),
        ("Hi, my Jiebei limit went from 20k to 500 yuan last week.", {"symptom": "limit_cut"}),
        ("got a security verification, and now Huabei says it's unavailable", {"symptom": "limit_closed"}),
        ("现在 Meituan 也 closed 了", {"symptom": "limit_closed"}),
        ("养鸡场想贷款 银行不给 咋整", {"symptom": "application_rejected"}),
        # totals, repayments and revenue in the words of forums and English, "1500 万" spaced
        ("欠了七八个平台，总共十五万左右", {"lender_count": 7, "total_debt": 150000}),
        ("total about 160k, paying 12k a month on a 15k salary", {"total_debt": 160000, "monthly_debt_payment": 12000, "monthly_income": 15000}),
        ("There are 5 of them, about 70k in total.", {"total_debt": 70000}),
        ("年 revenue 大概 1500 万", {"annual_revenue": 15000000}),
        ("存栏1200头，年出栏收入约600万元", {"annual_revenue": 6000000}),
        ("I run a small logistics company, about 6 million revenue last year.", {"annual_revenue": 6000000}),
        # an account taken over, in the words people tell it; a limit gone to zero
        ("网商贷额度从 8w 变 0，做了两次人脸都卡住", {"symptom": "limit_cut", "account_anomaly": True}),
        ("微粒贷咋突然冻住了 昨天有个自称客服的打电话 让我报了个验证码", {"symptom": "limit_closed", "account_anomaly": True}),
        ("My MYbank account was logged in from another province. Now my credit line shows zero.", {"symptom": "limit_cut", "account_anomaly": True}),
        ("I applied to like seven places in the last two months trying to compare rates.", {"inquiries_recent": 7}),
        # a record still on file is no unpaid overdue
        ("信用卡逾期过两次，当年底就全部还清了。银行说征信上还有逾期记录，需要再观察", {"overdue": "past"}),
        ("征信上有逾期，还没还", {"overdue": "current"}),
        # a product's or a policy's cap is no amount asked for
        ("当地对创业者提供最高20万元的创业担保贷款。她想借5万元", {"need_amount": 50000}),
        ("想借15万元再租一个门面，但银行说个人最高可贷30万元", {"need_amount": 150000}),
        ("Our bank just rejected our application for a 500k RMB loan to stock up", {"need_amount": 500000}),
        ("厂里急着用三十万发工资", {"need_amount": 300000}),
        # vehicles and property to pledge, as people say they own them
        ("我们是跑冷链的，有八台车，公司成立三年", {"collateral": ["vehicle"]}),
        ("我是跑滴滴的 车是自己的 没贷款", {"collateral": ["vehicle"]}),
        ("I own my truck outright", {"collateral": ["vehicle"]}),
        ("店面是自己名下的房产", {"collateral": ["property"]}),
        ("我想买车，没钱", {"collateral": None}),
    ],
)  # fmt: skip
def test_issue_failure_classes(
    understander: Understander, text: str, facts: dict[str, object]
) -> None:
    found = understander.understand(text).facts
    assert {k: found.get(k) for k in facts} == facts
    assert "lender_count" in facts or "lender_count" not in found


@pytest.mark.parametrize(
    ("text", "anomaly"),
    [("想买个新手机，花呗额度不够", None), ("想贷五十万买新设备，网商贷被拒了", None),
     ("need 3000 for a new phone, Huabei closed", None), ("厂里想添置一批新设备", None),
     ("刚换了新手机登录支付宝，借呗就没了", True), ("买了新手机登录后借呗没了", True),
     ("I got a new phone last week and logged in, then Jiebei disappeared", True)],
)  # fmt: skip
def test_a_thing_to_buy_is_no_account_event(
    understander: Understander, text: str, anomaly: bool | None
) -> None:
    assert understander.understand(text).facts.get("account_anomaly") is anomaly


def test_typos_are_read_and_quoted_as_typed(understander: Understander) -> None:
    result = understander.understand("借微粒贷还花被，再借花被还微粒贷，这礼拜微粒贷申请不下来了")
    assert result.facts["borrowing_to_repay"] is True
    assert result.facts["platform"] == "weilidai"  # named where the refusal is told
    assert "花被" in result.evidence["borrowing_to_repay"]
