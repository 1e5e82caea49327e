"""What every chat adapter shares: keyed session ids, redelivery dedup, answering through the advisor.

Delivery ids (a redelivered event, a replayed signature) are remembered in the app's shared
state (``api.shared_state``), so a delivery is handled once across every worker and restart.
An id is marked when the delivery is accepted, before its reply is computed: the platform got
its 200 then and does not redeliver, so a failed reply is logged, not retried.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Protocol

from fastapi import APIRouter, Request, Response

from bot.advisor import Advisor
from bot.session_keys import SessionKeys
from bot.turn import Turn
from core.errors import InputError, StateError

from ..body import BodyProblem
from ..errors import STORAGE_UNAVAILABLE, error
from ..request_context import ContextThreadPool
from ..schemas import checked_text
from ..shared_state import SeenIds, SharedState
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
        try:
            return adapter.handle(await request.body(), request.headers)
        except BodyProblem as problem:
            return error(problem.status, problem.message)
        except StateError as exc:  # not marked as received: the platform will redeliver it
            log.error("webhook delivery not accepted: %s", exc)
            return error(503, STORAGE_UNAVAILABLE)

    return webhook


_LOCK_STRIPES = 64


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


class Conversations:
    """Answers chat messages through the advisor, one turn at a time per session."""

    def __init__(self, advisor: AdvisorSource, keys: SessionKeys, state: SharedState) -> None:
        self._advisor = advisor
        self._keys = keys
        self._state = state
        # Turns of one session must not interleave: each reads the profile the previous one wrote.
        self._locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]

    @property
    def advisor(self) -> Advisor:
        """The app's advisor."""
        return self._advisor()

    def seen_ids(self, namespace: str, ttl_seconds: float, capacity: int = 100_000) -> SeenIds:
        """The shared memory of ``namespace``'s delivery ids (kept ``ttl_seconds`` each)."""
        return self._state.seen_ids(namespace, ttl_seconds, capacity)

    def session_id(self, platform: str, *parts: str) -> str:
        """The advisor session of a platform conversation, keyed with the server's secret."""
        return self._keys.keyed(platform, *parts)

    def answer(self, session_id: str, text: str) -> Turn:
        """The advisor's turn for ``text``; a failure becomes a turn whose reply says what to do."""
        stripe = int(hashlib.sha256(session_id.encode("utf-8")).hexdigest(), 16) % _LOCK_STRIPES
        try:
            checked_text(text)
        except ValueError as exc:
            return Turn(session_id=session_id, reply=str(exc))
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
        self._executor = ContextThreadPool(max_workers=workers, thread_name_prefix=name)

    def run(self, work: Callable[[], None]) -> None:
        """Start ``work`` on a worker thread and return immediately."""
        self._executor.submit(self._logged, work)

    @staticmethod
    def _logged(work: Callable[[], None]) -> None:
        try:
            work()
        except Exception:
            log.exception("a chat reply failed in the background")
