"""Slack Block Kit for one advisor turn: the reply as mrkdwn sections, recommendations, sources,
and the follow-up's choices as buttons (each button's value is the label it sends back)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot.turn import Recommendation, Turn

from . import messages
from .conversation import split_text

SECTION_LIMIT = 3000  # characters in one section's text (Block Kit limit)
CONTEXT_LIMIT = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_BLOCKS = 50
MAX_RECOMMENDATIONS = 10
FALLBACK_LIMIT = 3000
BUTTON_TEXT_LIMIT = 75
MAX_BUTTONS = 25
CHOICE_ACTION = "follow_up_choice:"
"""The ``action_id`` prefix of a follow-up button (then the choice's number)."""
_BOLD = re.compile(r"\*\*(.+?)\*\*")
# Slack only renders *bold* at word boundaries; a zero-width space makes one next to Chinese text.
_ZWSP = "\u200b"

Block = dict[str, Any]


def mrkdwn(markdown: str) -> str:
    """The advisor's Markdown as Slack mrkdwn: ``&<>`` escaped and ``**bold**`` as ``*bold*``."""
    escaped = markdown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BOLD.sub(rf"{_ZWSP}*\1*{_ZWSP}", escaped)


def fallback_text(turn: Turn) -> str:
    """The plain message text Slack shows in notifications (the reply, shortened)."""
    text = mrkdwn(turn.reply)
    return text if len(text) <= FALLBACK_LIMIT else text[: FALLBACK_LIMIT - 1] + "…"


def turn_blocks(turn: Turn, channel_label: Callable[[str], str]) -> list[Block]:
    """The blocks of a turn: reply sections, one section per recommendation, a sources context,
    the follow-up's buttons."""
    labels = messages.RECOMMENDATION_LABELS[turn.lang]
    recommendations = [
        _section(_recommendation_text(rec, rec.channel_label or channel_label(rec.channel), labels))
        for rec in turn.recommendations[:MAX_RECOMMENDATIONS]
    ]
    sources = _sources(turn, labels["sources"])
    choices = choice_buttons(turn)
    room = MAX_BLOCKS - len(recommendations) - len(sources) - len(choices)
    reply = [_section(piece) for piece in split_text(mrkdwn(turn.reply), SECTION_LIMIT)][:room]
    return [*reply, *recommendations, *sources, *choices]


def choice_buttons(turn: Turn) -> list[Block]:
    """An actions block with one button per follow-up choice (skip last), labelled in the
    turn's language; a click sends the label back as the person's answer."""
    if turn.follow_up is None:
        return []
    buttons = [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": _cut(label, BUTTON_TEXT_LIMIT), "emoji": False},
            "value": label,
            "action_id": f"{CHOICE_ACTION}{n}",
        }
        for n, label in enumerate(turn.follow_up.choices(turn.lang)[:MAX_BUTTONS])
    ]
    return [
        {"type": "actions", "block_id": f"follow_up:{turn.follow_up.field}", "elements": buttons}
    ]


def used_blocks(blocks: list[Block], block_id: str, label: str, lang: str) -> list[Block]:
    """A message's blocks once a follow-up button was pressed: its buttons replaced by
    "已选择：<label>" ("Chosen: <label>"), every other block as it was."""
    chosen = messages.CHOSEN[lang].format(label=_cut(label, BUTTON_TEXT_LIMIT))
    note: Block = {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn(chosen)}]}
    return [
        note if block.get("type") == "actions" and block.get("block_id") == block_id else block
        for block in blocks
        if isinstance(block, dict)
    ]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str) -> Block:
    if len(text) > SECTION_LIMIT:
        text = text[: SECTION_LIMIT - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _recommendation_text(rec: Recommendation, channel: str, labels: dict[str, str]) -> str:
    details = [channel, labels["apr"] + rec.apr]
    if rec.speed:
        details.append(labels["speed"] + rec.speed)
    return f"*{mrkdwn(rec.title)}*\n{mrkdwn(labels['separator'].join(details))}"


def _sources(turn: Turn, heading: str) -> list[Block]:
    if not turn.citations:
        return []
    text = heading + "\n" + "\n".join(mrkdwn(c.anchor) for c in turn.citations)
    elements = [
        {"type": "mrkdwn", "text": piece}
        for piece in split_text(text, CONTEXT_LIMIT)[:MAX_CONTEXT_ELEMENTS]
    ]
    return [{"type": "context", "elements": elements}]
