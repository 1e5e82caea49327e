"""What the advisor knows about the user (``Profile``, each fact with the words it came from) and
where the conversation stands (``Dialogue``: what was asked and skipped), kept apart."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Segment = Literal["consumer", "sole_proprietor", "sme"]
Overdue = Literal["none", "past", "current"]
TaxRating = Literal["A", "B", "M", "C", "D"]
Urgency = Literal["days", "weeks", "months"]
BuyerType = Literal["government", "soe", "large"]
Merchant = Literal["meituan", "jd", "taobao", "douyin", "pinduoduo", "alipay"]
Residency = Literal["foreign", "hk_macao_taiwan"]

# Fields the understanding step may set; everything except ``evidence``.
FACT_FIELDS = (
    "segment", "platform", "symptom", "zhima_score", "overdue", "overdue_count", "overdue_days",
    "lender_count", "inquiries_recent", "monthly_debt_payment", "total_debt", "card_utilisation",
    "age", "is_student", "monthly_income", "social_insurance", "provident_fund",
    "years_operating", "annual_revenue", "tax_rating", "invoices", "receivables_large_buyers",
    "orders_in_hand", "collateral", "judicial_record", "business_abnormal", "revenue_falling",
    "account_anomaly", "profile_incomplete", "cashout", "borrowing_to_repay", "need_amount",
    "need_purpose", "need_term_months", "urgency", "region", "platform_wide_cut", "housing_loan",
    "buyer_types", "merchant_platforms", "residency", "payroll_account", "platform_maxed",
)  # fmt: skip


class Profile(BaseModel):
    """Facts about the user; None means unknown. ``evidence`` maps a field to the user's words."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    segment: Segment | None = None
    platform: str | None = None
    symptom: str | None = None
    zhima_score: int | None = Field(default=None, ge=350, le=950)
    overdue: Overdue | None = None
    overdue_count: int | None = Field(default=None, ge=0)
    overdue_days: int | None = Field(default=None, ge=0)
    lender_count: int | None = Field(default=None, ge=0)
    inquiries_recent: int | None = Field(default=None, ge=0)
    monthly_debt_payment: float | None = Field(default=None, ge=0)
    total_debt: float | None = Field(default=None, ge=0)
    card_utilisation: float | None = Field(default=None, ge=0, le=2)
    age: int | None = Field(default=None, ge=10, le=100)
    is_student: bool | None = None
    monthly_income: float | None = Field(default=None, ge=0)
    social_insurance: bool | None = None
    provident_fund: bool | None = None
    years_operating: float | None = Field(default=None, ge=0)
    annual_revenue: float | None = Field(default=None, ge=0)
    tax_rating: TaxRating | None = None
    invoices: bool | None = None
    receivables_large_buyers: bool | None = None
    orders_in_hand: bool | None = None
    collateral: list[str] | None = None
    judicial_record: bool | None = None
    business_abnormal: bool | None = None
    revenue_falling: bool | None = None
    account_anomaly: bool | None = None
    profile_incomplete: bool | None = None
    cashout: bool | None = None
    borrowing_to_repay: bool | None = None
    need_amount: float | None = Field(default=None, ge=0)
    need_purpose: str | None = None
    need_term_months: int | None = Field(default=None, ge=0)
    urgency: Urgency | None = None
    region: str | None = None
    platform_wide_cut: bool | None = None
    housing_loan: bool | None = None
    """The home is bought with a housing loan (公积金/商贷/按揭): a normal purchase, not misuse."""
    buyer_types: list[BuyerType] | None = None
    """Who the user's buyers are (政府/事业单位, 国企/央企, 大企业/上市公司): supply-chain products."""
    merchant_platforms: list[Merchant] | None = None
    """Platforms the user sells on (美团商家, 京东商家, 淘宝店...): their merchant loans."""
    residency: Residency | None = None
    """Set only for non-mainland users (外籍, 港澳台): other identity papers, bank's own rules."""
    payroll_account: bool | None = None
    """Salary paid through a bank (代发工资): that bank's consumer loans know the income."""
    platform_maxed: bool | None = None
    """The named platform's limit is used up (花呗用满了): offering it again does not help."""
    evidence: dict[str, str] = {}
    hints: dict[str, str] = {}
    """Reason codes the user's own words point to (征信花了 -> frequent_inquiries), with the words."""
    guesses: dict[str, str] = {}
    """Reason codes a meaning model reads in the user's words: possibilities, not findings."""

    def known(self) -> dict[str, Any]:
        """The facts that are set, without evidence."""
        return {f: getattr(self, f) for f in FACT_FIELDS if getattr(self, f) is not None}

    def merged(
        self,
        facts: dict[str, Any],
        evidence: dict[str, str],
        hints: dict[str, str] | None = None,
        retracted: set[str] | None = None,
        guesses: dict[str, str] | None = None,
    ) -> Profile:
        """A new profile where ``facts`` (later statements, corrections) replace earlier values.

        ``retracted`` names hints that a correction contradicts (e.g. "我没有逾期" drops the
        overdue hint an earlier "黑户" left).
        """
        data = self.model_dump()
        data.update({k: v for k, v in facts.items() if k in FACT_FIELDS})
        data["evidence"] = {**self.evidence, **{k: v for k, v in evidence.items() if k in facts}}
        kept = {k: v for k, v in self.hints.items() if k not in (retracted or set())}
        data["hints"] = {**kept, **(hints or {})}
        kept_guesses = {k: v for k, v in self.guesses.items() if k not in (retracted or set())}
        data["guesses"] = {**kept_guesses, **(guesses or {})}
        try:
            return Profile.model_validate(data)
        except ValidationError as exc:
            # a value out of range (芝麻分 "1") is not a fact: keep what was known before
            bad = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
            for name in bad & set(facts):
                data[name] = getattr(self, name)
                data["evidence"].pop(name, None)
                if name in self.evidence:
                    data["evidence"][name] = self.evidence[name]
            return Profile.model_validate(data)

    @property
    def is_business(self) -> bool:
        """Whether the user borrows for a business (个体户 or 小微企业)."""
        return self.segment in {"sole_proprietor", "sme"}

    def debt_to_income(self) -> float | None:
        """Monthly debt payments over monthly income, when both are known."""
        if self.monthly_debt_payment is None or not self.monthly_income:
            return None
        return self.monthly_debt_payment / self.monthly_income

    def debt_to_annual_income(self) -> float | None:
        """Total debt over a year's income, when both are known."""
        if self.total_debt is None or not self.monthly_income:
            return None
        return self.total_debt / (12 * self.monthly_income)


class Dialogue(BaseModel):
    """Dialogue state, not facts: the questions asked and skipped so far."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    asked: tuple[str, ...] = ()
    """Fields the advisor has asked about, in order."""
    skipped: tuple[str, ...] = ()
    """Fields the user chose not to answer; never asked again."""
    focus: tuple[str, ...] = ()
    """The products the user named last (税贷, 保理): a later "多久能放款" asks about them."""
    shown: tuple[str, ...] = ()
    """What the last full or partial answer showed (``reason:code``, ``product:id``,
    ``warning:code``): a later turn shows only what changed."""
    lang: str | None = None
    """The language of the last reply: a message without letters (3, 20000) keeps it."""

    @property
    def pending(self) -> str | None:
        """The field of the question asked last (a short reply may answer it)."""
        return self.asked[-1] if self.asked else None

    def asking(self, field: str) -> Dialogue:
        """This state after asking about ``field``."""
        return self.model_copy(update={"asked": (*self.asked, field)})

    def focusing(self, products: tuple[str, ...]) -> Dialogue:
        """This state after a message that names ``products``."""
        return self.model_copy(update={"focus": products})

    def showing(self, items: tuple[str, ...]) -> Dialogue:
        """This state after a reply that shows ``items`` (the advice as it now stands)."""
        return self.model_copy(update={"shown": items})

    def skipping_pending(self) -> Dialogue:
        """This state after the user skipped the pending question."""
        pending = self.pending
        if pending is None or pending in self.skipped:
            return self
        return self.model_copy(update={"skipped": (*self.skipped, pending)})
