"""Masking of phone, resident-ID and bank-card numbers before anything is stored or logged.

What counts as each (digits never run on into neighbouring digits):

- phone: 11 digits ``1[3-9]xxxxxxxxx``, optionally grouped 3-4-4 by spaces or dashes and
  optionally after ``+86``/``0086``/``86``; shown as ``138****5678``.
- resident ID: 18 characters (17 digits, then a digit or X) or the old 15 digits, whose birth
  date is a real month and day; an X ending is enough on its own. Shown as
  ``110105********1234``.
- bank card: a 16-19 digit run that passes the Luhn check (shown as ``****1234``), or digits
  printed in card groups of four (``6222 0212 3456 7890``; shown as ``**** **** **** 7890``),
  which nothing but a card number looks like.

Amounts (30000, 1.5万, 20w), dates (2026-11-29), scores and rates are left alone.
"""

from __future__ import annotations

import logging
import re

_PHONE = re.compile(
    r"(?<![\d+])(?P<prefix>(?:\+86|0086|86)[ -]?)?"
    r"(?P<head>1[3-9]\d)[ -]?(?P<mid>\d{4})[ -]?(?P<tail>\d{4})(?!\d)"
)
_DIGIT_RUN = re.compile(r"(?<!\d)(?:\d{17}[Xx]|\d{15,19})(?![\dXx])")
_GROUPED_ID = re.compile(r"(?<!\d)(\d{6})([ -])(\d{8})\2(\d{3}[\dXx])(?![\dXx])")
_GROUPED_CARD = re.compile(r"(?<!\d)\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?(?!\d)")


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum used by bank cards."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _plausible_birth_date(month: str, day: str) -> bool:
    return 1 <= int(month) <= 12 and 1 <= int(day) <= 31


def _looks_like_id(number: str) -> bool:
    if number[0] == "0":
        return False  # region codes start at 1
    if len(number) == 18:
        if number[-1] in "Xx":
            return True
        return number[6:8] in {"19", "20"} and _plausible_birth_date(number[10:12], number[12:14])
    return len(number) == 15 and _plausible_birth_date(number[8:10], number[10:12])


def _mask_id(number: str) -> str:
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def _mask_run(match: re.Match[str]) -> str:
    number = match.group(0)
    if len(number) in {15, 18} and _looks_like_id(number):
        return _mask_id(number)
    if 16 <= len(number) <= 19 and number.isdigit() and luhn_valid(number):
        return "****" + number[-4:]
    return number


def _mask_grouped_id(match: re.Match[str]) -> str:
    number = match.group(1) + match.group(3) + match.group(4)
    return _mask_id(number) if _looks_like_id(number) else match.group(0)


def _mask_grouped_card(match: re.Match[str]) -> str:
    separator = match.group(1)
    digits = match.group(0).replace(separator, "")
    return separator.join(["****", "****", "****", digits[-4:]])


def _mask_phone(match: re.Match[str]) -> str:
    return f"{match.group('prefix') or ''}{match.group('head')}****{match.group('tail')}"


def mask_pii(text: str) -> str:
    """``text`` with phone, resident-ID and bank-card numbers masked; everything else unchanged."""
    if not any(char.isdigit() for char in text):
        return text
    text = _DIGIT_RUN.sub(_mask_run, text)
    text = _GROUPED_ID.sub(_mask_grouped_id, text)
    text = _GROUPED_CARD.sub(_mask_grouped_card, text)
    return _PHONE.sub(_mask_phone, text)


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
            record.msg = mask_pii(str(record.msg))
            record.args = tuple(
                mask_pii(a)
                if isinstance(a, str)
                else (mask_pii(str(a)) if isinstance(a, int) and len(str(a)) >= 11 else a)
                for a in record.args
            )
        else:
            try:
                message = record.getMessage()
            except (
                TypeError,
                ValueError,
            ):  # arguments that do not fit the format: mask both as text
                message = f"{record.msg} {record.args!r}"
            record.msg, record.args = mask_pii(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_pii(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_pii(record.stack_info)
        return True
