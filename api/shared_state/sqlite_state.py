"""Shared state in one SQLite file (WAL): every worker on the machine opens the same file.

Each hit and each "first time?" is one ``BEGIN IMMEDIATE`` transaction, so two processes cannot
both count the last allowed hit or both see an id for the first time. Rows carry their own
expiry and are deleted as they lapse; a namespace of delivery ids keeps at most its capacity
(the table's ``seq`` grows by one per insert, so the oldest rows are those with the lowest).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from limits.storage import MovingWindowSupport, Storage

from core.errors import StateError

from . import check_namespace

SQLITE_FAILED = (
    "The shared state file {path} cannot be used ({detail}); move that file away or set"
    " FINADVISOR_STATE_URL to another store."
)
PURGE_EVERY = 512
"""Every this many hits (per process), lapsed hits and counters are deleted in one statement."""

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS rate_hits (key TEXT NOT NULL, at REAL NOT NULL,"
    " expires REAL NOT NULL, cost INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS rate_hits_key ON rate_hits (key, expires)",
    "CREATE INDEX IF NOT EXISTS rate_hits_expires ON rate_hits (expires)",
    "CREATE TABLE IF NOT EXISTS rate_counters (key TEXT PRIMARY KEY, count INTEGER NOT NULL,"
    " expires REAL NOT NULL)",
)


class SQLiteDatabase:
    """One connection to the state file, shared by the process's threads behind a lock."""

    def __init__(self, path: Path, busy_timeout_seconds: float = 10.0) -> None:
        self.path = path
        self._lock = threading.RLock()
        with self._errors():
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                path, timeout=busy_timeout_seconds, check_same_thread=False, isolation_level=None
            )
            try:
                self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_seconds * 1000)}")
                self._wal(busy_timeout_seconds)
                self._conn.execute("PRAGMA synchronous=NORMAL")  # WAL keeps this crash-safe
                for statement in _SCHEMA:
                    self._conn.execute(statement)
            except BaseException:
                self._conn.close()
                raise

    def _wal(self, timeout_seconds: float) -> None:
        """Switch the file to WAL. Processes opening a new file together may find it locked
        without SQLite waiting (the busy timeout does not cover this lock): retry until the
        timeout. The mode is kept in the file, so one switch serves every later opening."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            detail = " ".join(str(exc).split()) or type(exc).__name__
            raise StateError(SQLITE_FAILED.format(path=self.path, detail=detail)) from exc

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken up front so a read-then-write cannot interleave."""
        with self._lock, self._errors():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The connection for reads (each statement sees one committed snapshot)."""
        with self._lock, self._errors():
            yield self._conn

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


class SQLiteRateStorage(Storage, MovingWindowSupport):
    """A ``limits`` storage in SQLite: moving windows as rows of hits, fixed windows as counters."""

    STORAGE_SCHEME = None  # opened through ``api.shared_state``, not ``storage_from_string``

    def __init__(self, database: SQLiteDatabase) -> None:
        super().__init__()
        self.database = database
        self._hits = 0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        """What ``limits`` may wrap (failures are raised as ``StateError`` already)."""
        return StateError

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Count ``amount`` hits on ``key`` unless that makes more than ``limit`` in the window."""
        if amount > limit:
            return False
        now = time.time()
        with self.database.transaction() as conn:
            (used,) = conn.execute(
                "SELECT COALESCE(SUM(cost), 0) FROM rate_hits WHERE key = ? AND expires > ?",
                (key, now),
            ).fetchone()
            if used + amount > limit:
                return False
            conn.execute(
                "INSERT INTO rate_hits (key, at, expires, cost) VALUES (?, ?, ?, ?)",
                (key, now, now + expiry, amount),
            )
            self._hits += 1
            if self._hits % PURGE_EVERY == 0:  # lapsed hits are skipped above, deleted here
                conn.execute("DELETE FROM rate_hits WHERE expires <= ?", (now,))
                conn.execute("DELETE FROM rate_counters WHERE expires <= ?", (now,))
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(time of the oldest hit in the window, hits in the window); (now, 0) when none."""
        now = time.time()
        with self.database.reading() as conn:
            oldest, used = conn.execute(
                "SELECT MIN(at), COALESCE(SUM(cost), 0) FROM rate_hits"
                " WHERE key = ? AND expires > ?",
                (key, now),
            ).fetchone()
        return (float(oldest), int(used)) if oldest is not None else (now, 0)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to a fixed-window counter (a lapsed one starts again); its value."""
        now = time.time()
        with self.database.transaction() as conn:
            conn.execute("DELETE FROM rate_counters WHERE key = ? AND expires <= ?", (key, now))
            conn.execute(
                "INSERT INTO rate_counters (key, count, expires) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET count = count + excluded.count",
                (key, amount, now + expiry),
            )
            (count,) = conn.execute(
                "SELECT count FROM rate_counters WHERE key = ?", (key,)
            ).fetchone()
        return int(count)

    def get(self, key: str) -> int:
        """A fixed-window counter's value (0 when lapsed or unknown)."""
        with self.database.reading() as conn:
            row = conn.execute(
                "SELECT count FROM rate_counters WHERE key = ? AND expires > ?", (key, time.time())
            ).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        """When a fixed-window counter lapses (now when it has)."""
        now = time.time()
        with self.database.reading() as conn:
            row = conn.execute(
                "SELECT expires FROM rate_counters WHERE key = ? AND expires > ?", (key, now)
            ).fetchone()
        return float(row[0]) if row else now

    def check(self) -> bool:
        """Whether the file can be read."""
        try:
            with self.database.reading() as conn:
                conn.execute("SELECT 1").fetchone()
        except StateError:
            return False
        return True

    def reset(self) -> int | None:
        """Forget every hit and counter; how many keys were forgotten."""
        with self.database.transaction() as conn:
            (keys,) = conn.execute(
                "SELECT COUNT(*) FROM (SELECT key FROM rate_hits UNION SELECT key FROM rate_counters)"
            ).fetchone()
            conn.execute("DELETE FROM rate_hits")
            conn.execute("DELETE FROM rate_counters")
        return int(keys)

    def clear(self, key: str) -> None:
        """Forget the hits and counter of ``key``."""
        with self.database.transaction() as conn:
            conn.execute("DELETE FROM rate_hits WHERE key = ?", (key,))
            conn.execute("DELETE FROM rate_counters WHERE key = ?", (key,))


def key_digest(key: str) -> str:
    """A fixed-length stand-in for a delivery key (signatures and ids can be long)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class SQLiteSeenIds:
    """The delivery ids of one namespace, in table ``seen_<namespace>``."""

    def __init__(
        self, database: SQLiteDatabase, namespace: str, ttl_seconds: float, capacity: int
    ) -> None:
        self.database, self.ttl_seconds, self.capacity = database, ttl_seconds, capacity
        self.table = f"seen_{check_namespace(namespace)}"
        with database.transaction() as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                " key TEXT NOT NULL UNIQUE, value TEXT NOT NULL, created REAL NOT NULL)"
            )
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS {self.table}_created ON {self.table} (created)"
            )

    def first_time(self, key: str) -> bool:
        """Remember ``key``; True only the first time any process offers it."""
        return self.remember(key, "") is None

    def remember(self, key: str, value: str) -> str | None:
        """Remember ``value`` under ``key`` unless known; the value remembered before, if any."""
        digest, now = key_digest(key), time.time()
        with self.database.transaction() as conn:
            conn.execute(f"DELETE FROM {self.table} WHERE created <= ?", (now - self.ttl_seconds,))
            inserted = conn.execute(
                f"INSERT OR IGNORE INTO {self.table} (key, value, created) VALUES (?, ?, ?)",
                (digest, value, now),
            )
            if inserted.rowcount == 0:
                row = conn.execute(
                    f"SELECT value FROM {self.table} WHERE key = ?", (digest,)
                ).fetchone()
                return str(row[0])
            newest = int(inserted.lastrowid or 0)
            conn.execute(f"DELETE FROM {self.table} WHERE seq <= ?", (newest - self.capacity,))
        return None


class SQLiteState:
    """Rate-limit counters and delivery ids in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.url = f"sqlite:///{path}"
        self.database = SQLiteDatabase(path)
        self._rate_storage = SQLiteRateStorage(self.database)

    @property
    def rate_storage(self) -> Storage:
        """The ``limits`` storage of the rate-limit counters."""
        return self._rate_storage

    def seen_ids(self, namespace: str, ttl_seconds: float, capacity: int) -> SQLiteSeenIds:
        """The delivery ids of ``namespace``, each kept ``ttl_seconds``, at most ``capacity``."""
        return SQLiteSeenIds(self.database, namespace, ttl_seconds, capacity)

    def close(self) -> None:
        """Close the file."""
        self.database.close()
