"""finadvisor's conversation engine. The public API is what this module exports.

    from bot import Advisor
    turn = Advisor().reply(None, "借呗有入口没额度，芝麻分620")
    turn.reasons, turn.recommendations, turn.warnings, turn.follow_up, turn.reply

``Advisor.reply`` runs one turn through ``bot.pipeline.PIPELINE`` (see README, "How it works");
``Turn`` is the structured result every interface renders; ``Profile`` is what is known about the
user and ``Dialogue`` where the conversation stands. Errors are those of ``core.errors``.
"""

from core.errors import (
    ConfigError,
    EmptyInputError,
    FinadvisorError,
    IndexMismatchError,
    InputError,
    InputTooLongError,
    KnowledgeError,
    KnowledgeInvalidError,
    RetrievalError,
    SessionError,
    UnknownBackendError,
)

from .advisor import Advisor
from .context import TurnContext
from .engine import Engine
from .knowledge import Knowledge, load_knowledge
from .pipeline import PIPELINE, Stage, run
from .profile import Dialogue, Profile
from .retriever import Retriever
from .turn import Citation, FollowUp, Label, Option, Reason, Recommendation, Turn, Warning

__all__ = [
    "PIPELINE",
    "Advisor",
    "Citation",
    "ConfigError",
    "Dialogue",
    "EmptyInputError",
    "Engine",
    "FinadvisorError",
    "FollowUp",
    "IndexMismatchError",
    "InputError",
    "InputTooLongError",
    "Knowledge",
    "Label",
    "KnowledgeError",
    "KnowledgeInvalidError",
    "Option",
    "Profile",
    "Reason",
    "Recommendation",
    "RetrievalError",
    "Retriever",
    "SessionError",
    "Stage",
    "Turn",
    "TurnContext",
    "UnknownBackendError",
    "Warning",
    "load_knowledge",
    "run",
]
