"""The product catalog (``catalog.yaml``): what a user can apply for, with eligibility data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

_ID = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Amount(_Strict):
    """Amount range in CNY; null bounds mean no public figure."""

    min: int | None
    max: int | None
    basis: Literal["published", "regulatory_cap", "case"] | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Amount:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"amount min {self.min} > max {self.max}")
        return self


class Term(_Strict):
    """Loan term range in months."""

    min: int | None
    max: int | None
    note: str | None = None


class Apr(_Strict):
    """Annualised rate range in percent, with the date the figure holds for."""

    min: float | None
    max: float | None
    as_of: str | None = Field(default=None, pattern=r"^\d{4}(-\d{2})?$")
    basis: Literal["published", "market_average", "case", "regulatory_cap"] | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _dated(self) -> Apr:
        if (self.min is not None or self.max is not None) and not self.as_of:
            raise ValueError("an APR figure needs its as_of date")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"apr min {self.min} > max {self.max}")
        if self.min is None and self.max is None and not self.note:
            raise ValueError("an APR without figures needs a note saying where the rate is shown")
        return self

    def display(self) -> str:
        """Human-readable range with its date, e.g. '3.5%–6%（2025-02）'."""
        if self.min is None and self.max is None:
            return self.note or "以借款页面展示的年化利率为准"
        low = f"{self.min:g}%" if self.min is not None else ""
        high = f"{self.max:g}%" if self.max is not None else ""
        span = f"{low}–{high}" if low and high and low != high else (low or f"≤{high}")
        return f"{span}（{self.as_of}）"


class Speed(_Strict):
    """How fast money arrives after applying."""

    label: Literal["minutes", "days", "weeks", "months"]
    days_min: float | None
    days_max: float | None
    note: str | None = None


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
    eligible_groups: list[str] | None = None
    other: list[str] = []


class Product(_Strict):
    """One product or product family in the catalog."""

    id: str = Field(pattern=_ID)
    name: str
    provider: str
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
    doc_id: str
    source: str = Field(min_length=2)
    available: bool = True
    """False for a programme closed to new applications (kept so the advisor can explain it)."""


class CreditAction(_Strict):
    """A step that restores eligibility (channel ``credit_improvement``)."""

    id: str = Field(pattern=_ID)
    action: str
    detail: str
    reasons: list[str] = Field(min_length=1)
    time_to_effect: str
    days_min: int | None
    days_max: int | None
    doc_id: str
    source: str = Field(min_length=2)


class Catalog(_Strict):
    """The whole catalog file."""

    version: int
    updated: dt.date | None = None
    products: list[Product]
    credit_improvement: list[CreditAction]

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
