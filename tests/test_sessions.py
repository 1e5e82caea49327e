"""Session stores: the same behaviour on SQLite (tmp_path) and on a real redis-server."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis

from bot import sessions
from bot.profile import Profile
from bot.sessions import (
    CORRUPT_SESSION,
    DEFAULT_TTL_SECONDS,
    INVALID_SESSION_ID,
    INVALID_TURN,
    MAX_TURNS,
    REDIS_UNREACHABLE,
    RedisSessionStore,
    SessionState,
    SessionStore,
    SQLiteSessionStore,
    open_session_store,
    register_session_backend,
)
from core.errors import ConfigError, InputError, SessionError, UnknownBackendError
from core.settings import Settings
from tests.helpers import free_port

PHONE, ID_NUMBER, CARD = "13812345678", "110105199001011234", "6222021234567890128"


@dataclass
class Backend:
    """A store under test: how to open another client on the same data and read raw bytes."""

    name: str
    settings: Settings
    raw: Callable[[str], bytes]
    opened: list[SessionStore] = field(default_factory=list)

    def open(self) -> SessionStore:
        store = open_session_store(self.settings)
        self.opened.append(store)
        return store


def _sqlite_raw(path: Path) -> Callable[[str], bytes]:
    def raw(session_id: str) -> bytes:
        with closing(sqlite3.connect(path)) as conn:
            row = conn.execute(
                "SELECT profile, turns FROM sessions WHERE session_id = ?", (session_id,)
            ).fetchone()
        profile, turns = row
        return f"{profile}{turns}".encode()

    return raw


def _redis_raw(url: str) -> Callable[[str], bytes]:
    def raw(session_id: str) -> bytes:
        with redis.Redis.from_url(url) as client:
            value = client.get(f"finadvisor:session:{session_id}")
        assert isinstance(value, bytes)
        return value

    return raw


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each behavioural test runs once per backend, opened through the real URL registry."""
    if request.param == "sqlite":
        path = tmp_path / "nested" / "dir" / "sessions.sqlite3"
        settings = Settings(data_dir=tmp_path / "data", session_url=f"sqlite:///{path}")
        chosen = Backend("sqlite", settings, _sqlite_raw(path))
    else:
        url = request.getfixturevalue("redis_url")
        with redis.Redis.from_url(url) as client:
            client.flushdb()
        chosen = Backend("redis", Settings(session_url=url), _redis_raw(url))
    yield chosen
    for store in chosen.opened:
        store.close()


@pytest.fixture
def store(backend: Backend) -> SessionStore:
    return backend.open()


def _profile() -> Profile:
    return Profile(
        segment="sme",
        platform="jiebei",
        zhima_score=640,
        collateral=["房产"],
        need_amount=300000,
        evidence={"zhima_score": "芝麻分640", "need_amount": "想借30万"},
    )


def _turn(role: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"role": role, "text": text, **extra}


def test_store_classes_implement_the_interface(store: SessionStore) -> None:
    assert isinstance(store, SessionStore)


def test_round_trip_of_profile_and_turns(backend: Backend, store: SessionStore) -> None:
    reasons = [{"code": "frequent_inquiries", "confidence": 0.72, "evidence": "查了8次征信"}]
    turns = [
        _turn("user", "借呗开不了，芝麻分640"),
        _turn("assistant", "可能是查询次数太多。", intent="diagnose", reasons=reasons),
    ]
    returned = store.append_turns("web:abc-1", _profile(), turns)
    loaded = backend.open().load("web:abc-1")  # a second client on the same data
    assert loaded == returned
    assert loaded.session_id == "web:abc-1"
    assert loaded.profile == _profile()
    assert [(t["role"], t["text"]) for t in loaded.turns] == [(t["role"], t["text"]) for t in turns]
    assert loaded.turns[1]["reasons"] == reasons
    assert loaded.turns[1]["intent"] == "diagnose"
    for turn in loaded.turns:
        datetime.fromisoformat(turn["at"])
    datetime.fromisoformat(loaded.updated_at)


def test_append_adds_to_existing_turns_and_replaces_profile(store: SessionStore) -> None:
    store.append_turns("s1", Profile(), [_turn("user", "你好")])
    state = store.append_turns("s1", _profile(), [_turn("assistant", "您好")])
    assert [t["text"] for t in state.turns] == ["你好", "您好"]
    assert state.profile == _profile()
    assert store.load("s1") == state


def test_save_replaces_the_whole_session(store: SessionStore) -> None:
    turns = [_turn("user", "一"), _turn("assistant", "二", at="2026-11-29T08:00:00+00:00")]
    store.save(SessionState(session_id="s2", profile=_profile(), turns=turns))
    loaded = store.load("s2")
    assert loaded.profile == _profile()
    assert [t["text"] for t in loaded.turns] == ["一", "二"]
    assert loaded.turns[1]["at"] == "2026-11-29T08:00:00+00:00"
    store.save(SessionState(session_id="s2", profile=Profile(segment="consumer")))
    assert store.load("s2").turns == []
    assert store.load("s2").profile == Profile(segment="consumer")


def test_pii_is_masked_before_it_is_stored(backend: Backend, store: SessionStore) -> None:
    profile = _profile().merged(
        {"region": "北京"}, {"region": f"我在北京，手机{PHONE}，身份证{ID_NUMBER}，卡号{CARD}"}
    )
    turns = [
        _turn("user", f"手机 138 1234 5678，身份证{ID_NUMBER}，卡 6222 0212 3456 7890，借30000元"),
        _turn("assistant", f"已记下{PHONE}", reasons=[{"evidence": f"卡号{CARD}"}]),
    ]
    store.append_turns("masked", profile, turns)
    store.save(store.load("masked").model_copy(update={"session_id": "saved"}))
    for session_id in ("masked", "saved"):
        raw = backend.raw(session_id)
        for secret in (PHONE, "1234 5678", ID_NUMBER, CARD, "3456 7890"):
            assert secret.encode() not in raw
        for masked in ("138****5678", "110105********1234", "****0128", "**** **** **** 7890"):
            assert masked.encode() in raw
        assert "借30000元".encode() in raw
    loaded = store.load("masked")
    assert loaded.profile.evidence["region"] == (
        "我在北京，手机138****5678，身份证110105********1234，卡号****0128"
    )
    assert loaded.profile.evidence["zhima_score"] == "芝麻分640"
    assert loaded.turns[1]["reasons"] == [{"evidence": "卡号****0128"}]


def test_unknown_session_is_a_fresh_empty_state(store: SessionStore) -> None:
    state = store.load("nobody")
    assert state == SessionState(session_id="nobody")
    assert state.profile == Profile()
    assert state.turns == []
    assert not store.exists("nobody")


def test_delete_and_exists(store: SessionStore) -> None:
    store.append_turns("gone", _profile(), [_turn("user", "hi")])
    assert store.exists("gone")
    assert store.delete("gone") is True
    assert not store.exists("gone")
    assert store.load("gone") == SessionState(session_id="gone")
    assert store.delete("gone") is False


@pytest.mark.parametrize("clients", ["one shared store", "a store per thread"])
def test_concurrent_appends_lose_nothing(backend: Backend, clients: str) -> None:
    threads_count, per_thread = 8, 10
    shared = backend.open()
    stores = [shared if clients == "one shared store" else backend.open() for _ in range(8)]
    start = threading.Barrier(threads_count)
    failures: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            start.wait()
            for n in range(per_thread):
                stores[worker].append_turns("busy", _profile(), [_turn("user", f"w{worker}-{n}")])
        except BaseException as exc:  # reported below: a thread must not fail silently
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures
    texts = [t["text"] for t in shared.load("busy").turns]
    assert sorted(texts) == sorted(f"w{w}-{n}" for w in range(threads_count) for n in range(10))
    for worker in range(threads_count):
        mine = [t for t in texts if t.startswith(f"w{worker}-")]
        assert mine == [f"w{worker}-{n}" for n in range(per_thread)]


@pytest.mark.parametrize(
    "session_id", ["", "a" * 65, "has space", "slash/path", "中文会话", "semi;colon", "new\nline"]
)
def test_invalid_session_ids_are_refused(store: SessionStore, session_id: str) -> None:
    calls: list[Callable[[], object]] = [
        lambda: store.load(session_id),
        lambda: store.save(SessionState(session_id=session_id)),
        lambda: store.append_turns(session_id, Profile(), [_turn("user", "hi")]),
        lambda: store.delete(session_id),
        lambda: store.exists(session_id),
    ]
    for call in calls:
        with pytest.raises(InputError) as info:
            call()
        assert str(info.value) == INVALID_SESSION_ID


@pytest.mark.parametrize("session_id", ["a" * 64, "x", "slack:T01.C02_u-3"])
def test_session_ids_at_the_limits_are_accepted(store: SessionStore, session_id: str) -> None:
    store.append_turns(session_id, Profile(), [_turn("user", "hi")])
    assert store.exists(session_id)


@pytest.mark.parametrize(
    "bad_turn", [{"role": "system", "text": "x"}, {"role": "user"}, {"role": "user", "text": 3}]
)
def test_malformed_turns_are_refused(store: SessionStore, bad_turn: dict[str, Any]) -> None:
    with pytest.raises(InputError) as info:
        store.append_turns("s3", Profile(), [_turn("user", "ok"), bad_turn])
    assert str(info.value) == INVALID_TURN
    assert not store.exists("s3")


def test_only_the_latest_turns_are_kept(store: SessionStore) -> None:
    store.append_turns("long", Profile(), [_turn("user", f"t{n}") for n in range(150)])
    state = store.append_turns("long", Profile(), [_turn("user", f"t{n}") for n in range(150, 250)])
    assert len(state.turns) == MAX_TURNS
    assert [t["text"] for t in store.load("long").turns] == [f"t{n}" for n in range(50, 250)]
    store.save(SessionState(session_id="saved", turns=[_turn("user", f"s{n}") for n in range(230)]))
    assert [t["text"] for t in store.load("saved").turns] == [f"s{n}" for n in range(30, 230)]


# SQLite only


def test_sqlite_default_location_is_the_data_dir(tmp_path: Path) -> None:
    store = open_session_store(Settings(data_dir=tmp_path / "data"))
    try:
        assert isinstance(store, SQLiteSessionStore)
        assert store.path == tmp_path / "data" / "sessions.sqlite3"
        assert store.path.is_file()
    finally:
        store.close()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///relative/s.sqlite3", "relative/s.sqlite3"),
        ("sqlite:////ABS/s.sqlite3", "/ABS/s.sqlite3"),
    ],
)
def test_sqlite_url_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_session_store(Settings(session_url=url.replace("/ABS", str(tmp_path / "abs"))))
    try:
        assert isinstance(store, SQLiteSessionStore)
        want = Path(expected.replace("/ABS", str(tmp_path / "abs")))
        assert store.path.resolve() == (tmp_path / want).resolve()
        assert store.path.resolve().is_file()
    finally:
        store.close()


def test_sqlite_uses_wal_mode(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.sqlite3")
    try:
        store.append_turns("w", Profile(), [_turn("user", "hi")])
        with closing(sqlite3.connect(tmp_path / "s.sqlite3")) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        store.close()


def test_sqlite_failed_write_leaves_the_session_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLiteSessionStore(tmp_path / "s.sqlite3")
    try:
        before = store.append_turns("safe", _profile(), [_turn("user", "一")])
        original_write = SQLiteSessionStore._write

        def crash_after_writing(self: SQLiteSessionStore, conn: Any, state: SessionState) -> None:
            original_write(self, conn, state)
            raise KeyboardInterrupt  # dies mid-transaction, after the row was written

        monkeypatch.setattr(SQLiteSessionStore, "_write", crash_after_writing)
        with pytest.raises(KeyboardInterrupt):
            store.append_turns("safe", Profile(), [_turn("user", "二")])
        monkeypatch.undo()
        assert store.load("safe") == before
        assert len(store.append_turns("safe", _profile(), [_turn("user", "三")]).turns) == 2
    finally:
        store.close()


def test_sqlite_corrupt_file_is_a_one_line_session_error(tmp_path: Path) -> None:
    path = tmp_path / "sessions.sqlite3"
    path.write_bytes(b"this is not a database " * 200)
    with pytest.raises(SessionError) as info:
        open_session_store(Settings(session_url=f"sqlite:///{path}"))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"The SQLite session store at {path} cannot be used (")
    assert "file is not a database" in message
    assert message.endswith("move that file away or set FINADVISOR_SESSION_URL to another path.")


def test_sqlite_path_that_is_a_directory_is_a_session_error(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="cannot be used"):
        SQLiteSessionStore(tmp_path)


def test_sqlite_corrupt_row_is_a_session_error(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.sqlite3")
    try:
        with closing(sqlite3.connect(tmp_path / "s.sqlite3")) as conn, conn:
            conn.execute(
                "INSERT INTO sessions (session_id, profile, turns, updated_at)"
                " VALUES ('bad', '{not json', '[]', 'now')"
            )
        with pytest.raises(SessionError) as info:
            store.load("bad")
        assert str(info.value) == CORRUPT_SESSION.format(session_id="bad")
    finally:
        store.close()


# Redis only


def test_redis_unreachable_is_a_one_line_session_error() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(SessionError) as info:
        open_session_store(Settings(session_url=url))
    assert str(info.value) == REDIS_UNREACHABLE.format(url=url)
    assert str(info.value) == (
        f"Cannot reach the Redis session store at {url}; "
        "start Redis or unset FINADVISOR_SESSION_URL."
    )


def test_redis_error_never_shows_the_password() -> None:
    port = free_port()
    with pytest.raises(SessionError) as info:
        RedisSessionStore(f"redis://admin:s3cret-pw@127.0.0.1:{port}/2")
    assert "s3cret-pw" not in str(info.value)
    assert f"redis://***@127.0.0.1:{port}/2" in str(info.value)


def test_redis_keys_hold_json_with_a_30_day_ttl(redis_url: str) -> None:
    store = RedisSessionStore(redis_url)
    try:
        store.append_turns("ttl", _profile(), [_turn("user", "hi")])
        with redis.Redis.from_url(redis_url) as client:
            stored = json.loads(client.get("finadvisor:session:ttl") or b"null")
            ttl = client.ttl("finadvisor:session:ttl")
        assert set(stored) == {"session_id", "profile", "dialogue", "turns", "updated_at"}
        assert DEFAULT_TTL_SECONDS - 60 < ttl <= DEFAULT_TTL_SECONDS == 30 * 24 * 3600
    finally:
        store.close()


@pytest.mark.parametrize(("query", "expected"), [("?ttl=60", range(1, 61)), ("?ttl=0", [-1])])
def test_redis_ttl_is_set_in_the_url(redis_url: str, query: str, expected: range) -> None:
    store = open_session_store(Settings(session_url=redis_url + query))
    try:
        store.save(SessionState(session_id="ttl"))
        with redis.Redis.from_url(redis_url) as client:
            assert client.ttl("finadvisor:session:ttl") in expected
    finally:
        store.close()


def test_redis_bad_ttl_is_a_config_error(redis_url: str) -> None:
    with pytest.raises(ConfigError, match="whole seconds"):
        open_session_store(Settings(session_url=redis_url + "?ttl=soon"))


def test_redis_corrupt_value_is_a_session_error(redis_url: str) -> None:
    store = RedisSessionStore(redis_url)
    try:
        with redis.Redis.from_url(redis_url) as client:
            client.set("finadvisor:session:bad", b"{not json")
        with pytest.raises(SessionError) as info:
            store.load("bad")
        assert str(info.value) == CORRUPT_SESSION.format(session_id="bad")
    finally:
        store.close()


# The URL registry


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("reddis://127.0.0.1:6379/0", "Unknown session store: reddis. Did you mean redis?"),
        ("sqlit:///x.sqlite3", "Unknown session store: sqlit. Did you mean sqlite?"),
        ("mongodb://db/x", "Unknown session store: mongodb. Known: redis, rediss, sqlite."),
        ("/just/a/path.sqlite3", "Unknown session store: /just/a/path.sqlite3. Known:"),
    ],
)
def test_unknown_scheme_names_the_alternatives(url: str, message: str) -> None:
    with pytest.raises(UnknownBackendError) as info:
        open_session_store(Settings(session_url=url))
    assert str(info.value).startswith(message)


def test_new_backends_register_like_the_built_ins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sessions, "SESSION_BACKENDS", dict(sessions.SESSION_BACKENDS))
    seen: list[str] = []

    def open_memo(url: str, settings: Settings) -> SessionStore:
        seen.append(url)
        return SQLiteSessionStore(tmp_path / "memo.sqlite3")

    register_session_backend("memo", open_memo)
    store = open_session_store(Settings(session_url="memo://anything"))
    try:
        assert seen == ["memo://anything"]
        assert isinstance(store, SessionStore)
    finally:
        store.close()
