"""Conversation quality on scripted multi-turn sets (``finadvisor eval conversation``).

Each conversation runs turn by turn through ``Advisor.reply`` in a fresh session. Per set:

- answer present: of the questions with expected words (``answer_should_mention``, any of),
  the share whose reply *opens* with one of them (within ``HEAD_CHARS`` of the body), and, apart,
  the share that has one anywhere in the body;
- repetition: the median similarity of consecutive reply bodies (difflib ratio; a summary turn
  is not compared, it is meant to repeat) and the share of pairs above 0.9;
- length: median and 90th percentile of the body before the sources;
- English purity: in English conversations, the share of letters that are not Chinese, and the
  share of replies with no Chinese character at all;
- fact accuracy per turn: each fact a turn states is read right in the profile after that turn.
"""

from __future__ import annotations

import re
import statistics
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from .advisor import Advisor
from .evaluation import _same

HEAD_CHARS = 300
"""How much of a reply body counts as its opening (about the first screen on a phone)."""
SOURCES = re.compile(r"\n\s*\*\*(来源|Sources)\*\*")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")

Act = Literal["gives_facts", "corrects", "asks", "summary", "skip", "small_talk", "out_of_scope"]


class ScriptedTurn(BaseModel):
    """One user message of a script and what a good advisor does with it."""

    model_config = ConfigDict(extra="forbid")

    user: str = Field(min_length=1)
    act: Act
    question: str | None = None
    expect_facts: dict[str, Any] = {}
    answer_should_mention: list[str] = []


class Conversation(BaseModel):
    """A scripted conversation."""

    model_config = ConfigDict(extra="forbid")

    id: str
    lang: Literal["zh", "en"]
    persona: str = ""
    turns: list[ScriptedTurn] = Field(min_length=1)


def load_conversations(path: Path) -> list[Conversation]:
    """Load a conversation set from YAML."""
    return [Conversation.model_validate(c) for c in yaml.safe_load(path.read_text("utf-8"))]


def body(reply: str) -> str:
    """The reply without its source list and disclaimer."""
    match = SOURCES.search(reply)
    return (reply[: match.start()] if match else reply).strip()


def english_share(text: str) -> float:
    """The share of letters in ``text`` that are not Chinese characters (1.0 with no letters)."""
    cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
    return 1.0 if cjk + latin == 0 else latin / (cjk + latin)


def _mentions(text: str, words: list[str]) -> bool:
    lowered = text.lower()
    return any(word.lower() in lowered for word in words)


@dataclass
class ConversationScores:
    """The figures ``finadvisor eval conversation`` prints; failures per metric."""

    conversations: int = 0
    turns: int = 0
    answer_first: float = 0.0
    answer_anywhere: float = 0.0
    questions: int = 0
    median_similarity: float = 0.0
    repeated_share: float = 0.0
    median_chars: float = 0.0
    p90_chars: float = 0.0
    english_purity: float = 0.0
    english_clean: float = 0.0
    english_replies: int = 0
    fact_accuracy: float = 0.0
    facts: int = 0
    failures: dict[str, list[str]] = field(default_factory=dict)


def evaluate_conversations(
    advisor: Advisor,
    conversations: list[Conversation],
    on_conversation: Callable[[], None] | None = None,
) -> ConversationScores:
    """Run every conversation through ``Advisor.reply`` and score it."""
    scores = ConversationScores(conversations=len(conversations))
    failures: dict[str, list[str]] = {"answer": [], "facts": [], "english": []}
    first = anywhere = questions = facts_right = facts = 0
    similarities: list[float] = []
    lengths: list[int] = []
    purity: list[float] = []
    for conversation in conversations:
        session = f"eval-{conversation.id}-{uuid.uuid4().hex[:8]}"
        previous: str | None = None
        for n, scripted in enumerate(conversation.turns, 1):
            where = f"{conversation.id}#{n}"
            turn = advisor.reply(session, scripted.user)
            text = body(turn.reply)
            scores.turns += 1
            lengths.append(len(text))
            if previous is not None and scripted.act != "summary":
                similarities.append(SequenceMatcher(None, previous, text, autojunk=False).ratio())
            previous = text
            if scripted.act == "asks" and scripted.answer_should_mention:
                questions += 1
                opened = _mentions(text[:HEAD_CHARS], scripted.answer_should_mention)
                first += opened
                anywhere += _mentions(text, scripted.answer_should_mention)
                if not opened:
                    failures["answer"].append(where)
            if conversation.lang == "en":
                share = english_share(text)
                purity.append(share)
                if share < 1.0:
                    failures["english"].append(where)
            for name, value in scripted.expect_facts.items():
                facts += 1
                actual = getattr(turn.profile, name, None)
                ok = _same(value, actual)
                facts_right += ok
                if not ok:
                    failures["facts"].append(f"{where}:{name}={actual}")
        advisor.reset(session)
        if on_conversation:
            on_conversation()
    scores.questions = questions
    scores.answer_first = first / max(questions, 1)
    scores.answer_anywhere = anywhere / max(questions, 1)
    scores.median_similarity = statistics.median(similarities) if similarities else 0.0
    scores.repeated_share = sum(s > 0.9 for s in similarities) / max(len(similarities), 1)
    scores.median_chars = statistics.median(lengths) if lengths else 0.0
    scores.p90_chars = _percentile(lengths, 0.9)
    scores.english_replies = len(purity)
    scores.english_purity = statistics.fmean(purity) if purity else 1.0
    scores.english_clean = sum(p == 1.0 for p in purity) / max(len(purity), 1)
    scores.facts = facts
    scores.fact_accuracy = facts_right / max(facts, 1)
    scores.failures = failures
    return scores


def _percentile(values: list[int], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])
