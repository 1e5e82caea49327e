"""``Advisor``: the one entry point every interface calls (design.md, "One path for every turn").

``reply`` checks the input, holds the session for the whole turn (across processes), loads it,
runs ``bot.pipeline.PIPELINE`` and saves the result. Everything else is in the stages.
"""

from __future__ import annotations

import logging
import uuid
from functools import cached_property

from core.errors import EmptyInputError, InputTooLongError
from core.settings import Settings, get_settings
from knowledge.index import SearchIndex

from . import messages
from .classify import load_meaning_model
from .context import TurnContext
from .engine import Engine, LazyRetriever
from .knowledge import Knowledge, load_knowledge
from .llm import load_chat_model, resolve_llm
from .llm_compose import LLMComposer
from .observe import TurnObserver, llm_fallback
from .pii import PiiLogFilter
from .pipeline import run, to_turn
from .profile import Profile
from .retriever import Retriever
from .sessions import SessionStore, open_session_store
from .turn import Turn
from .understand import language

log = logging.getLogger(__name__)
log.addFilter(PiiLogFilter())


class Advisor:
    """Understands, diagnoses, recommends, guards and composes one turn at a time."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        store: SessionStore | None = None,
        index: SearchIndex | None = None,
        retriever: Retriever | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.knowledge: Knowledge = load_knowledge(
            self.settings.knowledge_dir.resolve(), self.settings.prompts_dir.resolve()
        )
        self._store = store
        self._index = index
        self._retriever = retriever
        if self.settings.llm:
            resolve_llm(self.settings.llm)  # fail at start-up, not mid-conversation
        self.documents = self.knowledge.documents
        self.catalog = self.knowledge.catalog
        self.taxonomy = self.knowledge.taxonomy
        self.observer: TurnObserver | None = None
        """Told of every stage's duration and every answered turn (the API's metrics)."""

    @cached_property
    def llm(self) -> LLMComposer | None:
        """The LLM composer when ``FINADVISOR_LLM`` is set (model created on first use)."""
        model = load_chat_model(self.settings)
        if model is None:
            return None
        return LLMComposer(model, self.settings.prompts_dir, self.catalog, self.taxonomy,
                           deadline=self.settings.llm_deadline,
                           catalog_dir=self.settings.knowledge_dir)  # fmt: skip

    @cached_property
    def store(self) -> SessionStore:
        """The session store (opened on first use)."""
        return self._store or open_session_store(self.settings)

    @cached_property
    def index(self) -> SearchIndex:
        """The search index (built on first use when missing)."""
        return self._index or SearchIndex.open(self.settings)

    @cached_property
    def engine(self) -> Engine:
        """The stages' components (the index and the LLM are opened on first use)."""
        timeout = min(self.settings.llm_timeout, self.settings.llm_deadline / 2)
        retriever = self._retriever or LazyRetriever(lambda: self.index)
        meaning = None
        if self.settings.meaning_models:
            training = self.settings.knowledge_dir / "training"
            meaning = load_meaning_model(training, self.settings.meaning_cache_dir)
        return Engine.build(self.knowledge, retriever, self.llm, llm_extract_timeout=timeout,
                            meaning=meaning, turn_budget=self.settings.turn_budget)  # fmt: skip

    # ---- entry points ------------------------------------------------------------------------

    def reply(self, session_id: str | None, text: str) -> Turn:
        """Answer one message in a conversation; the session keeps profile and turns."""
        text = self._checked(text)
        session_id = session_id or uuid.uuid4().hex
        with self.store.hold(session_id):
            state = self.store.load(session_id)
            start = TurnContext(text=text, previous=state.profile, dialogue_before=state.dialogue)
            ctx = run(start, self.engine, observer=self.observer)
            turn = to_turn(ctx, session_id)
            self.store.append_turns(
                session_id,
                turn.profile,
                [
                    {"role": "user", "text": text},
                    {"role": "assistant", "text": turn.reply, "intent": turn.intent,
                     "reasons": [r.code for r in turn.reasons],
                     "recommendations": [r.product for r in turn.recommendations],
                     "warnings": [w.code for w in turn.warnings],
                     "follow_up": turn.follow_up.field if turn.follow_up else None},
                ],
                dialogue=turn.dialogue,
            )  # fmt: skip
        self._observe(ctx)
        log.info("turn session=%s intent=%s reasons=%s", session_id, turn.intent,
                 [r.code for r in turn.reasons])  # fmt: skip
        return turn

    def diagnose(self, text: str) -> Turn:
        """A one-shot diagnosis without a session (the ``diagnose`` contract)."""
        ctx = run(TurnContext(text=self._checked(text)), self.engine, observer=self.observer)
        self._observe(ctx)
        return to_turn(ctx)

    def profile(self, session_id: str) -> Profile:
        """The profile stored for a session."""
        return self.store.load(session_id).profile

    def reset(self, session_id: str) -> bool:
        """Forget a session."""
        return self.store.delete(session_id)

    def _observe(self, ctx: TurnContext) -> None:
        if self.observer is not None:
            fallback = llm_fallback(ctx, self.engine.llm is not None)
            self.observer.turn_finished(ctx.understanding.intent, fallback)

    def _checked(self, text: str) -> str:
        lang = language(text or "") or "zh"
        if not text or not text.strip():
            raise EmptyInputError(messages.EMPTY_MESSAGE[lang])
        limit = self.settings.max_message_chars
        if len(text) > limit:
            raise InputTooLongError(messages.MESSAGE_TOO_LONG[lang].format(limit=limit))
        return text.strip()
