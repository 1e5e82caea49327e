"""Feishu message cards (JSON 1.0) for one advisor turn, and the follow-up's buttons.

The reply goes out as Markdown cards; the follow-up question comes last, in a card of its own
whose ``action`` element holds one button per choice (skip last). A button's ``value`` carries
what the click needs and nothing the advisor does not already know: the session the turn
belongs to, the question's field, the choice's label (sent back as the person's answer) and the
question with its language, so the card can be redrawn as "已选择：<label>" once it is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.turn import Turn

from . import messages
from .conversation import split_text

CARD_TEXT_LIMIT = 6000  # characters per card; a card must stay under Feishu's 30 KB
BUTTON_TEXT_LIMIT = 40
MAX_BUTTONS = 10
MAX_VALUE_TEXT = 600
"""The longest question or choice a button value may carry back (a click is refused beyond)."""

Card = dict[str, Any]


def _card(*elements: dict[str, Any]) -> Card:
    # update_multi: the card is shared, so a redraw after a click shows to everyone in the chat
    return {"config": {"wide_screen_mode": True, "update_multi": True}, "elements": list(elements)}


def _markdown(content: str) -> dict[str, Any]:
    return {"tag": "markdown", "content": content}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def turn_cards(turn: Turn) -> list[Card]:
    """The cards of a turn: the reply in pieces, then the question with its buttons."""
    if turn.follow_up is None:
        return [_card(_markdown(p)) for p in split_text(turn.reply, CARD_TEXT_LIMIT)]
    blocks = turn.reply.split("\n\n")
    asked = next((b for b in blocks if turn.follow_up.question in b), turn.follow_up.question)
    rest = "\n\n".join(b for b in blocks if b is not asked)
    cards = [_card(_markdown(p)) for p in split_text(rest, CARD_TEXT_LIMIT)]
    return [*cards, _card(_markdown(_cut(asked, CARD_TEXT_LIMIT)), choice_buttons(turn))]


def choice_buttons(turn: Turn) -> dict[str, Any]:
    """An ``action`` element with one button per follow-up choice in the turn's language."""
    assert turn.follow_up is not None
    question = _cut(turn.follow_up.question, MAX_VALUE_TEXT)
    labels = turn.follow_up.choices(turn.lang)[:MAX_BUTTONS]
    buttons = [
        {
            "tag": "button",
            "text": {"tag": "plain_text", "content": _cut(label, BUTTON_TEXT_LIMIT)},
            "type": "default" if n == len(labels) - 1 else "primary",
            "value": {
                "session": turn.session_id,
                "field": turn.follow_up.field,
                "choice": label,
                "question": question,
                "lang": turn.lang,
            },  # fmt: skip
        }
        for n, label in enumerate(labels)
    ]
    return {"tag": "action", "actions": buttons}


@dataclass(frozen=True)
class Choice:
    """What a pressed button carries back (``ChoiceProblem`` when it is not one of ours)."""

    session: str
    field: str
    label: str
    question: str
    lang: str

    def used_card(self) -> Card:
        """The question's card redrawn without its buttons: the question and what was chosen."""
        chosen = messages.CHOSEN[self.lang].format(label=self.label)
        return _card(_markdown(self.question), _markdown(chosen))


class ChoiceProblem(ValueError):
    """A card action that is not a press of one of the advisor's follow-up buttons."""


def read_choice(value: object) -> Choice:
    """The choice a button's ``value`` carries; ``ChoiceProblem`` for anything else."""
    if not isinstance(value, dict):
        raise ChoiceProblem(messages.NOT_A_CHOICE)
    fields = {key: value.get(key) for key in ("session", "field", "choice", "question", "lang")}
    if not all(isinstance(v, str) and v for v in fields.values()):
        raise ChoiceProblem(messages.NOT_A_CHOICE)
    texts: dict[str, str] = {k: str(v) for k, v in fields.items()}
    if any(len(v) > MAX_VALUE_TEXT for v in texts.values()):
        raise ChoiceProblem(messages.CHOICE_TOO_LONG.format(limit=MAX_VALUE_TEXT))
    lang = "en" if texts["lang"] == "en" else "zh"
    return Choice(texts["session"], texts["field"], texts["choice"], texts["question"], lang)
