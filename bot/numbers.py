"""Numbers as users write them: 六百出头, 月入八千, 1.5万, 三十万, 20w, 百来万, 3k, 十几次, 七八家."""

from __future__ import annotations

import re

import cn2an

_CN_DIGITS = "零〇一二两三四五六七八九十百千万亿"
# one number token: arabic or chinese digits, optional unit, optional approximation suffix
NUMBER = (
    r"(?:[0-9]+(?:\.[0-9]+)?|[零〇一二两三四五六七八九十百千万亿点]+)"
    r"(?:\s*[wWkK万千百亿](?![a-zA-Z]))?"
    r"(?:来|多|出头|左右|几|把)?(?:[万千百])?"
)
_NUMBER_RE = re.compile(NUMBER)
_UNITS = {"w": 10_000, "W": 10_000, "k": 1_000, "K": 1_000, "万": 10_000, "千": 1_000,
          "百": 100, "亿": 100_000_000}  # fmt: skip
_FUZZY = {
    "十几": 15, "几十": 50, "几百": 500, "几千": 5000, "几万": 50000, "十来": 10, "百来": 100,
    "千来": 1000, "万把": 10000, "百把": 100, "千把": 1000,
}  # fmt: skip
_PAIRS = re.compile(r"^([一二两三四五六七八九])([一二两三四五六七八九])$")


def parse_number(token: str) -> float | None:
    """The value of one number token, or None. Approximations take their round value."""
    text = token.strip().replace(",", "").replace(" ", "")
    if not text:
        return None
    for suffix in ("出头", "左右", "来", "多", "把"):
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
            break
    multiplier = 1.0
    while text and text[-1] in _UNITS and not (len(text) == 1):
        unit = text[-1]
        # "三十万": cn2an handles chinese units itself; only peel units after arabic digits
        if (
            re.search(r"[0-9]$", text[:-1])
            or text[:-1] in _FUZZY
            or text[:-1].endswith(("来", "几", "把"))
        ):
            multiplier *= _UNITS[unit]
            text = text[:-1]
        else:
            break
    for fuzzy, value in _FUZZY.items():
        if text == fuzzy:
            return value * multiplier
        if text.startswith(fuzzy) and text[len(fuzzy) :] in _UNITS:
            return value * _UNITS[text[len(fuzzy) :]] * multiplier
    pair = _PAIRS.match(text)
    if pair:  # 七八家 -> the larger of the two
        return float(cn2an.cn2an(pair.group(2), "smart")) * multiplier
    if text in {"百", "千", "万"}:
        return _UNITS[text] * multiplier
    if text.startswith(("百", "千")) and text[1:] in {"万"}:
        return _UNITS[text[0]] * _UNITS[text[1]] * multiplier
    try:
        if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", text):
            number = float(text)
        else:
            number = float(cn2an.cn2an(text, "smart"))
    except (ValueError, KeyError, TypeError):
        return None
    return number * multiplier


def numbers_in(text: str) -> list[tuple[float, int, int]]:
    """Every number in ``text`` as (value, start, end)."""
    found = []
    for match in _NUMBER_RE.finditer(text):
        token = match.group(0)
        if not any(ch.isdigit() or ch in _CN_DIGITS for ch in token):
            continue
        value = parse_number(token)
        if value is not None:
            found.append((value, match.start(), match.end()))
    return found
