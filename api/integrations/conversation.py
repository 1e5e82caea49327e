"""What every chat adapter shares: session ids, redelivery dedup and answering through the advisor."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from fastapi import APIRouter, Request, Response

from bot.advisor import Advisor
from bot.turn import Turn
from core.errors import InputError

from . import messages

log = logging.getLogger("api.integrations")

AdvisorSource = Callable[[], Advisor]
"""Returns the app's advisor at call time (it is created in the app's lifespan)."""


class WebhookAdapter(Protocol):
    """An adapter that answers one raw webhook request."""

    def handle(self, body: bytes, headers: Mapping[str, str]) -> Response:
        """The HTTP answer to one delivery (work on the reply happens after it)."""
        ...


def webhook_router(path: str, adapter: WebhookAdapter) -> APIRouter:
    """A router with one POST route that hands the raw request to ``adapter``."""
    webhook = APIRouter(tags=["integrations"])

    @webhook.post(path, include_in_schema=False)
    async def receive(request: Request) -> Response:
        return adapter.handle(await request.body(), request.headers)

    return webhook


_SESSION_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]")
_LOCK_STRIPES = 64


def chat_session_id(*parts: str) -> str:
    """A valid advisor session id for a chat conversation; unsafe or long ids get a hash."""
    raw = "-".join(parts)
    if _SESSION_ID.fullmatch(raw):
        return raw
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:40]
    return f"{_UNSAFE.sub('_', raw)[:23]}-{digest}"


def split_text(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at line ends where possible."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            pieces.append(current)
            current = ""
        current += line
    if current:
        pieces.append(current)
    return [piece.strip("\n") for piece in pieces if piece.strip()]


class RecentIds:
    """A bounded, thread-safe memory of ids already seen (oldest forgotten first)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, key: str) -> bool:
        """Remember ``key``; True only the first time it is offered."""
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return False
            self._seen[key] = None
            if len(self._seen) > self.capacity:
                self._seen.popitem(last=False)
            return True


class Conversations:
    """Answers chat messages through the advisor, one turn at a time per session."""

    def __init__(self, advisor: AdvisorSource) -> None:
        self._advisor = advisor
        # Turns of one session must not interleave: each reads the profile the previous one wrote.
        self._locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]

    @property
    def advisor(self) -> Advisor:
        """The app's advisor."""
        return self._advisor()

    def answer(self, session_id: str, text: str) -> Turn:
        """The advisor's turn for ``text``; a failure becomes a turn whose reply says what to do."""
        stripe = int(hashlib.sha256(session_id.encode("utf-8")).hexdigest(), 16) % _LOCK_STRIPES
        with self._locks[stripe]:
            try:
                return self.advisor.reply(session_id, text)
            except InputError as exc:
                return Turn(session_id=session_id, reply=str(exc))
            except Exception:
                log.exception("chat turn failed for session %s", session_id)
                return Turn(session_id=session_id, reply=messages.FAILED)

    def reset(self, session_id: str) -> None:
        """Forget a session."""
        self.advisor.reset(session_id)

    def label(self, section: str, code: str, lang: str) -> str:
        """The taxonomy label of a code (e.g. a channel) in the turn's language."""
        return self.advisor.taxonomy.label(section, code, lang)


class Background:
    """Runs replies on worker threads so a webhook is answered at once; failures are logged."""

    def __init__(self, name: str, workers: int = 8) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)

    def run(self, work: Callable[[], None]) -> None:
        """Start ``work`` on a worker thread and return immediately."""
        self._executor.submit(self._logged, work)

    @staticmethod
    def _logged(work: Callable[[], None]) -> None:
        try:
            work()
        except Exception:
            log.exception("a chat reply failed in the background")
