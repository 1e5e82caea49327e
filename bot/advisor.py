"""``Advisor``: the one entry point every interface calls (design.md, "One path for every turn")."""

from __future__ import annotations

import logging
import re
import uuid
from functools import cached_property
from typing import Any

from core.errors import EmptyInputError, InputTooLongError
from core.settings import Settings, get_settings
from knowledge import load_catalog, load_documents, load_taxonomy
from knowledge.index import SearchIndex

from . import messages
from .compose import Citations, Composer, Passage
from .diagnose import Diagnoser
from .followup import choose_follow_up, missing_fields
from .guard import Guard
from .llm import load_chat_model, resolve_llm
from .llm_compose import LLMComposer
from .pii import PiiLogFilter
from .profile import Profile
from .recommend import Recommender
from .sessions import SessionStore, open_session_store
from .turn import Citation, Turn
from .understand import Understander, Understanding

log = logging.getLogger(__name__)
log.addFilter(PiiLogFilter())
_CJK = re.compile(r"[\u4e00-\u9fff]")


class Advisor:
    """Understands, diagnoses, recommends, guards and composes one turn at a time."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        store: SessionStore | None = None,
        index: SearchIndex | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        knowledge_dir = self.settings.knowledge_dir
        self.taxonomy = load_taxonomy(knowledge_dir)
        self.catalog = load_catalog(knowledge_dir)
        self.understander = Understander(knowledge_dir)
        self.diagnoser = Diagnoser(knowledge_dir, self.taxonomy)
        self.recommender = Recommender(knowledge_dir, self.catalog, self.taxonomy)
        self.guard = Guard(knowledge_dir)
        self.composer = Composer(self.settings.prompts_dir, self.taxonomy, self.catalog)
        self._store = store
        self._index = index
        if self.settings.llm:
            resolve_llm(self.settings.llm)  # fail at start-up, not mid-conversation
        self.documents = {d.id: d for d in load_documents(self.settings.docs_dir)}

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

    # ---- entry points ------------------------------------------------------------------------

    def reply(self, session_id: str | None, text: str) -> Turn:
        """Answer one message in a conversation; the session keeps profile and turns."""
        text = self._checked(text)
        session_id = session_id or uuid.uuid4().hex
        state = self.store.load(session_id)
        turn = self._turn(text, state.profile)
        turn.session_id = session_id
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
        )  # fmt: skip
        log.info("turn session=%s intent=%s reasons=%s", session_id, turn.intent,
                 [r.code for r in turn.reasons])  # fmt: skip
        return turn

    def diagnose(self, text: str) -> Turn:
        """A one-shot diagnosis without a session (the ``diagnose`` contract)."""
        return self._turn(self._checked(text), Profile())

    def profile(self, session_id: str) -> Profile:
        """The profile stored for a session."""
        return self.store.load(session_id).profile

    def reset(self, session_id: str) -> bool:
        """Forget a session."""
        return self.store.delete(session_id)

    # ---- the path ----------------------------------------------------------------------------

    def _checked(self, text: str) -> str:
        lang = "en" if re.search(r"[A-Za-z]", text or "") and not _CJK.search(text) else "zh"
        if not text or not text.strip():
            raise EmptyInputError(messages.EMPTY_MESSAGE[lang])
        limit = self.settings.max_message_chars
        if len(text) > limit:
            raise InputTooLongError(messages.MESSAGE_TOO_LONG[lang].format(limit=limit))
        return text.strip()

    def _turn(self, text: str, previous: Profile) -> Turn:
        understanding = self.understander.understand(text)
        self._llm_extract(text, understanding, previous)
        if previous.asked:
            self.understander.answer_pending(previous.asked[-1], text, understanding)
        lang = understanding.lang
        profile = self._merge(previous, understanding)
        turn = Turn(intent=understanding.intent, lang=lang, profile=profile)  # type: ignore[arg-type]
        resolve = self._resolver(text)
        citations = Citations(resolve)
        if understanding.intent == "out_of_scope" or (
            understanding.intent == "small_talk" and not understanding.substantive_facts
        ):
            key = "out_of_scope" if understanding.intent == "out_of_scope" else (
                "thanks" if any(w in text.lower() for w in ("谢", "thank")) else "greeting")  # fmt: skip
            turn.reply = self.composer.text(lang, key)
            return turn
        reasons = self.diagnoser.diagnose(profile, profile.hints, lang)
        for reason in reasons:
            doc = self.diagnoser.advice.get(reason.code, {}).get("doc")
            if doc:
                reason.citations = [resolve(doc).anchor]
        recommendations = self.recommender.recommend(profile, reasons, lang)
        guard = self.guard.check(text, understanding, profile, lang)
        if guard.refusal_kind is not None:
            recommendations = [r for r in recommendations if r.channel == "credit_improvement"]
        for rec in recommendations:
            rec.citations = [resolve(rec.citations[0]).anchor]
        follow_up = None
        if understanding.intent in {"diagnose", "find_financing"} and guard.refusal is None:
            follow_up = choose_follow_up(self.diagnoser, self.recommender, profile, lang)
            if follow_up is not None:
                profile = profile.model_copy(update={"asked": [*profile.asked, follow_up.field]})
        passages = self._passages(text) if understanding.intent == "ask_product" else None
        lead = guard.refusal
        if understanding.skip and previous.asked:
            lead = self.composer.text(lang, "skip_ack")
        if understanding.intent == "ask_product" and not passages:
            lead = self.composer.text(lang, "not_covered")
        show_diagnosis = understanding.intent in {"diagnose", "find_financing", "unsafe"} or any(
            value is not None
            for value in (
                profile.symptom,
                profile.need_amount,
                profile.need_purpose,
                profile.borrowing_to_repay,
            )
        )
        turn.profile = profile
        turn.reasons = reasons if show_diagnosis else []
        turn.recommendations = recommendations if show_diagnosis or guard.refusal else []
        turn.warnings = guard.warnings
        turn.follow_up = follow_up
        turn.missing = missing_fields(self.diagnoser, profile)
        turn.apr = guard.apr.as_dict() if guard.apr else None
        draft = self.composer.compose(
            lang,
            citations,
            reasons=turn.reasons,
            possible_only=bool(turn.reasons)
            and all(self.diagnoser.is_possibility(r) for r in turn.reasons),
            recommendations=turn.recommendations,
            warnings=turn.warnings,
            follow_up=follow_up,
            apr=guard.apr,
            apr_asked=understanding.intent == "compute_cost",
            passages=passages,
            lead=lead,
            lenders_allowed=self.recommender.lenders_allowed(profile)
            and profile.overdue != "current",
        )
        turn.citations = citations.items
        body = draft
        if self.llm is not None:
            snippets = [p.text for p in passages or []]
            body, outcome = self.llm.compose(text, turn, draft, snippets)
            turn.llm = {"used": outcome.used, "attempts": outcome.attempts,
                        "violations": outcome.violations, "error": outcome.error}  # fmt: skip
        tail = self.composer.tail(lang, citations, bool(turn.reasons or turn.recommendations))
        turn.reply = "\n\n".join(part for part in (body, tail) if part)
        return turn

    def _llm_extract(self, text: str, understanding: Understanding, previous: Profile) -> None:
        """Let the LLM fill key facts the rules missed; facts the rules found always win."""
        key = ("segment", "platform", "symptom", "need_purpose")
        if self.llm is None or understanding.intent in {"small_talk", "out_of_scope", "unsafe"}:
            return
        known = {**previous.known(), **understanding.facts}
        if all(k in known for k in key) or len(text) < 6:
            return
        timeout = min(self.settings.llm_timeout, self.settings.llm_deadline / 2)
        for name, value in self.llm.extract(text, timeout=timeout).items():
            if name not in understanding.facts and previous.known().get(name) is None:
                understanding.set(name, value, f"（模型理解）{text}")

    def _merge(self, previous: Profile, understanding: Understanding) -> Profile:
        facts = dict(understanding.facts)
        skipped = list(previous.skipped)
        if understanding.skip and previous.asked and previous.asked[-1] not in skipped:
            skipped.append(previous.asked[-1])
        profile = previous.merged(
            facts,
            understanding.evidence,
            understanding.hints,
            retracted=self.understander.retracted(facts),
        )
        return profile.model_copy(update={"skipped": skipped})

    # ---- citations -------------------------------------------------------------------------

    def _resolver(self, query: str) -> Any:
        best: dict[str, Any] = {}

        def resolve(doc_id: str) -> Citation:
            if not best:
                best.update(self.index.best_chunk_per_doc(query))
            doc = self.documents.get(doc_id)
            title, updated = (doc.title, doc.meta.updated.isoformat()) if doc else (doc_id, "")
            chunk = best.get(doc_id)
            heading = chunk.heading if chunk is not None else self._first_heading(doc_id)
            return Citation(n=0, doc_id=doc_id, heading=heading, title=title, updated=updated)

        return resolve

    def _first_heading(self, doc_id: str) -> str:
        for chunk in self.index.chunks:
            if chunk.doc_id == doc_id:
                return chunk.heading
        doc = self.documents.get(doc_id)
        return doc.title if doc else doc_id

    def _passages(self, text: str) -> list[Passage]:
        hits = self.index.search(text, 3)
        lexical = {h.chunk.chunk_id for h in self.index.search(text, 10, mode="bm25")}
        return [
            Passage(h.chunk.doc_id, h.chunk.heading, h.chunk.title, h.chunk.text, h.chunk.updated)
            for h in hits
            if h.chunk.chunk_id in lexical
        ]
