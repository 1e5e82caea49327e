"""Real annualised cost (APR) from the figures users quote: 日息, 月息, 手续费, 到手, 分期.

IRR method of 人民银行公告〔2021〕第3号: the cost includes every fee, principal actually in hand is
the base, and instalments reduce it period by period. ``apr`` is the simple annual rate
(monthly IRR x 12, how lenders must display it); ``effective`` compounds it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyxirr

from .numbers import NUMBER, parse_number

HIGH_COST_APR = 24.0  # percent; see knowledge/docs/interest-rate-caps.md


@dataclass(frozen=True)
class CostTerms:
    """Loan figures as the user stated them (amounts in yuan, rates in percent)."""

    principal: float | None = None
    received: float | None = None
    fee: float | None = None
    installments: int | None = None
    payment: float | None = None
    daily_rate: float | None = None
    monthly_rate: float | None = None
    installment_fee_rate: float | None = None
    stated_apr: float | None = None
    days: int | None = None
    repay_total: float | None = None
    weekly_rate: float | None = None

    def any(self) -> bool:
        """Whether any cost figure was found."""
        return any(v is not None for v in vars(self).values())


@dataclass(frozen=True)
class AprResult:
    """The computed annual cost with how it was derived."""

    apr: float
    effective: float
    method: str
    terms: CostTerms
    method_en: str = ""

    def method_in(self, lang: str) -> str:
        """How the APR was derived, in ``lang``."""
        return self.method_en if lang == "en" and self.method_en else self.method

    @property
    def high_cost(self) -> bool:
        """The APR (IRR, not compounded) is above the 24% line, the way the courts and the
        2025 microcredit cost guideline state it; the compounded rate is shown, not judged."""
        return self.apr > HIGH_COST_APR

    def as_dict(self) -> dict[str, object]:
        """JSON shape for the Turn and the CLI."""
        return {"apr": round(self.apr, 2), "effective": round(self.effective, 2),
                "method": self.method, "high_cost": self.high_cost,
                "terms": {k: v for k, v in vars(self.terms).items() if v is not None}}  # fmt: skip


def _num(pattern: str, text: str) -> float | None:
    match = re.search(pattern.replace("{NUM}", f"({NUMBER})"), text, re.IGNORECASE)
    if not match:
        return None
    token = next((g for g in match.groups() if g), None)
    return parse_number(token) if token else None


def _rate(pattern: str, text: str) -> float | None:
    """A rate in percent from '0.05%', '万分之五', '万五', '千分之一', '2分' forms."""
    match = re.search(pattern, text, re.IGNORECASE)
    if not match:
        return None
    token = match.group(1)
    if token.startswith("万分之") or (token.startswith("万") and len(token) <= 3):
        value = parse_number(token.replace("万分之", "").replace("万", ""))
        return value / 100 if value is not None else None
    if token.startswith("千分之"):
        value = parse_number(token[3:])
        return value / 10 if value is not None else None
    if token.endswith("个点"):
        return parse_number(token[:-2].strip())
    if token.endswith("分") or token.endswith("厘"):
        value = parse_number(token[:-1])
        if value is None:
            return None
        return value if token.endswith("分") else value / 10
    token = re.sub(r"\s*(?:%|％|percent)$", "", token.strip(), flags=re.IGNORECASE)
    if token.lower().replace("zero", "").strip().startswith("point"):  # point zero five percent
        token = "0." + re.sub(r"[^0-9]", "", token)
    return parse_number(token)


_RATE_TOKEN = r"((?:zero\s*)?point\s*[0-9]+\s*(?:%|percent)|[0-9.]+\s*percent|[0-9.]+\s*个点|万分之[0-9零一二两三四五六七八九十点.]+|万[0-9一二两三四五六七八九十]+(?![0-9])|千分之[0-9一二两三四五六七八九十点.]+|[0-9.]+\s*[%％]|[0-9一二两三四五六七八九十点.]+\s*[分厘])"


_EN_CUE = r"(?:{cue})\s*(?:of|is|at|was|:|=)?\s*(?:about|around|only|just)?\s*(?:是|为)?\s*"
"""A rate's cue word and what English puts between it and the figure (daily rate of 0.05%)."""


def parse_cost_terms(text: str) -> CostTerms:
    """Pull loan cost figures out of a message."""
    t = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)
    t = t.replace("，", ",").replace("：", ":")
    principal = _num(
        r"(?:借了?|贷了?|借款|本金|额度|borrow(?:ed|ing)?|loan of|principal(?: of| is)?)\s*(?:rmb|cny|¥)?\s*{NUM}"
        r"|{NUM}\s*(?:yuan|rmb|元)?\s*loan",
        t,
    )
    received = _num(
        r"(?:到手|实际到账|到账|实际拿到|拿到手|only got|only get|only receive[sd]?|receiv(?:e[sd]?|ing)"
        r"|got|get|in hand)\s*(?:只有|只|only)?\s*(?:rmb|cny|¥)?\s*{NUM}(?!\s*(?:installments|instalments|payments|months))",
        t,
    )
    fee = _num(
        r"(?:手续费|服务费|砍头息?|管理费|会员费|保险费|咨询费|担保费|fee of|fee)\s*(?:是|收了?|要)?\s*{NUM}(?!\s*[%％个])",
        t,
    )
    fee = fee or _num(r"(?:先扣|扣|扣掉|扣了)\s*{NUM}", t)
    installments = _num(
        r"(?:分|共|一共)?\s*{NUM}\s*(?:期|个月还清)"
        r"|(?:{NUM})\s*(?:monthly\s+)?(?:installments|instalments|payments|repayments|months)",
        t,
    )
    payment = _num(
        r"(?:每期|每月|每个月|一期|一个月)\s*(?:还|要还|还款)?\s*{NUM}|(?:pay|repay)\s*{NUM}\s*(?:a|per|each) month"
        r"|(?:payments?|instalments?|installments?|repayments?) of\s*(?:rmb|cny|¥)?\s*{NUM}"
        r"|{NUM}\s*(?:yuan\s*)?(?:a|per|each|every) month",
        t,
    )
    daily = _rate(
        _EN_CUE.format(
            cue=r"日息|日利率|日利息|一天利息|daily (?:interest )?rate|daily interest"
            r"|interest per day"
        )
        + _RATE_TOKEN,
        t,
    ) or _rate(_RATE_TOKEN + r"\s*(?:a day|per day|daily|each day|every day)", t)
    monthly = _rate(
        _EN_CUE.format(
            cue=r"月息|月利率|月利息|monthly (?:interest )?rate|monthly interest"
            r"|interest per month"
        )
        + _RATE_TOKEN,
        t,
    ) or _rate(_RATE_TOKEN + r"\s*(?:a month|per month|monthly|each month|every month)", t)

    per_fee = _rate(
        r"(?:每期手续费|每期费率|分期费率|每月手续费|每个月手续费)\s*(?:率)?\s*(?:是|为)?\s*(?:本金的)?\s*"
        + _RATE_TOKEN,
        t,
    )
    weekly = _rate(r"(?:一周|每周|7天|七天)\s*(?:收|要|利息)?\s*" + _RATE_TOKEN, t) or _rate(
        _RATE_TOKEN + r"\s*(?:a week|per week|weekly|each week|every week)", t
    )
    stated = _rate(
        _EN_CUE.format(cue=r"年化|年利率|年息|apr|annual (?:interest )?rate|interest rate")
        + r"(?:利率)?\s*(?:(?:是|为|约|大概|大约|接近|将近|差不多|近|高达|达到?|超过了?|快|在|有"
        r"|of|is|was|around|about|nearly|almost|close to|over|roughly)\s*){0,2}" + _RATE_TOKEN,
        t,
    ) or _rate(_RATE_TOKEN + r"\s*(?:apr|a year|per year|per annum|annual(?:ly)?|yearly)", t)
    days = _num(r"{NUM}\s*天(?:后|内|到期)?\s*(?:还|要还|归还)", t) or _num(
        r"(?:借|期限)\s*{NUM}\s*天|(?:for|after|in|within)\s*{NUM}\s*days?", t
    )
    if days is None and re.search(r"(一年|1年|12个月)(?:后|到期)\s*(?:一次性)?还", t):
        days = 365
    repay_total = _num(
        r"(?:天|到期|一次性|总共|一共|后)\s*(?:要)?还\s*{NUM}"
        r"|(?:pay back|repay|return|owe)\s*(?:a total of\s*)?(?:rmb|cny|¥)?\s*{NUM}"
        r"(?!\s*(?:a|per|each|every) month)",
        t,
    )
    if installments is not None and not 1 <= installments <= 120:
        installments = None
    return CostTerms(
        principal=principal,
        received=received,
        fee=fee,
        installments=int(installments) if installments else None,
        payment=payment,
        daily_rate=daily,
        monthly_rate=monthly,
        installment_fee_rate=per_fee,
        weekly_rate=weekly,
        stated_apr=stated,
        days=int(days) if days and 0 < days <= 3650 else None,
        repay_total=repay_total,
    )


def compute_apr(terms: CostTerms) -> AprResult | None:
    """The APR implied by the terms, or None when they are not enough to compute one."""
    in_hand = terms.received
    if in_hand is None and terms.principal is not None:
        in_hand = terms.principal - (terms.fee or 0.0)
    n = terms.installments
    if in_hand and n and terms.payment:
        return _irr_result(
            [in_hand] + [-terms.payment] * n,
            terms,
            "IRR（按月分期，计入全部费用）",
            "IRR, monthly instalments, every fee included",
        )
    if in_hand and n and terms.principal and terms.installment_fee_rate is not None:
        payment = terms.principal / n + terms.principal * terms.installment_fee_rate / 100
        return _irr_result(
            [in_hand] + [-payment] * n,
            terms,
            "IRR（每期手续费按初始本金收取）",
            "IRR, the fee of each instalment charged on the initial principal",
        )
    if terms.weekly_rate is not None:
        apr = terms.weekly_rate * 365 / 7
        return AprResult(
            apr,
            ((1 + terms.weekly_rate / 100) ** (365 / 7) - 1) * 100,
            "周费率×365÷7（单利）",
            terms,
            "weekly rate × 365 ÷ 7, simple interest",
        )
    if terms.daily_rate is not None:
        apr = terms.daily_rate * 365
        return AprResult(
            apr, ((1 + terms.daily_rate / 100) ** 365 - 1) * 100, "日利率×365（单利）", terms,
            "daily rate × 365, simple interest",
        )  # fmt: skip
    if terms.monthly_rate is not None:
        apr = terms.monthly_rate * 12
        return AprResult(
            apr, ((1 + terms.monthly_rate / 100) ** 12 - 1) * 100, "月利率×12（单利）", terms,
            "monthly rate × 12, simple interest",
        )  # fmt: skip
    if terms.stated_apr is not None:
        return AprResult(terms.stated_apr, terms.stated_apr, "按对方给出的年化利率", terms,
                         "the annual rate the lender stated")  # fmt: skip
    if in_hand and terms.days and terms.repay_total and terms.repay_total > in_hand:
        apr = (terms.repay_total - in_hand) / in_hand * 365 / terms.days * 100
        return AprResult(
            apr,
            apr,
            f"(还款额−到手金额)÷到手金额×365÷{terms.days}天（单利）",
            terms,
            f"(repaid − received) ÷ received × 365 ÷ {terms.days} days, simple interest",
        )
    if terms.principal and terms.received and terms.received < terms.principal:
        # a one-year loan with the fee taken up front: cost over money actually received
        cost = terms.principal - terms.received
        apr = cost / terms.received * 100
        return AprResult(
            apr,
            apr,
            "预扣费用÷到手金额（按一年计）",
            terms,
            "fee deducted upfront ÷ amount received, over one year",
        )
    return None


def _irr_result(
    flows: list[float], terms: CostTerms, method: str, method_en: str
) -> AprResult | None:
    try:
        monthly = pyxirr.irr(flows)
    except (pyxirr.InvalidPaymentsError, ValueError):
        return None
    if monthly is None or monthly != monthly:  # NaN when no solution
        return None
    return AprResult(monthly * 12 * 100, ((1 + monthly) ** 12 - 1) * 100, method, terms, method_en)


def apr_from_text(text: str) -> AprResult | None:
    """Parse and compute in one step."""
    terms = parse_cost_terms(text)
    return compute_apr(terms) if terms.any() else None
