"""Sessions in one SQLite table (WAL); a lock row per session holds it for a whole turn.

Rows older than the TTL count as absent (and are deleted when a new session is written); past
``max_sessions`` the least recently written sessions are forgotten.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.errors import SessionError

from ..profile import Dialogue, Profile
from ..session_bounds import prune_sqlite, sqlite_cutoff
from .base import (
    CORRUPT_SESSION,
    HOLD_SECONDS,
    HOLD_WAIT_SECONDS,
    SESSION_BUSY,
    SQLITE_FAILED,
    SessionState,
    check_session_id,
    one_line,
    split_legacy_profile,
    stored_state,
)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS sessions (session_id TEXT PRIMARY KEY, profile TEXT NOT NULL,"
    " turns TEXT NOT NULL, updated_at TEXT NOT NULL, dialogue TEXT NOT NULL DEFAULT '{}')",
    "CREATE INDEX IF NOT EXISTS sessions_updated_at ON sessions (updated_at)",
    "CREATE TABLE IF NOT EXISTS session_holds (session_id TEXT PRIMARY KEY, owner TEXT NOT NULL,"
    " expires REAL NOT NULL)",
)


class SQLiteSessionStore:
    """Sessions in SQLite; one connection shared by threads behind a lock."""

    def __init__(
        self,
        path: Path | str,
        busy_timeout_seconds: float = 10.0,
        hold_wait_seconds: float = HOLD_WAIT_SECONDS,
        ttl_seconds: int | None = None,
        max_sessions: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.ttl_seconds, self.max_sessions = ttl_seconds or None, max_sessions
        self.hold_wait_seconds = hold_wait_seconds
        self._lock = threading.RLock()
        with self._errors():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path,
                timeout=busy_timeout_seconds,
                check_same_thread=False,
                isolation_level=None,  # transactions are explicit: BEGIN IMMEDIATE ... COMMIT
            )
            try:
                self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_seconds * 1000)}")
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")  # WAL keeps this crash-safe
                for statement in _SCHEMA:
                    self._conn.execute(statement)
                self._migrate()
            except BaseException:
                self._conn.close()
                raise

    def _migrate(self) -> None:
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(sessions)")}
        if "dialogue" not in columns:  # a store written before dialogue state had its column
            self._conn.execute(
                "ALTER TABLE sessions ADD COLUMN dialogue TEXT NOT NULL DEFAULT '{}'"
            )

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            raise SessionError(SQLITE_FAILED.format(path=self.path, detail=one_line(exc))) from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken up front so read-modify-write cannot interleave."""
        with self._lock, self._errors():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def _cutoff(self) -> str:
        return sqlite_cutoff(self.ttl_seconds)

    def _prune(self, conn: sqlite3.Connection) -> None:
        prune_sqlite(conn, self.ttl_seconds, self.max_sessions)

    def _select(self, conn: sqlite3.Connection, session_id: str) -> SessionState:
        row = conn.execute(
            "SELECT profile, turns, updated_at, dialogue FROM sessions WHERE session_id = ?"
            " AND updated_at >= ?",
            (session_id, self._cutoff()),
        ).fetchone()
        if row is None:
            return SessionState(session_id=session_id)
        try:
            profile, legacy = split_legacy_profile(json.loads(row[0]))
            return SessionState(
                session_id=session_id,
                profile=Profile.model_validate(profile),
                dialogue=Dialogue.model_validate({**legacy, **json.loads(row[3])}),
                turns=json.loads(row[1]),
                updated_at=row[2],
            )
        except (ValidationError, ValueError, TypeError) as exc:
            raise SessionError(CORRUPT_SESSION.format(session_id=session_id)) from exc

    def _write(self, conn: sqlite3.Connection, state: SessionState) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO sessions (session_id, profile, turns, updated_at, dialogue)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                state.session_id,
                state.profile.model_dump_json(),
                json.dumps(state.turns, ensure_ascii=False),
                state.updated_at,
                state.dialogue.model_dump_json(),
            ),
        )

    def load(self, session_id: str) -> SessionState:
        """The stored session, or a fresh empty one when the id is unknown."""
        check_session_id(session_id)
        with self._lock, self._errors():
            return self._select(self._conn, session_id)

    def save(self, state: SessionState) -> None:
        """Store ``state`` whole (masked, capped, stamped now), replacing what was there."""
        stored = stored_state(state.session_id, state.profile, state.turns, state.dialogue)
        with self._transaction() as conn:
            is_new = not self._select(conn, stored.session_id).updated_at
            self._write(conn, stored)
            if is_new:
                self._prune(conn)

    def append_turns(
        self,
        session_id: str,
        profile: Profile,
        turns: Sequence[dict[str, Any]],
        dialogue: Dialogue | None = None,
    ) -> SessionState:
        """Atomically set the profile (and dialogue) and append turns; the stored session."""
        fresh = stored_state(session_id, profile, turns)
        with self._transaction() as conn:
            current = self._select(conn, session_id)
            stored = stored_state(session_id, fresh.profile, [*current.turns, *fresh.turns],
                                  dialogue or current.dialogue)  # fmt: skip
            self._write(conn, stored)
            if not current.updated_at:
                self._prune(conn)
        return stored

    @contextmanager
    def hold(self, session_id: str) -> Iterator[None]:
        """Hold the session for one turn through a lock row (other processes wait for it)."""
        check_session_id(session_id)
        owner = uuid.uuid4().hex
        deadline = time.monotonic() + self.hold_wait_seconds
        while not self._try_hold(session_id, owner):
            if time.monotonic() > deadline:
                raise SessionError(SESSION_BUSY.format(session_id=session_id))
            time.sleep(random.uniform(0.002, 0.01))
        try:
            yield
        finally:
            with self._transaction() as conn:
                conn.execute(
                    "DELETE FROM session_holds WHERE session_id = ? AND owner = ?",
                    (session_id, owner),
                )

    def _try_hold(self, session_id: str, owner: str) -> bool:
        with self._transaction() as conn:
            now = time.time()
            conn.execute(
                "DELETE FROM session_holds WHERE session_id = ? AND expires < ?", (session_id, now)
            )
            cursor = conn.execute(
                "INSERT OR IGNORE INTO session_holds (session_id, owner, expires) VALUES (?, ?, ?)",
                (session_id, owner, now + HOLD_SECONDS),
            )
            return cursor.rowcount == 1

    def delete(self, session_id: str) -> bool:
        """Forget a session; whether it existed."""
        check_session_id(session_id)
        with self._transaction() as conn:
            cursor = conn.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))
        return cursor.rowcount > 0

    def exists(self, session_id: str) -> bool:
        """Whether a session is stored."""
        check_session_id(session_id)
        with self._lock, self._errors():
            query = "SELECT 1 FROM sessions WHERE session_id = ? AND updated_at >= ?"
            row = self._conn.execute(query, (session_id, self._cutoff())).fetchone()
            return row is not None

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
