"""PII in the formats the attack probe used (issue 13), masked in messages, stored turns, evidence,
responses and logs; amounts, dates, rates and order numbers stay as typed."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api import create_app
from bot.advisor import Advisor
from bot.pii import PiiLogFilter, mask_log_text, mask_pii
from bot.sessions import SQLiteSessionStore


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("手机１３８１２３４５６７８", "１２３４５６７８"),  # full-width digits
        ("电话138.1234.5678", "1234.5678"),
        ("电话1381 234 5678", "234 5678"),
        ("+86 138 1234 5678", "1234 5678"),
        ("＋86 13812345678", "12345678"),
        ("卡号6222021234567890", "6222021234567890"),  # 16 digits failing Luhn
        ("卡号622202 1234567890123", "1234567890123"),
        ("卡号 4111-1111-1111-1112", "1111-1111-1112"),
        ("卡6222 0212 3456 7890 12", "0212 3456"),
        ("卡号６２２２０２１２３４５６７８９０", "１２３４５６７８９０"),
        ("邮箱 zhang.san+loan@example.com.cn", "zhang.san"),
        ("身份证１１０１０５１９９００１０１１２３４", "１９９００１０１"),
    ],
)
def test_formats_from_the_probe_are_masked(text: str, secret: str) -> None:
    masked = mask_pii(text)
    assert secret not in masked and "*" in masked
    assert mask_pii(masked) == masked


@pytest.mark.parametrize(
    "text",
    [
        "借了30000元，月还1,250.50元",
        "额度从5万降到1.5万，想借20w",
        "需要 3,000,000 元",
        "2026-11-29 到期，2026年11月29日还款，20261129",
        "年化 18.25%，日息0.05%，LPR 3.0%",
        "订单号 2026112900012345",
        "订单号：6222021234567890",  # named an order number: kept
        "合同编号 HT-2026-0001234567",
        "交易号4200001234567890123",
        "逾期3次，芝麻分650，查了8次征信",
        "营业额 12.5 万/月，纳税B级",
        "v1.2.3.4 版本",
    ],
)
def test_amounts_dates_rates_and_order_numbers_stay(text: str) -> None:
    assert mask_pii(text) == text


def test_url_encoded_query_strings_are_masked_in_logs() -> None:
    line = "GET /v1/search?q=%2B86%20138%201234%205678&k=3 HTTP/1.1"
    assert "1234" not in mask_log_text(line).replace("****", "")
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "GET", "/v1/search?q=%EF%BC%91%EF%BC%93%EF%BC%98%EF%BC%91%EF%BC%92%EF%BC%93"
         "%EF%BC%94%EF%BC%95%EF%BC%96%EF%BC%97%EF%BC%98+a%40b.com", "1.1", 200), None,
    )  # fmt: skip
    assert PiiLogFilter().filter(record)
    path = str(record.args[2])  # type: ignore[index]
    assert "a@b.com" not in path and "%EF%BC%94%EF%BC%95" not in path and "****" in path


@pytest.fixture
def client(advisor: Advisor) -> Iterator[TestClient]:
    settings = advisor.settings.model_copy(update={"rate_limit": "1000/minute"})
    with TestClient(create_app(settings, advisor=advisor)) as test_client:
        yield test_client


PROBE = ("我手机１３８１２３４５６７８，也可打+86 138 1234 5678，卡号6222021234567890，"
         "邮箱zhang@example.com，借呗没额度，想借3万，2026-11-29到期")  # fmt: skip
SECRETS = ("１２３４５６７８", "1234 5678", "6222021234567890", "zhang@")


def test_nothing_typed_is_stored_answered_or_logged_in_the_clear(
    client: TestClient, advisor: Advisor, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO"):
        answer = client.post("/v1/chat", json={"message": PROBE})
        session = answer.json()["session_id"]
        stored = client.get(f"/v1/sessions/{session}")
        client.get("/v1/search", params={"q": "+86 138 1234 5678"})
    assert isinstance(advisor.store, SQLiteSessionStore)
    with sqlite3.connect(advisor.store.path) as db:
        (row,) = db.execute(
            "SELECT profile || turns FROM sessions WHERE session_id = ?", (session,)
        )
    for text in (answer.text, stored.text, row[0], caplog.text):
        for secret in SECRETS:
            assert (
                secret not in text.encode().decode("unicode_escape", "ignore")
                and secret not in text
            )
    assert "3万" in stored.text and "2026-11-29" in stored.text
