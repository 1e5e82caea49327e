"""Masking of phone, resident-ID, bank-card numbers and e-mail addresses before anything is
stored, answered or logged.

Digits may be ASCII or full-width (``１３８``); a number may be grouped by single spaces, dashes
or (all of them, at least two) dots. Digits never run on into neighbouring digits.

- phone: 11 digits ``1[3-9]xxxxxxxxx`` in any grouping (``138 1234 5678``, ``1381 234 5678``,
  ``138.1234.5678``), optionally after ``+86``/``0086``/``86``; shown as ``138****5678``.
- resident ID: 18 characters (17 digits, then a digit or X) or the old 15 digits, whose birth
  date is a real month and day (an X ending is enough on its own), unbroken or grouped 6-8-4.
  Shown as ``110105********1234``.
- bank card: 13-19 digits starting with 3, 4, 5, 6 or 9 (the card networks' first digits; dates,
  timestamps and most order numbers start otherwise), unbroken or grouped with a first group of
  4 or 6 digits, Luhn-valid or not; unless the words just before name it an order, contract or
  tracking number. Shown as ``****1234`` (``**** **** **** 1234`` when grouped in fours).
- e-mail: ``name@domain.tld``; shown as ``n***@domain.tld``.

Amounts (30000, 1.5万, 20w, 1,000,000), dates (2026-11-29), scores, rates and order numbers are
left alone. Logs are masked after percent-decoding URL-encoded parts (query strings), so
``%2B86%20138...`` is caught too.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import unquote_plus

_D = "0-9０-９"
_SEP = r"[ \-.\u3000－]"
_PHONE = re.compile(
    rf"(?<![{_D}])(?P<prefix>(?:(?:[+＋]|00)\s?)?86[ \-]?)?"
    rf"(?P<number>[1１][3-9３-９](?:{_SEP}?[{_D}]){{9}})(?![{_D}])"
)
_LONG_RUN = re.compile(
    rf"(?<![{_D}])[{_D}](?:{_SEP}?[{_D}]){{12,18}}(?:{_SEP}?[XxＸ])?(?![{_D}XxＸ])"
)
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9][A-Za-z0-9._%+-]*)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
)
_ENCODED = re.compile(r"\S*%[0-9A-Fa-f]{2}\S*")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘ", "0123456789X")
_CARD_FIRST_DIGITS = frozenset("34569")
_NOT_A_CARD_CONTEXT = re.compile(
    r"(订单|单号|流水号|编号|合同号?|运单|快递|工单|交易号|凭证号|发票|order|invoice|ref|tracking)"
    r"[^\d０-９]{0,6}$",
    re.IGNORECASE,
)


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum used by bank cards."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _groups(run: str) -> tuple[list[str], set[str]]:
    """The digit groups of a run and the separators between them."""
    return re.split(_SEP, run), set(re.findall(_SEP, run))


def _well_grouped(separators: set[str], count: int) -> bool:
    """Dots group a number only when every separator is a dot and there are at least two."""
    return "." not in separators or (separators == {"."} and count >= 2)


def _plausible_birth_date(month: str, day: str) -> bool:
    return 1 <= int(month) <= 12 and 1 <= int(day) <= 31


def _looks_like_id(number: str) -> bool:
    if number[0] == "0" or not number[:-1].isdigit():
        return False  # region codes start at 1
    if len(number) == 18:
        if number[-1] in "Xx":
            return True
        return number[6:8] in {"19", "20"} and _plausible_birth_date(number[10:12], number[12:14])
    return len(number) == 15 and _plausible_birth_date(number[8:10], number[10:12])


def _mask_long_run(match: re.Match[str]) -> str:
    run = match.group(0)
    groups, separators = _groups(run)
    plain = "".join(groups)
    number = plain.translate(_FULL_WIDTH)
    grouped = len(groups) > 1
    if len(number) in {15, 18} and _looks_like_id(number):
        if not grouped or [len(g) for g in groups][:2] == [6, 8]:
            return number[:6] + "*" * (len(number) - 10) + plain[-4:]
    if not number.isdigit() or number[0] not in _CARD_FIRST_DIGITS:
        return run
    if grouped and (len(groups[0]) not in {4, 6} or not _well_grouped(separators, len(groups) - 1)):
        return run
    if _NOT_A_CARD_CONTEXT.search(match.string[max(0, match.start() - 16) : match.start()]):
        return run
    if grouped and len(separators) == 1 and all(len(g) == 4 for g in groups[:-1]):
        return separators.pop().join(["****"] * 3 + [plain[-4:]])
    return "****" + plain[-4:]


def _mask_phone(match: re.Match[str]) -> str:
    groups, separators = _groups(match.group("number"))
    if not _well_grouped(separators, len(groups) - 1):
        return match.group(0)
    digits = "".join(groups)
    return f"{match.group('prefix') or ''}{digits[:3]}****{digits[-4:]}"


def _mask_email(match: re.Match[str]) -> str:
    return f"{match.group(1)[0]}***@{match.group(2)}"


def mask_pii(text: str) -> str:
    """``text`` with phone, resident-ID, bank-card numbers and e-mail addresses masked."""
    if "@" in text:
        text = _EMAIL.sub(_mask_email, text)
    if not any(char.isdigit() for char in text):
        return text
    text = _LONG_RUN.sub(_mask_long_run, text)
    return _PHONE.sub(_mask_phone, text)


def mask_pii_in(value: Any) -> Any:
    """Every string inside ``value`` (dicts, lists, tuples) passed through ``mask_pii``."""
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, dict):
        return {key: mask_pii_in(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_pii_in(item) for item in value]
    return value


def mask_log_text(text: str) -> str:
    """``mask_pii`` for log lines: URL-encoded parts are decoded first, then masked."""
    if "%" in text:
        text = _ENCODED.sub(lambda match: unquote_plus(match.group(0)), text)
    return mask_pii(text)


class PiiLogFilter(logging.Filter):
    """A handler filter that masks PII in a record's message, arguments and traceback text."""

    @staticmethod
    def _keep_args(record: logging.LogRecord) -> bool:
        # uvicorn's access formatter unpacks record.args; keep them as a tuple there
        return record.name.startswith("uvicorn.access")

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place and let it through.

        Formatters that read ``record.args`` themselves (uvicorn's access log expects its
        5-tuple) keep their structure: string arguments are masked one by one, numbers that
        could be a phone, ID or card number are masked as text. Otherwise the message is
        formatted first, so a number passed with ``%d`` is masked too.
        """
        if isinstance(record.args, tuple) and record.args and self._keep_args(record):
            record.msg = mask_log_text(str(record.msg))
            record.args = tuple(
                mask_log_text(a)
                if isinstance(a, str)
                else (mask_pii(str(a)) if isinstance(a, int) and len(str(a)) >= 11 else a)
                for a in record.args
            )
        else:
            try:
                message = record.getMessage()
            except (TypeError, ValueError):  # arguments that do not fit the format: mask as text
                message = f"{record.msg} {record.args!r}"
            record.msg, record.args = mask_log_text(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_log_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_log_text(record.stack_info)
        return True
