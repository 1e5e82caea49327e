"""What every session store shares: the state, the interface, masking, capping, messages."""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, model_validator

from core.errors import InputError

from ..pii import mask_pii
from ..profile import Dialogue, Profile

MAX_TURNS = 200
DEFAULT_TTL_SECONDS = 30 * 24 * 3600
REDIS_KEY_PREFIX = "finadvisor:session:"
_SESSION_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_ROLES = {"user", "assistant"}
_WATCH_RETRIES = 200
HOLD_SECONDS = 60.0
"""A turn's hold on its session lapses after this long (a crashed holder frees it)."""
HOLD_WAIT_SECONDS = 30.0
"""How long a turn waits for another turn on the same session to finish."""

INVALID_SESSION_ID = (
    "A session id must be 1-64 characters of letters, digits, '_', '.', ':' or '-'."
)
INVALID_TURN = "Each turn needs a role of 'user' or 'assistant' and a text string."
INVALID_TTL = (
    "The ttl in FINADVISOR_SESSION_URL must be whole seconds (0 for none), e.g. ?ttl=86400."
)
REDIS_UNREACHABLE = (
    "Cannot reach the Redis session store at {url}; start Redis or unset FINADVISOR_SESSION_URL."
)
REDIS_AUTH = "The Redis session store at {url} refused the login; fix the credentials in FINADVISOR_SESSION_URL."
REDIS_FAILED = "The Redis session store at {url} failed ({detail}); check that server or unset FINADVISOR_SESSION_URL."
REDIS_CONTENDED = "Session {session_id} is being changed by too many writers at once; try again."
SQLITE_FAILED = "The SQLite session store at {path} cannot be used ({detail}); move that file away or set FINADVISOR_SESSION_URL to another path."
SESSION_BUSY = (
    "Session {session_id} is busy with another message; wait for its reply and send again."
)
CORRUPT_SESSION = "Session {session_id} holds unreadable data in the session store; delete that session to start it afresh."


class SessionState(BaseModel):
    """One conversation: the user's facts, the dialogue state and the turns, oldest first."""

    session_id: str
    profile: Profile = Profile()
    dialogue: Dialogue = Dialogue()
    turns: list[dict[str, Any]] = []
    updated_at: str = ""

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        """Sessions stored before the split kept ``asked``/``skipped`` in the profile."""
        if isinstance(data, dict) and isinstance(data.get("profile"), dict):
            profile, dialogue = split_legacy_profile(data["profile"])
            data = {**data, "profile": profile}
            data.setdefault("dialogue", dialogue)
        return data


def split_legacy_profile(profile: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A stored profile without the dialogue fields it once held, and those fields."""
    dialogue: dict[str, Any] = {k: profile[k] for k in ("asked", "skipped") if k in profile}
    return {k: v for k, v in profile.items() if k not in dialogue}, dialogue


@runtime_checkable
class SessionStore(Protocol):
    """Where sessions live; every method masks, validates and caps as described in the module."""

    def load(self, session_id: str) -> SessionState:
        """The stored session, or a fresh empty one when the id is unknown."""

    def save(self, state: SessionState) -> None:
        """Store ``state`` whole, replacing what was there."""

    def append_turns(
        self,
        session_id: str,
        profile: Profile,
        turns: Sequence[dict[str, Any]],
        dialogue: Dialogue | None = None,
    ) -> SessionState:
        """Atomically set the profile (and dialogue) and append turns; the stored session."""

    def hold(self, session_id: str) -> AbstractContextManager[None]:
        """Hold the session for one whole turn: other holders (any process) wait their turn."""

    def delete(self, session_id: str) -> bool:
        """Forget a session; whether it existed."""

    def exists(self, session_id: str) -> bool:
        """Whether a session is stored."""

    def close(self) -> None:
        """Release connections."""


def check_session_id(session_id: str) -> str:
    """``session_id`` if it is 1-64 of ``[A-Za-z0-9_.:-]``; otherwise an ``InputError``."""
    if not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id):
        raise InputError(INVALID_SESSION_ID)
    return session_id


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _masked(value: Any) -> Any:
    """Every string inside ``value`` (dicts, lists, tuples) passed through ``mask_pii``."""
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


def _turn(turn: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(turn, dict) or turn.get("role") not in _ROLES:
        raise InputError(INVALID_TURN)
    if not isinstance(turn.get("text"), str):
        raise InputError(INVALID_TURN)
    return {**turn, "at": turn.get("at") or _now()}


def stored_state(
    session_id: str,
    profile: Profile,
    turns: Sequence[dict[str, Any]],
    dialogue: Dialogue | None = None,
) -> SessionState:
    """The state as it may be written: masked, capped and stamped."""
    masked_profile = Profile.model_validate(_masked(profile.model_dump()))
    masked_turns = [_masked(_turn(turn)) for turn in turns][-MAX_TURNS:]
    return SessionState(
        session_id=check_session_id(session_id),
        profile=masked_profile,
        dialogue=dialogue or Dialogue(),
        turns=masked_turns,
        updated_at=_now(),
    )


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
