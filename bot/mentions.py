"""Number mentions: every number in a message found once, with its unit and kind.

A mention is a number token (arabic, chinese, mixed: 20w, 1.5万, 一万五, 二十来万, 四五千, 30k,
2 million, 5 grand) plus the unit written after it, which gives its kind:

- ``money``    元/块/万/w/k/千/亿/万元, "30k", "2 million", "5 grand"
- ``count``    家/个/平台/口子/次/张/笔, "lenders", "platforms", "apps", "times"
- ``score``    分, "points"
- ``duration`` 天/个月/月/年/周, "days", "months", "years"
- ``rate``     %/个点/厘, 日息/月息/年化 …, 万五 (日息万五), 百分之/万分之
- ``age``      岁/周岁, "years old"
- ``year``     a calendar year (2023年)
- ``bare``     no unit: 月入8000, 芝麻分650 (its role comes from the cue words alone)

The scan is one compiled regex with bounded quantifiers and look-behinds that stop it from
restarting inside a run of digits, so it costs time linear in the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .numbers import EN_WORDS, parse_number

__all__ = ["Mention", "find_mentions", "masked", "sentences"]

_CN = "零〇一二两三四五六七八九十百千万亿"
_NUM = (
    r"(?P<num>(?<![0-9.])[0-9]{1,12}(?:\.[0-9]{1,4})?(?![0-9])(?:[万千][0-9](?![0-9]))?"
    rf"|(?<![{_CN}几第])[{_CN}几]{{1,10}}"
    r"|半(?=\s?(?:年|个月|个多月|天))"
    rf"|{EN_WORDS})"
    r"(?P<mag>\s?[wWkK](?![a-zA-Z])|\s?[万千百亿])?"
    r"(?P<approx>来|多|出头|左右|几|把)?(?P<mag2>[万千百亿](?![0-9]))?"
)
# unit -> kind; the longest alternatives first (个月 before 个, 万元 before 万)
_UNIT_KINDS: tuple[tuple[str, str], ...] = (
    (r"-?\s?years?[-\s]?olds?|周岁|岁", "age"),
    (r"万元|万块钱?|千块钱?|百块钱?|块钱|元钱?|块|rmb|yuan|dollars?|bucks", "money"),
    (r"million|grand|thousand", "money"),
    (
        r"个多月|个半月|多个月|个月|天|日(?![期子本])|周(?![岁年转末边])|星期|礼拜|年半?(?![级化龄])",
        "duration",
    ),
    (r"月(?![份号底初中供入薪息利还收])", "duration"),
    (r"days?|weeks?|months?|years?|yrs?", "duration"),
    (r"%|％|个点|厘(?!米)|成(?![本都功立交员绩年为了熟型品])", "rate"),
    (r"分(?![期钟之店公行享付红])|points?", "score"),
    (r"个(?!多?半?月)|家|平台|口子|次|张|笔|条|期", "count"),
    (
        r"(?:(?:different|separate|other|more|online)\s)?(?:(?:loan\s)?apps?|lenders?|platforms?)"
        r"|loans?|cards?|times|places|banks?|(?:hard\s)?inquiries",
        "count",
    ),
)
_UNIT = "|".join(f"(?P<k{i}>{pattern})" for i, (pattern, _) in enumerate(_UNIT_KINDS))
# an English unit ends at a word's end ("5 yuan", not "5 yuanx"); a Chinese one may run into
# English ("五个app")
_MENTION = re.compile(
    rf"(?P<cur>[$¥￥])?{_NUM}(?:\s{{0,2}}(?:{_UNIT})(?:(?<=[a-z])(?![a-z])|(?<![a-z])))?",
    re.IGNORECASE,
)
_RATE = re.compile(
    r"(?:日息|日利率|月息|月利率|年化|年利率|利率|利息)[^0-9零一二两三四五六七八九十，,。]{0,3}"
    r"(?:万分之|千分之|百分之|万|千)?[0-9零一二两三四五六七八九十.]{1,6}(?:%|％|个点|厘)?"
    r"|(?:万分之|千分之|百分之)[0-9零一二两三四五六七八九十.]{1,6}"
)
_BIG = re.compile(r"[千万亿]")
_ADJECTIVE = re.compile(r"^(?:different|separate|other|more|online)\s")  # 5 different apps
_SCALE = {"million": 1e6, "grand": 1e3, "thousand": 1e3}
_SENTENCE = re.compile(r"[。！!？?；;\n]+|\.(?=\s|$)")  # an English full stop, not 1.5
# a space between two Chinese characters is a comma in forum and chat writing ("开不了 后来才发现…")
_CLAUSE = re.compile(
    r"[，,、：:（）()]+|\s[-–—]\s|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])|(?=但是|可是|不过|但)"
)


@dataclass(frozen=True)
class Mention:
    """One number in a clause: value, unit as written, kind, span in the clause."""

    value: float
    unit: str
    kind: str
    start: int
    end: int
    text: str


def sentences(text: str) -> list[list[str]]:
    """``text`` (lower-cased) cut into sentences, each a list of clauses (cut at commas)."""
    found = []
    for sentence in _SENTENCE.split(text.lower()):
        clauses = [c.strip() for c in _CLAUSE.split(sentence) if c and c.strip()]
        if clauses:
            found.append(clauses)
    return found


_PIECE = re.compile(f"{_SENTENCE.pattern}|{_CLAUSE.pattern}")


def pieces(text: str) -> list[str]:
    """``text`` cut into clauses as written (case kept), each with the punctuation after it:
    joined again they give ``text`` back, blank pieces aside."""
    found: list[str] = []
    start = 0
    for match in _PIECE.finditer(text):
        if match.end() > start:
            found.append(text[start : match.end()])
            start = match.end()
    found.append(text[start:])
    kept: list[str] = []
    for piece in found:
        if piece.strip() or not kept:
            kept.append(piece)
        else:
            kept[-1] += piece  # blank between two breaks: it stays with the clause before
    return [piece for piece in kept if piece.strip()]


def masked(clause: str, exceptions: Iterable[str]) -> str:
    """``clause`` with each of ``exceptions`` blanked out (same length, so spans hold); an
    exception written ``re:PATTERN`` blanks every match of the pattern."""
    for word in exceptions:
        if word.startswith("re:"):
            clause = re.sub(word[3:], lambda m: "□" * len(m.group()), clause)
        elif word in clause:
            clause = clause.replace(word, "□" * len(word))
    return clause


def _kind(match: re.Match[str]) -> tuple[str, str]:
    for i, (_, kind) in enumerate(_UNIT_KINDS):
        unit = match.group(f"k{i}")
        if unit:
            return _ADJECTIVE.sub("", unit.lower()), kind
    return "", "bare"


def _value(match: re.Match[str], unit: str) -> float | None:
    token = match.group("num") + "".join(match.group(g) or "" for g in ("mag", "approx", "mag2"))
    value = 0.5 if match.group("num") == "半" else parse_number(token)
    if value is None:
        return None
    if unit.endswith("半") or unit == "个半月":
        value += 0.5
    return value * _SCALE.get(unit, 1.0)


def _mention(match: re.Match[str]) -> Mention | None:
    num = match.group("num")
    unit, kind = _kind(match)
    magnitude = (match.group("mag") or "") + (match.group("mag2") or "")
    if kind == "bare" and not magnitude and len(num) == 1 and not num.isdigit():
        return None  # 一直, 三思: a lone chinese digit without a unit is not a number here
    if num.lower() == "one" and kind in {"bare", ""}:
        return None  # "this one", "each one": a pronoun, not a number
    value = _value(match, unit)
    if value is None:
        return None
    if kind == "bare" and (magnitude.strip() or match.group("cur") or _BIG.search(num)):
        kind = "money"
    if kind == "duration" and unit.startswith("年") and num.isdigit() and len(num) == 4:
        kind = "year"
    start, end = match.span()
    return Mention(value, unit, kind, start, end, match.group(0))


def find_mentions(clause: str, exceptions: Iterable[str] = ()) -> list[Mention]:
    """Every number mention in ``clause`` (lower-cased), left to right, each found once.

    ``exceptions`` are words that hold a numeral but no number (一直, 万一, 双十一).
    """
    text = masked(clause, exceptions)
    found: list[Mention] = []
    taken = 0
    for rate in _RATE.finditer(text):
        found.append(Mention(0.0, "rate", "rate", rate.start(), rate.end(), rate.group(0)))
    rates = [(m.start, m.end) for m in found]
    for match in _MENTION.finditer(text):
        if match.start() < taken or any(s <= match.start() < e for s, e in rates):
            continue
        mention = _mention(match)
        if mention is not None:
            found.append(mention)
            taken = mention.end
    return sorted(found, key=lambda m: m.start)
