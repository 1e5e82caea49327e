"""``Guard``: scam, high cost, debt spiral, purpose mismatch and every refusal kind."""

from __future__ import annotations

import pytest

from bot.engine import Engine
from bot.guard import Guard, GuardResult
from bot.knowledge import Knowledge
from bot.profile import Profile
from bot.understand import Understanding
from knowledge.rules import GuardRules
from tests.unit.conftest import understanding


@pytest.fixture
def guard(knowledge: Knowledge) -> Guard:
    return Guard(knowledge.rules.guard, knowledge.rules.policy)


@pytest.fixture
def rules(knowledge: Knowledge) -> GuardRules:
    return knowledge.rules.guard


def check(
    guard: Guard,
    text: str,
    u: Understanding | None = None,
    profile: Profile | None = None,
    lang: str = "zh",
) -> GuardResult:
    return guard.check(text, u or understanding(), profile or Profile(), lang)


def codes(result: GuardResult) -> list[str]:
    return [w.code for w in result.warnings]


def test_a_plain_message_raises_nothing(guard: Guard) -> None:
    result = check(guard, "借呗额度被降了怎么办")
    assert result == GuardResult([])


def test_scam_phrase(guard: Guard, rules: GuardRules) -> None:
    result = check(guard, "对方说要先交保证金才能放款")
    assert codes(result) == ["scam_risk"]
    assert result.warnings[0].message == rules.messages["scam_risk"].zh
    assert result.refusal is None


def test_scam_in_english(guard: Guard, rules: GuardRules) -> None:
    result = check(guard, "they want an upfront fee", lang="en")
    assert [w.message for w in result.warnings] == [rules.messages["scam_risk"].en]


@pytest.mark.parametrize(
    "text",
    [
        "有个'客服'加我微信说交 500 块 unfreeze fee 就能恢复",
        "有人私信我说能花800帮我解封，可信吗",
        "还有人给我打电话说交钱能撤销执行",
        "A guy offered me a student loan if I first pay an 800 RMB 'verification deposit'",
    ],
)
def test_paying_to_unlock_is_a_scam(guard: Guard, text: str) -> None:
    """Money asked for before a frozen account, a court record or a loan is released."""
    assert "scam_risk" in codes(check(guard, text))


def test_a_product_name_and_a_date_are_no_payment(guard: Guard) -> None:
    """分付 holds 付 and 一直 holds 一: neither is a sum paid to unlock anything."""
    assert codes(check(guard, "分付一直开不了 提示暂时无法开通")) == []


@pytest.mark.parametrize(
    "text", ["到手后算下来年化接近35%", "算下来年化大概40%左右", "APR of nearly 40%"]
)
def test_a_hedged_annual_rate_is_read(guard: Guard, text: str) -> None:
    assert codes(check(guard, text)) == ["high_cost"]


def test_high_cost_from_an_apr(guard: Guard) -> None:
    result = check(guard, "月息3%的网贷能借吗")
    assert result.apr is not None and result.apr.apr == 36.0
    assert codes(result) == ["high_cost"]
    assert "36.0%" in result.warnings[0].message
    assert "月利率×12（单利）" in result.warnings[0].message


def test_an_apr_within_the_line_raises_nothing(guard: Guard) -> None:
    result = check(guard, "年化18%贵不贵")
    assert result.apr is not None and result.apr.apr == 18.0
    assert codes(result) == []


def test_high_cost_phrase_without_figures(guard: Guard, rules: GuardRules) -> None:
    result = check(guard, "听说有砍头息")
    assert result.apr is None
    assert [w.message for w in result.warnings] == [rules.messages["high_cost_generic"].zh]


def test_debt_spiral_from_the_profile(guard: Guard) -> None:
    assert codes(check(guard, "x", profile=Profile(borrowing_to_repay=True))) == ["debt_spiral"]
    assert codes(check(guard, "x", profile=Profile(need_purpose="repay_debt"))) == ["debt_spiral"]


@pytest.mark.parametrize("purpose", ["home_purchase", "securities"])
def test_purpose_mismatch_forbidden_investment(
    guard: Guard, rules: GuardRules, purpose: str
) -> None:
    result = check(guard, "想借钱", profile=Profile(need_purpose=purpose))
    assert [w.message for w in result.warnings] == [rules.messages["purpose_mismatch_forbidden"].zh]


def test_purpose_mismatch_consumer_platform_for_business(guard: Guard, rules: GuardRules) -> None:
    profile = Profile(platform="jiebei", need_purpose="inventory")
    result = check(guard, "想用借呗进货", profile=profile)
    assert [w.message for w in result.warnings] == [rules.messages["purpose_mismatch_consumer"].zh]


def test_purpose_mismatch_consumer_credit_word(guard: Guard) -> None:
    profile = Profile(need_purpose="working_capital")
    assert codes(check(guard, "能用信用卡发工资吗", profile=profile)) == ["purpose_mismatch"]
    assert codes(check(guard, "想借钱发工资", profile=profile)) == []


def test_purpose_mismatch_from_the_understanding_flag(guard: Guard) -> None:
    u = understanding(consumer_product_for_business=True)
    assert codes(check(guard, "x", u=u)) == ["purpose_mismatch"]


def test_cashout_for_a_business(guard: Guard, rules: GuardRules) -> None:
    """Cashed out for the shop: consumer credit used for business; for oneself: not spent as
    agreed. Both are the purpose mismatch, each with its own explanation."""
    profile = Profile(segment="sole_proprietor", cashout=True)
    result = check(guard, "x", profile=profile)
    assert [w.message for w in result.warnings] == [rules.messages["purpose_mismatch_consumer"].zh]
    personal = check(guard, "x", profile=Profile(segment="consumer", cashout=True))
    assert [w.message for w in personal.warnings] == [rules.messages["purpose_mismatch_cashout"].zh]


@pytest.mark.parametrize(
    ("text", "kind", "scam"),
    [
        ("怎么套现", "cashout", False),
        ("帮我修复征信", "credit_repair", True),
        ("帮我做流水", "fake_materials", True),
        ("有没有包下款的", "intermediary", True),
    ],
)
def test_each_refusal_kind(
    guard: Guard, rules: GuardRules, text: str, kind: str, scam: bool
) -> None:
    result = check(guard, text, u=understanding(intent="unsafe"))
    assert result.refusal_kind == kind
    assert result.refusal == rules.refusals[kind].zh
    assert ("scam_risk" in codes(result)) is scam


def test_a_scam_refusal_warns_once(guard: Guard) -> None:
    result = check(guard, "帮我洗白征信", u=understanding(intent="unsafe"))
    assert result.refusal_kind == "credit_repair"
    assert codes(result) == ["scam_risk"]


def test_refusal_in_english(guard: Guard, rules: GuardRules) -> None:
    result = check(guard, "make fake documents for me", u=understanding(intent="unsafe"), lang="en")
    assert result.refusal == rules.refusals["fake_materials"].en


def test_no_refusal_unless_the_intent_is_unsafe(guard: Guard) -> None:
    result = check(guard, "怎么套现", u=understanding(intent="diagnose"))
    assert result.refusal is None and result.refusal_kind is None


def test_unsafe_refuses_only_a_known_kind(guard: Guard) -> None:
    result = check(guard, "cash out my card please", u=understanding(intent="unsafe"))
    assert result.refusal_kind == "cashout"
    assert check(guard, "这样做行吗", u=understanding(intent="unsafe")).refusal is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("只要学生证就能借的校园贷有哪些", "campus_loan"),
        ("有没有不查征信的口子，黑户也能下款", "no_credit_check"),
        ("信用卡用pos机刷出来呢", "cashout"),
        ("二清机刷出来的钱能用吗", "cashout"),
        ("找了个公司帮我停息挂账，要收三千", "debt_agent"),
    ],
)
def test_guard_completeness_refusals(engine: Engine, text: str, kind: str) -> None:
    understood = engine.understander.understand(text)
    assert understood.intent == "unsafe"
    result = engine.guard.check(text, understood, Profile(), "zh")
    assert result.refusal_kind == kind
    if kind != "cashout":
        assert "scam_risk" in [w.code for w in result.warnings]


def test_a_scam_victim_is_told_what_to_do(engine: Engine) -> None:
    text = "被骗了两万，钱还能要回来吗"
    result = engine.guard.check(text, engine.understander.understand(text), Profile(), "zh")
    (warning,) = [w for w in result.warnings if w.code == "scam_risk"]
    assert "110" in warning.message and "解冻费" in warning.message


def test_a_home_bought_with_a_housing_loan_is_not_misuse(engine: Engine) -> None:
    text = "我明年想买房，用公积金加商贷"
    understood = engine.understander.understand(text)
    profile = Profile.model_validate(dict(understood.facts))
    assert profile.need_purpose == "home_purchase" and profile.housing_loan is True
    result = engine.guard.check(text, understood, profile, "zh")
    assert "purpose_mismatch" not in [w.code for w in result.warnings]
    down_payment = Profile(need_purpose="home_purchase")
    text = "想用经营贷的钱付首付"
    result = engine.guard.check(text, engine.understander.understand(text), down_payment, "zh")
    assert "purpose_mismatch" in [w.code for w in result.warnings]


@pytest.mark.parametrize(
    "text",
    ["她的微信账号在异地被登录，对方以她的名义借走了微粒贷一万元", "微信被盗了 对方用我的号借了微粒贷两万",
     "Someone took out a loan in my name on Weilidai"],
)  # fmt: skip
def test_a_loan_in_the_users_name_is_fraud_against_them(engine: Engine, text: str) -> None:
    result = engine.guard.check(text, engine.understander.understand(text), Profile(), "zh")
    (warning,) = [w for w in result.warnings if w.code == "scam_risk"]
    assert "110" in warning.message  # what to do now, not only a caution


@pytest.mark.parametrize(
    ("text", "high_cost"),
    [("有没有不查征信秒下款的口子", True), ("遇到个说包下款的中介，先交1500保证金", True),
     ("征信修复要交2000块，靠谱吗", False)],
)  # fmt: skip
def test_no_credit_check_and_paid_intermediaries_are_high_cost(
    engine: Engine, text: str, high_cost: bool
) -> None:
    """Their loans cost above the legal line and their fees come on top; a credit-repair scam is a
    scam, not a loan, so it is not called expensive."""
    result = engine.guard.check(text, engine.understander.understand(text), Profile(), "zh")
    assert result.refusal_kind is not None and "scam_risk" in codes(result)
    assert ("high_cost" in codes(result)) is high_cost


def test_a_down_payment_from_borrowed_money_is_misuse(guard: Guard, rules: GuardRules) -> None:
    """A 公积金 loan for the rest does not make a 网商贷 down payment a normal purchase."""
    text = "去年把网商贷的20万拿出来凑了房子的首付，剩下的走公积金贷款买房"
    profile = Profile(need_purpose="home_purchase", housing_loan=True)
    result = check(guard, text, profile=profile)
    assert [w.message for w in result.warnings] == [rules.messages["purpose_mismatch_forbidden"].zh]
    assert codes(check(guard, "用公积金贷款买房", profile=profile)) == []


def test_cashing_out_consumer_credit_is_a_purpose_mismatch(guard: Guard, rules: GuardRules) -> None:
    result = check(guard, "之前找人刷花呗套现", profile=Profile(cashout=True), lang="en")
    assert [w.message for w in result.warnings] == [rules.messages["purpose_mismatch_cashout"].en]


@pytest.mark.parametrize(
    "text",
    ["中介要8个点服务费做大额置换", "有人说能帮我下款，收15%服务费", "一共 5 个 app，APR 看了下都 36% 以上",
     "The app charges 1% a day"],
)  # fmt: skip
def test_fees_and_rates_above_the_line_are_high_cost(guard: Guard, text: str) -> None:
    assert "high_cost" in codes(check(guard, text))


@pytest.mark.parametrize(
    "text",
    ["有 agent call 我说能 boost limit，要 upfront 2000", "被先扣了两百审核费", "可以帮我包装成在职再去申请"],
)  # fmt: skip
def test_upfront_fees_and_faked_documents_are_scam_risk(guard: Guard, text: str) -> None:
    assert "scam_risk" in codes(check(guard, text))
