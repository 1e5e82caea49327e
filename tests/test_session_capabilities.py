"""Sessions are capabilities (issue 13): ids are issued, platform sessions are keyed, keys are
optional API keys, and sessions expire and are bounded in number, in SQLite as in Redis."""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api import create_app
from bot.advisor import Advisor
from bot.profile import Profile
from bot.session_keys import SECRET_FILE, SessionKeys, load_secret
from bot.sessions import RedisSessionStore, SQLiteSessionStore, open_session_store
from core.settings import Settings

UNKNOWN = "s-" + "0" * 40


@pytest.fixture
def client(advisor: Advisor) -> Iterator[TestClient]:
    settings = advisor.settings.model_copy(update={"rate_limit": "1000/minute"})
    with TestClient(create_app(settings, advisor=advisor)) as test_client:
        yield test_client


def test_an_id_the_server_never_issued_is_refused_and_not_adopted(
    client: TestClient, advisor: Advisor
) -> None:
    planted = client.post("/v1/chat", json={"session_id": UNKNOWN, "message": "我有三次逾期"})
    assert planted.status_code == 404
    assert set(planted.json()) == {"error"} and "session_id" in planted.json()["error"]
    assert not advisor.store.exists(UNKNOWN)
    for method in ("GET", "DELETE"):
        assert client.request(method, f"/v1/sessions/{UNKNOWN}").status_code == 404
    chosen = client.post("/v1/chat", json={"session_id": "my-own-id", "message": "hi"})
    assert chosen.status_code == 422


def test_issued_ids_are_random_and_work(client: TestClient) -> None:
    ids = {SessionKeys.issue() for _ in range(2000)}
    assert len(ids) == 2000 and all(SessionKeys.is_issued_form(i) for i in ids)
    assert len(next(iter(ids))) - 2 == 40  # 160 bits in hex
    first = client.post("/v1/chat", json={"message": "借呗没额度"}).json()
    assert SessionKeys.is_issued_form(first["session_id"])
    again = client.post(
        "/v1/chat", json={"session_id": first["session_id"], "message": "芝麻分600"}
    )
    assert again.status_code == 200 and again.json()["profile"]["platform"] == "jiebei"


def test_platform_sessions_cannot_be_addressed_over_rest(
    client: TestClient, advisor: Advisor
) -> None:
    keys: SessionKeys = client.app.state.session_keys  # type: ignore[attr-defined]
    feishu = keys.keyed("feishu", "oc_victim")
    advisor.reply(feishu, "借呗没额度，芝麻分650")
    for guess in (feishu, "feishu-oc_victim", "dingtalk-cid1", "oai-" + "a" * 32):
        poisoned = client.post("/v1/chat", json={"session_id": guess, "message": "我有三次逾期"})
        assert poisoned.status_code in {404, 422}
        assert client.get(f"/v1/sessions/{guess}").status_code in {404, 422}
        assert client.delete(f"/v1/sessions/{guess}").status_code in {404, 422}
    assert advisor.profile(feishu).overdue is None and advisor.profile(feishu).zhima_score == 650


def test_openai_user_sessions_are_keyed_and_never_store_the_user(
    client: TestClient, advisor: Advisor
) -> None:
    request = {"model": "finadvisor", "user": "13812345678",
               "messages": [{"role": "user", "content": "借呗没额度"}]}  # fmt: skip
    answer = client.post("/v1/chat/completions", json=request).json()
    session = answer["finadvisor"]["session_id"]
    assert session.startswith("oai-") and "13812345678" not in session
    assert isinstance(advisor.store, SQLiteSessionStore)
    with sqlite3.connect(advisor.store.path) as db:
        stored = [row[0] for row in db.execute("SELECT session_id FROM sessions")]
    assert session in stored and not any("1381234" in key for key in stored)
    # The header names an issued session only.
    header = client.post("/v1/chat/completions", json={**request, "user": None},
                         headers={"X-Session-Id": session})  # fmt: skip
    assert header.status_code == 422


def test_the_secret_is_generated_once_into_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = SessionKeys.from_settings(settings).keyed("slack", "T1", "C1")
    path = tmp_path / "data" / SECRET_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert SessionKeys.from_settings(settings).keyed("slack", "T1", "C1") == first
    configured = Settings(data_dir=tmp_path / "other", session_secret="a" * 32)
    assert load_secret(configured) == b"a" * 32
    assert SessionKeys.from_settings(configured).keyed("slack", "T1", "C1") != first


def test_api_keys_guard_the_api_and_leave_page_and_health_open(advisor: Advisor) -> None:
    settings = advisor.settings.model_copy(update={"api_keys": SecretStr("key-one, key-two")})
    with TestClient(create_app(settings, advisor=advisor)) as client:
        refused = client.post("/v1/diagnose", json={"text": "借呗没额度"})
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
        assert "Authorization: Bearer" in refused.json()["error"]
        wrong = client.get("/v1/models", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        bearer = {"Authorization": "Bearer key-one"}
        assert (
            client.post("/v1/diagnose", json={"text": "借呗没额度"}, headers=bearer).status_code
            == 200
        )
        assert client.get("/v1/models", headers={"X-API-Key": "key-two"}).status_code == 200
        assert client.get("/healthz").status_code == 200 and client.get("/").status_code == 200
        schema = client.get("/openapi.json").json()
        assert schema["paths"]["/v1/chat"]["post"]["security"] == [{"apiKey": []}]
        assert "401" in schema["paths"]["/v1/chat"]["post"]["responses"]


def _profile() -> Profile:
    return Profile(zhima_score=600)


def test_sqlite_sessions_expire_and_are_bounded(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.sqlite3", ttl_seconds=1, max_sessions=3)
    try:
        store.append_turns("old", _profile(), [{"role": "user", "text": "hi"}])
        time.sleep(1.2)
        assert not store.exists("old") and store.load("old").turns == []
        for n in range(5):
            store.append_turns(f"s{n}", _profile(), [{"role": "user", "text": "hi"}])
            time.sleep(0.01)
        with sqlite3.connect(store.path) as db:
            kept = sorted(row[0] for row in db.execute("SELECT session_id FROM sessions"))
        assert kept == ["s2", "s3", "s4"]
    finally:
        store.close()


def test_settings_give_the_ttl_to_both_stores(
    tmp_path: Path,
    redis_url: str,  # noqa: F811
) -> None:
    settings = Settings(data_dir=tmp_path, session_ttl_days=2, max_sessions=3)
    sqlite_store = open_session_store(settings)
    assert isinstance(sqlite_store, SQLiteSessionStore) and sqlite_store.ttl_seconds == 2 * 86400
    sqlite_store.close()
    store = open_session_store(settings.model_copy(update={"session_url": redis_url}))
    assert isinstance(store, RedisSessionStore)
    try:
        for n in range(5):
            store.append_turns(f"bounded{n}", _profile(), [{"role": "user", "text": "hi"}])
        with redis.Redis.from_url(redis_url) as client:
            ttl = client.ttl("finadvisor:session:bounded4")
            kept = [store.exists(f"bounded{n}") for n in range(5)]
        assert 2 * 86400 - 60 < ttl <= 2 * 86400
        assert kept == [False, False, True, True, True]
    finally:
        for n in range(5):
            store.delete(f"bounded{n}")
        store.close()
