"""A session is held for its whole turn: concurrent turns on one session run one after the other.

Before the hold, two messages arriving at once on one session lost a fact (4 of 10 pairs): both
turns loaded the same profile and the later save dropped the other's fact. These tests send real
concurrent requests through two app instances (two "workers" with their own store connections)
on SQLite and on a real redis-server, and check the holds themselves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import create_app
from bot import Advisor
from bot.sessions import SessionStore, SQLiteSessionStore, open_session_store
from bot.sessions import base as sessions_base
from core.errors import SessionError
from core.settings import Settings
from knowledge.index import SearchIndex

PAIRS = 10
FIRST, SECOND = "芝麻分600", "我是开奶茶店的个体户"


def _workers(settings: Settings, index: SearchIndex) -> Iterator[tuple[TestClient, TestClient]]:
    one, two = (Advisor(settings, index=index) for _ in range(2))
    with (
        TestClient(create_app(settings, advisor=one)) as a,
        TestClient(create_app(settings, advisor=two)) as b,
    ):
        yield a, b


@pytest.fixture(params=["sqlite", "redis"])
def workers(
    request: pytest.FixtureRequest, shipped_settings: Settings, shipped_index: SearchIndex,
    tmp_path: Path,
) -> Iterator[tuple[TestClient, TestClient]]:  # fmt: skip
    url = (
        f"sqlite:///{tmp_path / 'sessions.sqlite3'}"
        if request.param == "sqlite"
        else request.getfixturevalue("redis_url")
    )
    settings = shipped_settings.model_copy(
        update={"session_url": url, "rate_limit": "10000/minute"}
    )
    yield from _workers(settings, shipped_index)


@pytest.mark.slow
def test_concurrent_turns_on_one_session_lose_nothing(
    workers: tuple[TestClient, TestClient],
) -> None:
    a, b = workers
    kept = 0
    for _ in range(PAIRS):
        # a fresh server-issued session each time (ids the server never issued are refused)
        session = a.post("/v1/chat", json={"message": "你好"}).json()["session_id"]
        start = threading.Barrier(2)

        def send(
            client: TestClient, text: str, start: threading.Barrier = start, session: str = session
        ) -> int:
            start.wait()
            return client.post(
                "/v1/chat", json={"session_id": session, "message": text}
            ).status_code

        with ThreadPoolExecutor(2) as pool:
            codes = list(pool.map(send, (a, b), (FIRST, SECOND)))
        assert codes == [200, 200]
        stored = a.get(f"/v1/sessions/{session}").json()
        profile = stored["profile"]
        kept += profile.get("zhima_score") == 600 and profile.get("segment") == "sole_proprietor"
        assert len(stored["turns"]) == 6  # the greeting, then both messages with their replies
    assert kept == PAIRS


def _overlaps(store_factory: list[SessionStore], session_id: str) -> int:
    """How often two holders of one session were inside their hold at the same time."""
    inside, overlaps = [0], [0]
    guard = threading.Lock()

    def turn(store: SessionStore) -> None:
        for _ in range(15):
            with store.hold(session_id):
                with guard:
                    inside[0] += 1
                    overlaps[0] += inside[0] > 1
                time.sleep(0.002)
                with guard:
                    inside[0] -= 1

    threads = [threading.Thread(target=turn, args=(s,)) for s in store_factory]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return overlaps[0]


def test_sqlite_hold_excludes_other_connections(tmp_path: Path) -> None:
    path = tmp_path / "sessions.sqlite3"
    stores: list[SessionStore] = [SQLiteSessionStore(path) for _ in range(3)]
    try:
        assert _overlaps(stores, "held") == 0
    finally:
        for store in stores:
            store.close()


def test_redis_hold_excludes_other_clients(redis_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, session_url=redis_url)
    stores = [open_session_store(settings) for _ in range(3)]
    try:
        assert _overlaps(stores, "held-redis") == 0
    finally:
        for store in stores:
            store.close()


def test_hold_on_one_session_does_not_block_another(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.sqlite3", hold_wait_seconds=0.2)
    with store.hold("one"), store.hold("two"):
        pass
    store.close()


def test_busy_session_gives_a_one_sentence_error(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    first, second = SQLiteSessionStore(path), SQLiteSessionStore(path, hold_wait_seconds=0.1)
    with first.hold("busy"), pytest.raises(SessionError, match="busy with another message"):
        with second.hold("busy"):
            pass
    with second.hold("busy"):  # released: the next turn gets it
        pass
    first.close()
    second.close()


def test_a_lapsed_hold_is_taken_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.sessions.sqlite.HOLD_SECONDS", 0.05)
    path = tmp_path / "s.sqlite3"
    crashed, next_turn = SQLiteSessionStore(path), SQLiteSessionStore(path, hold_wait_seconds=2)
    assert crashed._try_hold("stuck", "gone-process")  # a holder that never released
    started = time.monotonic()
    with next_turn.hold("stuck"):
        waited = time.monotonic() - started
    assert waited < 1.5
    assert sessions_base.HOLD_SECONDS > 1  # the shipped lapse is long enough for a slow LLM turn
    crashed.close()
    next_turn.close()
