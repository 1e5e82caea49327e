"""``Engine``: the knowledge bundle and the components built from it, handed to every stage."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from knowledge.index import Chunk, Hit

from .acts import ActReader
from .classify import MeaningModel
from .compose import Composer
from .diagnose import Diagnoser
from .followup import ReplayCache
from .guard import Guard
from .knowledge import Knowledge
from .recommend import Recommender
from .respond import Responder
from .retriever import Mode, Retriever
from .understand import Understander

if TYPE_CHECKING:
    from .llm_compose import LLMComposer


class LazyRetriever:
    """A retriever opened on first use (building the index may take a minute)."""

    def __init__(self, open_retriever: Callable[[], Retriever]) -> None:
        self._open = open_retriever
        self._lock = threading.Lock()
        self._retriever: Retriever | None = None

    @property
    def retriever(self) -> Retriever:
        """The opened retriever (opened once, even when the first requests come together)."""
        if self._retriever is None:
            with self._lock:
                if self._retriever is None:
                    self._retriever = self._open()
        return self._retriever

    def search(
        self, query: str, k: int = 5, *, mode: Mode = "hybrid", dense_query: str | None = None
    ) -> list[Hit]:
        """The ``k`` best chunks for ``query`` (the dense ranking on ``dense_query``, if given)."""
        return self.retriever.search(query, k, mode=mode, dense_query=dense_query)

    def best_chunk_per_doc(self, query: str) -> dict[str, Chunk]:
        """Each document's best chunk for ``query``."""
        return self.retriever.best_chunk_per_doc(query)


@dataclass(frozen=True)
class Engine:
    """What stages read besides the context: data, components, retriever, optional LLM."""

    knowledge: Knowledge
    understander: Understander
    diagnoser: Diagnoser
    recommender: Recommender
    guard: Guard
    composer: Composer
    retriever: Retriever
    acts: ActReader
    responder: Responder
    llm: LLMComposer | None = None
    llm_extract_timeout: float = 10.0
    meaning: MeaningModel | None = None
    turn_budget: float = 10.0
    """Seconds a turn may spend before optional stages and the LLM are skipped."""
    replays: ReplayCache = field(default_factory=ReplayCache)
    """The follow-up search's replays already computed (``bot.followup.ReplayCache``)."""

    @classmethod
    def build(
        cls,
        knowledge: Knowledge,
        retriever: Retriever,
        llm: LLMComposer | None = None,
        llm_extract_timeout: float = 10.0,
        meaning: MeaningModel | None = None,
        turn_budget: float = 10.0,
    ) -> Engine:
        """The components for ``knowledge``."""
        rules = knowledge.rules
        return cls(
            knowledge=knowledge,
            understander=Understander(rules.understanding, rules.policy),
            diagnoser=Diagnoser(rules.diagnosis, knowledge.taxonomy),
            recommender=Recommender(
                rules.recommend, rules.policy, knowledge.catalog, knowledge.taxonomy
            ),
            guard=Guard(rules.guard, rules.policy),
            composer=Composer(knowledge),
            retriever=retriever,
            acts=ActReader(rules.understanding),
            responder=Responder(knowledge),
            llm=llm,
            llm_extract_timeout=llm_extract_timeout,
            meaning=meaning,
            turn_budget=turn_budget,
        )
