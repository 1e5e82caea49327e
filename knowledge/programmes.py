"""Dated facts the catalog shares: time-limited programmes and published market averages.

A programme (a loan subsidy, a special guarantee plan) runs between two dates; whether it is open
is computed from the date asked about, never written into the data. A market average is one
published figure for one month; it is shown as an average, never as a product's price.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_ID = r"^[a-z0-9]+(-[a-z0-9]+)*$"
Lang = Literal["zh", "en"]

# Display wording for catalog figures; the data holds facts and dates, this holds sentences.
WORDING: dict[str, dict[str, str]] = {
    "zh": {
        "market_average": "{label}约{value}%（{as_of}），不是该产品报价",
        "case": "个案：约{value}%（{as_of}），不是该产品的统一定价",
        "no_figure": "以借款页面展示的年化利率为准",
        "not_started": "{name}自{start}起实施",
        "open": "{name}：{benefit}，截至{end}有效",
        "ended": "{name}已于{end}到期，可能延长，以届时公告为准",
        "joiner": "；",
    },
    "en": {
        "market_average": "{label} about {value}% ({as_of}), not this product's price",
        "case": "one reported case: about {value}% ({as_of}), not this product's standard price",
        "no_figure": "no public rate; see the APR shown on the lender's page or contract",
        "not_started": "{name} starts on {start}",
        "open": "{name}: {benefit}, valid until {end}",
        "ended": "{name} ended on {end}; it may be extended, check the official notice",
        "joiner": "; ",
    },
}


def percent(value: float) -> str:
    """A percentage number without trailing zeros: 3.48 -> '3.48', 24.0 -> '24'."""
    return f"{value:g}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Programme(_Strict):
    """A time-limited policy programme with machine-readable start and end dates."""

    id: str = Field(pattern=_ID)
    name: str
    name_en: str
    start: dt.date | None = None
    end: dt.date | None = None
    benefit: str = Field(min_length=2)
    benefit_en: str = Field(min_length=2)
    source: str = Field(min_length=2)

    @model_validator(mode="after")
    def _dated(self) -> Programme:
        if self.start is None or self.end is None:
            raise ValueError(
                f"programme {self.id} needs machine-readable start and end dates (YYYY-MM-DD)"
            )
        if self.start > self.end:
            raise ValueError(f"programme {self.id} starts after it ends")
        return self

    def is_open(self, on: dt.date) -> bool:
        """True while ``on`` lies between the start and end dates (both included)."""
        assert self.start is not None and self.end is not None
        return self.start <= on <= self.end

    def status(self, on: dt.date | None = None, lang: Lang = "zh") -> str:
        """'<name>：<benefit>，截至<end>有效' while open; after the end, that it ended."""
        on = on or dt.date.today()
        assert self.start is not None and self.end is not None
        words = WORDING[lang]
        name = self.name if lang == "zh" else self.name_en
        benefit = self.benefit if lang == "zh" else self.benefit_en
        if on < self.start:
            return words["not_started"].format(name=name, start=self.start.isoformat())
        key = "open" if on <= self.end else "ended"
        return words[key].format(name=name, benefit=benefit, end=self.end.isoformat())


class MarketAverage(_Strict):
    """One published national average rate for one month (e.g. 普惠小微 new loans)."""

    id: str = Field(pattern=_ID)
    label: str = Field(min_length=2)
    label_en: str = Field(min_length=2)
    value: float = Field(gt=0, lt=100)
    as_of: str = Field(pattern=r"^\d{4}-\d{2}$")
    source: str = Field(min_length=2)

    def display(self, lang: Lang = "zh") -> str:
        """'全国普惠小微贷款平均利率约3.48%（2025-06），不是该产品报价' (or English)."""
        label = self.label if lang == "zh" else self.label_en
        return WORDING[lang]["market_average"].format(
            label=label, value=percent(self.value), as_of=self.as_of
        )
