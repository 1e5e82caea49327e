"""The product catalog (``catalog.yaml``): what a user can apply for, with eligibility data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, computed_field, model_validator

from .programmes import WORDING, Lang, MarketAverage, Programme, percent

_ID = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def in_lang(zh: str, en: str | None, lang: str) -> str:
    """``en`` for an English turn when there is one, else the Chinese text."""
    return en if lang == "en" and en else zh


class _Noted(_Strict):
    """A figure with a Chinese ``note`` and its English ``note_en``."""

    note: str | None = None
    note_en: str | None = None

    def note_in(self, lang: str) -> str | None:
        """The note in ``lang``; None for English when no English note exists (never Chinese)."""
        return self.note_en if lang == "en" else self.note


class Amount(_Noted):
    """Amount range in CNY; null bounds mean no public figure."""

    min: int | None
    max: int | None
    basis: Literal["published", "regulatory_cap", "case"] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Amount:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"amount min {self.min} > max {self.max}")
        if self.basis == "case" and (self.min is not None or self.max is not None):
            raise ValueError(
                "a case amount (one anecdote) is not a limit: give it in the note only"
            )
        return self


class Term(_Noted):
    """Loan term range in months."""

    min: int | None
    max: int | None


class Apr(_Noted):
    """Annualised rate range in percent, with the date the figure holds for.

    ``basis`` says what the figure is: ``published`` (the lender's own range), ``regulatory_cap``,
    ``case`` (one reported case: a single figure, never a range) or ``market_average`` (a national
    average named by ``average``; its figure and month come from ``Catalog.market_averages``).
    """

    min: float | None
    max: float | None
    as_of: str | None = Field(default=None, pattern=r"^\d{4}(-\d{2})?$")
    basis: Literal["published", "market_average", "case", "regulatory_cap"] | None = None
    average: str | None = None
    _average: MarketAverage | None = PrivateAttr(default=None)
    _subsidies: list[Programme] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _dated(self) -> Apr:
        figures = self.min is not None or self.max is not None
        if self.basis == "market_average":
            if not self.average:
                raise ValueError(
                    "a market_average rate must name its published average in `average` "
                    "(label and month come from market_averages)"
                )
            if figures or self.as_of:
                raise ValueError("a market_average rate takes its figure and month from `average`")
            return self
        if self.average:
            raise ValueError("`average` belongs only to a market_average rate")
        if figures and not self.as_of:
            raise ValueError("an APR figure needs its as_of date")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"apr min {self.min} > max {self.max}")
        if self.basis == "case" and (self.min is None or self.min != self.max):
            raise ValueError("a case (one anecdote) is one figure: set min equal to max")
        if not figures and not self.note:
            raise ValueError("an APR without figures needs a note saying where the rate is shown")
        return self

    def bind(self, average: MarketAverage | None, subsidies: list[Programme]) -> None:
        """Attach the shared average and the subsidy programmes (done by ``Catalog``)."""
        self._average = average
        self._subsidies = subsidies
        if average is not None:
            self.min = self.max = average.value
            self.as_of = average.as_of

    def display(self, lang: Lang = "zh", on: dt.date | None = None) -> str:
        """The rate as shown to users, with its date and any subsidy's status on ``on``."""
        parts = [self._figure(lang)]
        parts += [programme.status(on, lang) for programme in self._subsidies]
        return WORDING[lang]["joiner"].join(parts)

    def _figure(self, lang: Lang) -> str:
        words = WORDING[lang]
        if self._average is not None:
            return self._average.display(lang)
        if self.min is None and self.max is None:
            return self.note_in(lang) or words["no_figure"]
        if self.basis == "case" and self.max is not None:
            return words["case"].format(value=percent(self.max), as_of=self.as_of)
        low = f"{percent(self.min)}%" if self.min is not None else ""
        high = f"{percent(self.max)}%" if self.max is not None else ""
        span = f"{low}–{high}" if low and high and low != high else (low or f"≤{high}")
        return f"{span}（{self.as_of}）" if lang == "zh" else f"{span} ({self.as_of})"


class Speed(_Noted):
    """How fast money arrives after applying."""

    label: Literal["minutes", "days", "weeks", "months"]
    days_min: float | None
    days_max: float | None


class Requirements(_Strict):
    """Eligibility conditions; None means no requirement or no public figure."""

    age_min: int | None = None
    age_max: int | None = None
    students_allowed: bool | None = None
    years_operating_min: float | None = None
    needs_business_license: bool | None = None
    tax_rating_in: list[str] | None = None
    needs_invoices: bool | None = None
    needs_receivables_from_large_buyers: bool | None = None
    needs_orders: bool | None = None
    collateral_any_of: list[str] | None = None
    no_current_overdue: bool | None = None
    no_judicial_record: bool | None = None
    needs_social_insurance: bool | None = None
    ecosystem: Literal["alipay", "wechat", "jd", "meituan", "baidu"] | None = None
    merchant_of: list[str] | None = None
    """Only for merchants of one of these platforms (taxonomy ``merchant_platforms``): offered
    when the user says they sell there, never on a guess."""
    buyer_types_any_of: list[str] | None = None
    """The user's buyer must be one of these (taxonomy ``buyer_types``): 政府 for 政采贷,
    政府/国企/大企业 for 应收账款, 保理 and 供应链票据."""
    eligible_groups: list[str] | None = None
    other: list[str] = []
    other_en: list[str] = []
    """The ``other`` conditions in English, one for one."""

    def other_in(self, lang: str) -> list[str]:
        """The other conditions in ``lang`` (English only when every item has a translation)."""
        if lang != "en":
            return self.other
        return self.other_en if len(self.other_en) == len(self.other) else []


class Product(_Strict):
    """One product or product family in the catalog."""

    id: str = Field(pattern=_ID)
    name: str
    name_en: str | None = None
    aliases: list[str] = []
    """What users call it (税贷, 保理, tax loan): how a question names the product in focus."""
    provider: str
    provider_en: str | None = None
    licence: str
    channel: str
    segments: list[str] = Field(min_length=1)
    purposes_allowed: list[str] = Field(min_length=1)
    purposes_forbidden: list[str] = []
    amount: Amount
    term_months: Term | None
    apr: Apr
    speed: Speed
    requirements: Requirements
    materials: list[str] = Field(min_length=1)
    materials_en: list[str] = []
    """The materials in English, one for one (``kb check`` holds them to the same length)."""
    fit_signals: list[str] = []
    """Profile yes/no facts that make approval likelier when true (公积金, 代发工资, 社保)."""
    doc_id: str
    source: str = Field(min_length=2)
    programme: str | None = None
    """Id of the time-limited programme this product is: it is open only while that runs."""
    subsidies: list[str] = []
    """Ids of programmes that lower this product's cost while they run (shown with the rate)."""
    _programme: Programme | None = PrivateAttr(default=None)

    def name_in(self, lang: str) -> str:
        """The product's name in ``lang``."""
        return in_lang(self.name, self.name_en, lang)

    def provider_in(self, lang: str) -> str:
        """Who provides it, in ``lang``."""
        return in_lang(self.provider, self.provider_en, lang)

    def materials_in(self, lang: str) -> list[str]:
        """The materials list in ``lang`` (English only when complete)."""
        english = lang == "en" and len(self.materials_en) == len(self.materials)
        return self.materials_en if english else self.materials

    def is_open(self, on: dt.date) -> bool:
        """Whether new applications are possible on ``on`` (always, unless a programme ended)."""
        # read the private slot directly: ``self._programme`` goes through pydantic's slow
        # ``__getattr__``, and this runs for every product in every follow-up replay
        private = self.__pydantic_private__
        programme = private.get("_programme") if private else None
        return programme is None or programme.is_open(on)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def available(self) -> bool:
        """Open to new applications today (computed from the programme's dates at run time)."""
        return self.is_open(dt.date.today())

    def status(self, on: dt.date | None = None, lang: Lang = "zh") -> str | None:
        """The programme's status on ``on`` ('截至…有效' or that it ended), None if standing."""
        return self._programme.status(on, lang) if self._programme else None


class CreditAction(_Strict):
    """A step that restores eligibility (channel ``credit_improvement``)."""

    id: str = Field(pattern=_ID)
    action: str
    action_en: str | None = None
    detail: str
    detail_en: str | None = None
    reasons: list[str] = Field(min_length=1)
    time_to_effect: str
    time_to_effect_en: str | None = None
    not_when: dict[str, list[str]] = {}
    """Profile field -> values for which this step is pointless (an M-rated taxpayer is not told to
    reach M)."""
    days_min: int | None
    days_max: int | None
    doc_id: str
    source: str = Field(min_length=2)

    def action_in(self, lang: str) -> str:
        """The step's title in ``lang``."""
        return in_lang(self.action, self.action_en, lang)

    def detail_in(self, lang: str) -> str:
        """How to take the step, in ``lang``."""
        return in_lang(self.detail, self.detail_en, lang)

    def time_to_effect_in(self, lang: str) -> str:
        """When it takes effect, in ``lang``."""
        return in_lang(self.time_to_effect, self.time_to_effect_en, lang)


class Catalog(_Strict):
    """The whole catalog file."""

    version: int
    updated: dt.date | None = None
    programmes: list[Programme] = []
    market_averages: list[MarketAverage] = []
    products: list[Product]
    credit_improvement: list[CreditAction]

    @model_validator(mode="after")
    def _bind(self) -> Catalog:
        """Resolve programme and average ids so products can compute status and show rates."""
        programmes = {p.id: p for p in self.programmes}
        averages = {a.id: a for a in self.market_averages}
        unknown: list[str] = []
        for product in self.products:
            wanted = ([product.programme] if product.programme else []) + product.subsidies
            unknown += [
                f"{product.id}: unknown programme '{i}'" for i in wanted if i not in programmes
            ]
            if product.apr.average and product.apr.average not in averages:
                unknown.append(f"{product.id}: unknown market average '{product.apr.average}'")
        if unknown:
            raise ValueError("; ".join(unknown))
        for product in self.products:
            product._programme = programmes.get(product.programme or "")
            shown = [product._programme] if product._programme else []
            shown += [programmes[i] for i in product.subsidies]
            product.apr.bind(averages.get(product.apr.average or ""), shown)
        return self

    def product(self, product_id: str) -> Product:
        """Look up a product by id; raises KeyError."""
        for product in self.products:
            if product.id == product_id:
                return product
        raise KeyError(product_id)


def load_catalog(knowledge_dir: Path) -> Catalog:
    """Load and validate ``catalog.yaml`` (raises pydantic.ValidationError on schema errors)."""
    raw = yaml.safe_load((knowledge_dir / "catalog.yaml").read_text(encoding="utf-8"))
    return Catalog.model_validate(raw)
