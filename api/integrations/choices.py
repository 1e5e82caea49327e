"""A turn's follow-up choices where an interface shows text: right after the question.

Every choice is the label of one of the turn's options (or its skip label) in the turn's
language; sent back as the next message, the advisor reads it as that option's value.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.turn import Turn

from . import messages


def choices_line(turn: Turn, choice: Callable[[str], str] = str) -> str:
    """ "可以直接回复：A / B / 跳过" in the turn's language ('' without a follow-up).

    ``choice`` renders one label (a link on DingTalk, say); plain text by default.
    """
    if turn.follow_up is None:
        return ""
    labels = turn.follow_up.choices(turn.lang)
    separator = messages.CHOICE_SEPARATOR[turn.lang]
    return messages.REPLY_CHOICES[turn.lang] + separator.join(choice(label) for label in labels)


def with_choices(turn: Turn, line: str | None = None) -> str:
    """The reply with the choices line after the block asking the follow-up question.

    When no block holds the question (an LLM reworded it) the line goes before the sources.
    """
    line = choices_line(turn) if line is None else line
    if turn.follow_up is None or not line:
        return turn.reply
    blocks = turn.reply.split("\n\n")
    at = next((n + 1 for n, b in enumerate(blocks) if turn.follow_up.question in b), None)
    if at is None:
        sources = (n for n, b in enumerate(blocks)
                   if any(f"[{c.n}] {c.title}" in b for c in turn.citations))  # fmt: skip
        at = next(sources, len(blocks))
    return "\n\n".join([*blocks[:at], line, *blocks[at:]])
