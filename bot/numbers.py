"""Numbers as users write them: 六百出头, 月入八千, 1.5万, 三十万, 20w, 百来万, 3k, 十几次, 七八家,
and in English: 20k, 1.5 million, two hundred thousand, twenty-five.

Approximations take a round value: 十几 -> 15, 六百出头 -> 600, 二十来万 -> 200000. A range of
two digits keeps the larger bare (七八 -> 8, the convention the tests pin) and the lower bound
with a unit (四五千 -> 4000: money is never overstated).
"""

from __future__ import annotations

import re
from functools import lru_cache

import cn2an

_CN_DIGITS = "零〇一二两三四五六七八九十百千万亿"
_EN_SMALL = {
    word: n
    for n, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen".split()
    )
} | {word: 10 * n for n, word in enumerate("twenty thirty forty fifty sixty seventy eighty "
                                            "ninety".split(), 2)}  # fmt: skip
_EN_SCALE = {"hundred": 100, "thousand": 1_000, "grand": 1_000, "million": 1_000_000,
             "mn": 1_000_000, "billion": 1_000_000_000, "bn": 1_000_000_000}  # fmt: skip
_EN_WORD = "(?:" + "|".join(sorted([*_EN_SMALL, "hundred", "thousand", "million", "billion"],
                                   key=len, reverse=True)) + ")"  # fmt: skip
EN_WORDS = rf"(?i:\b{_EN_WORD}(?:(?:\s+and\s+|[\s-]+){_EN_WORD})*\b)"
"""English number words: 'two hundred thousand', 'twenty-five', 'one million'."""
# one number token: arabic, chinese or english digits, optional unit, optional approximation
NUMBER = (
    rf"(?:[0-9]{{1,12}}(?:\.[0-9]{{1,4}})?(?:\s*(?i:million|thousand|billion|grand|mn|bn)\b)?"
    rf"|{EN_WORDS}|[零〇一二两三四五六七八九十百千万亿点]{{1,12}})"
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
_SUFFIXES = ("出头", "左右", "来", "多", "把")
_PAIRS = re.compile(r"^([一二两三四五六七八九])([一二两三四五六七八九])$")
_PAIR_UNIT = re.compile(r"^([一二两三四五六七八九])[一二两三四五六七八九]([十百千万]{1,2})$")
_ARABIC_TAIL = re.compile(r"^([0-9]{1,4})([万千])([0-9])$")  # 1万2 -> 12000
_ARABIC = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,6})?")
_LATIN = re.compile(r"[a-zA-Z]")
_PRONOUN_ONE = re.compile(r"\b(?:each|this|that|which|the|any|every|another|no|some|a)\s+$",
                          re.IGNORECASE)  # fmt: skip
_EN_FIGURE = re.compile(r"^([0-9]{1,15}(?:\.[0-9]{1,6})?)\s*([a-z]+)?$")


def english_number(text: str) -> float | None:
    """'20k', '1.5 million', 'two hundred thousand', 'twenty-five'; None when not a number."""
    words = text.lower().replace(",", "").replace("-", " ").split()
    figure = _EN_FIGURE.match(" ".join(words))
    if figure:
        scale = figure.group(2)
        if scale is None:
            return float(figure.group(1))
        factor = {"k": 1_000, "w": 10_000, **_EN_SCALE}.get(scale)
        return float(figure.group(1)) * factor if factor else None
    total = current = 0
    seen = False
    for word in words:
        if word == "and" and seen:
            continue
        if word in _EN_SMALL:
            current += _EN_SMALL[word]
        elif word == "hundred":
            current = (current or 1) * 100
        elif word in _EN_SCALE:
            total += (current or 1) * _EN_SCALE[word]
            current = 0
        else:
            return None
        seen = True
    return float(total + current) if seen else None


def _strip_suffix(text: str) -> str:
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


def _peel_units(text: str) -> tuple[str, float]:
    """``text`` without trailing magnitude units after digits or approximations, and their value."""
    multiplier = 1.0
    while len(text) > 1 and text[-1] in _UNITS:
        head = text[:-1]
        # "三十万": cn2an handles chinese units itself; only peel units after arabic digits
        if head[-1].isdigit() or head in _FUZZY or head.endswith(("来", "几", "把", "多")):
            multiplier *= _UNITS[text[-1]]
            text = _strip_suffix(head)
        else:
            break
    return text, multiplier


def _special(text: str) -> float | None:
    """Forms cn2an does not read: fuzzy words, digit pairs, 1万2, bare 百/千/万."""
    for fuzzy, value in _FUZZY.items():
        if text == fuzzy:
            return value
        if text.startswith(fuzzy) and text[len(fuzzy) :] in _UNITS:
            return value * _UNITS[text[len(fuzzy) :]]
    pair = _PAIRS.match(text)
    if pair:  # 七八家 -> the lower bound, as 四五千 and 七八万: what the text states for sure
        return float(cn2an.cn2an(pair.group(1), "smart"))
    ranged = _PAIR_UNIT.match(text)
    if ranged:  # 四五千 -> the lower bound
        unit = 1.0
        for ch in ranged.group(2):
            unit *= 10 if ch == "十" else _UNITS[ch]
        return float(cn2an.cn2an(ranged.group(1), "smart")) * unit
    if len(text) > 2 and text.endswith("十几"):  # 二十几 -> 25, as 十几 -> 15
        head = parse_number(text[:-1])
        return None if head is None else head + 5
    tail = _ARABIC_TAIL.match(text)
    if tail:
        big = _UNITS[tail.group(2)]
        return float(tail.group(1)) * big + float(tail.group(3)) * big / 10
    if text in {"百", "千", "万"}:
        return _UNITS[text]
    if text.startswith(("百", "千")) and text[1:] in {"万"}:
        return _UNITS[text[0]] * _UNITS[text[1]]
    return None


@lru_cache(maxsize=8192)
def parse_number(token: str) -> float | None:
    """The value of one number token, or None. Approximations take their round value."""
    if _LATIN.search(token) and token.isascii():
        return english_number(token.strip())
    text = _strip_suffix(token.strip().replace(",", "").replace(" ", ""))
    if not text or len(text) > 24:
        return None
    text, multiplier = _peel_units(text)
    special = _special(text)
    if special is not None:
        return special * multiplier
    try:
        if _ARABIC.fullmatch(text):
            number = float(text)
        else:
            number = float(cn2an.cn2an(text, "smart"))
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    return number * multiplier


def numbers_in(text: str) -> list[tuple[float, int, int]]:
    """Every number in ``text`` as (value, start, end); "one" after a determiner ("each one",
    "this one") is a pronoun, not a number."""
    found = []
    for match in _NUMBER_RE.finditer(text):
        token = match.group(0)
        if token.lower() == "one" and _PRONOUN_ONE.search(text[: match.start()]):
            continue
        if not any(ch.isdigit() or ch in _CN_DIGITS or ch.isascii() and ch.isalpha()
                   for ch in token):  # fmt: skip
            continue
        value = parse_number(token)
        if value is not None:
            found.append((value, match.start(), match.end()))
    return found
