"""PII masking: phones, resident IDs and bank cards are hidden; amounts, dates and rates are not."""

from __future__ import annotations

import io
import logging

import pytest

from bot.pii import PiiLogFilter, luhn_valid, mask_pii

# Luhn-valid card numbers of 16, 18 and 19 digits.
CARD_16 = "4111111111111111"
CARD_18 = "621700001001234560"
CARD_19 = "6222021234567890128"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我的手机13812345678", "我的手机138****5678"),
        ("电话 138 1234 5678，谢谢", "电话 138****5678，谢谢"),
        ("138-1234-5678", "138****5678"),
        ("+86 138-1234-5678", "+86 138****5678"),
        ("+8613812345678", "+86138****5678"),
        ("0086 19912345678", "0086 199****5678"),
        ("call 15900001111 now", "call 159****1111 now"),
        ("身份证110105199001011234", "身份证110105********1234"),
        ("ID 11010519900101123X.", "ID 110105********123X."),
        ("11010519900101123x", "110105********123x"),
        ("110105 19900101 1234", "110105********1234"),
        ("老身份证110105900101123", "老身份证110105*****1123"),
        (f"卡号{CARD_19}", "卡号****0128"),
        (f"card {CARD_16}", "card ****1111"),
        (f"{CARD_18}", "****4560"),
        ("卡号 6222 0212 3456 7890", "卡号 **** **** **** 7890"),
        ("6222-0212-3456-7890-128", "****-****-****-0128"),
        (
            "手机13812345678，身份证110105199001011234，卡6222021234567890128",
            "手机138****5678，身份证110105********1234，卡****0128",
        ),
    ],
)
def test_masks_pii(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "借了30000元",
        "想贷1.5万",
        "额度20w",
        "需要 20000000 元周转",
        "2026-11-29 到期",
        "2026年11月29日",
        "20261129",
        "芝麻分650",
        "LPR 3.0%",
        "年化 18.25%，日息0.05%",
        "逾期3次，最长45天",
        "查了8次征信",
        "1381234567",  # 10 digits: too short for a phone
        "138123456789",  # 12 digits: not a phone
        "12812345678",  # 11 digits but 12x is no mobile prefix
        "2026112912345678",  # 16 digits failing Luhn: an order number, not a card
        "订单号123456789012345678",  # 18 digits, no birth date, failing Luhn
        "营业执照 2019 年，年流水 300 万",
        "tel 010-12345678",
        "",
        "没有数字",
    ],
)
def test_leaves_ordinary_numbers_alone(text: str) -> None:
    assert mask_pii(text) == text


@pytest.mark.parametrize(
    "text", ["13812345678", "110105199001011234", CARD_19, "6222 0212 3456 7890"]
)
def test_masking_is_idempotent(text: str) -> None:
    once = mask_pii(text)
    assert once != text
    assert mask_pii(once) == once


def test_luhn() -> None:
    assert luhn_valid(CARD_16)
    assert luhn_valid(CARD_19)
    assert not luhn_valid("4111111111111112")
    assert not luhn_valid("20000000000000001")


def _logger_with_filter(name: str) -> tuple[logging.Logger, io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PiiLogFilter())
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, stream, handler


def test_log_filter_masks_message_args_and_traceback() -> None:
    logger, stream, handler = _logger_with_filter("tests.pii.filter")
    try:
        logger.info("user said %s", "我的手机13812345678")
        logger.info("card %d on file", int(CARD_19))
        logger.info("plain 110105199001011234 in the message, 30000 元")
        try:
            raise ValueError("bad id 110105199001011234")
        except ValueError:
            logger.exception("failed for %s", "+86 138 1234 5678")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    for secret in ("13812345678", "1234 5678", "110105199001011234", CARD_19):
        assert secret not in output
    assert "138****5678" in output
    assert "****0128" in output
    assert "110105********1234" in output
    assert "30000 元" in output
    assert "ValueError" in output


def test_log_filter_survives_mismatched_arguments() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "two %s %s", ("13812345678",), None)
    assert PiiLogFilter().filter(record)
    assert "13812345678" not in record.getMessage()
    assert "138****5678" in record.getMessage()


def test_uvicorn_access_records_keep_their_arguments() -> None:
    import logging

    from uvicorn.logging import AccessFormatter

    from bot.pii import PiiLogFilter

    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/v1/sessions/13812345678", "1.1", 200), None,
    )  # fmt: skip
    assert PiiLogFilter().filter(record)
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s').format(record)
    assert "13812345678" not in line and "138****5678" in line and "200" in line
