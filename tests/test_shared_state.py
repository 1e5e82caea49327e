"""The shared-state stores on real SQLite and a real redis-server, also from several processes."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from limits import parse
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from api.errors import STORAGE_UNAVAILABLE
from api.integrations import feishu, slack
from api.integrations.conversation import Conversations
from api.main import create_app
from api.ratelimit import RateLimiter
from api.shared_state import SharedState, open_shared_state, state_url
from bot.advisor import Advisor
from bot.session_keys import SessionKeys
from core.errors import StateError, UnknownBackendError
from core.settings import Settings

from . import test_feishu, test_slack
from .helpers import free_port


def _redis_db(url: str, db: int) -> str:
    return url.rsplit("/", 1)[0] + f"/{db}"


@pytest.fixture(params=["sqlite", "redis"])
def state_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings naming a fresh shared state: a SQLite file, or an emptied Redis database."""
    if request.param == "sqlite":
        return Settings(data_dir=tmp_path / "data")
    url = _redis_db(request.getfixturevalue("redis_url"), 5)
    with redis.Redis.from_url(url) as client:
        client.flushdb()
    return Settings(data_dir=tmp_path / "data", state_url=url)


@pytest.fixture
def state(state_settings: Settings) -> Iterator[SharedState]:
    store = open_shared_state(state_settings)
    yield store
    store.close()


def test_the_state_follows_the_settings(tmp_path: Path) -> None:
    plain = Settings(data_dir=tmp_path)
    assert state_url(plain) == "sqlite:"
    store = open_shared_state(plain)
    assert store.url == f"sqlite:///{tmp_path / 'state.sqlite3'}"
    store.close()
    assert (tmp_path / "state.sqlite3").exists()
    sessions_in_redis = Settings(data_dir=tmp_path, session_url="redis://h:6379/2?ttl=60")
    assert state_url(sessions_in_redis) == "redis://h:6379/2"  # the sessions' ttl is theirs
    explicit = sessions_in_redis.model_copy(update={"state_url": "sqlite:///x.sqlite3"})
    assert state_url(explicit) == "sqlite:///x.sqlite3"
    with pytest.raises(UnknownBackendError, match="Did you mean redis"):
        open_shared_state(Settings(data_dir=tmp_path, state_url="rediz://h:1/0"))


def test_a_delivery_id_is_new_once(state: SharedState) -> None:
    seen = state.seen_ids("test_once", ttl_seconds=600, capacity=100)
    assert seen.first_time("event:Ev1")
    assert not seen.first_time("event:Ev1")
    assert seen.first_time("event:Ev2")
    other = state.seen_ids("test_other", ttl_seconds=600, capacity=100)
    assert other.first_time("event:Ev1")  # namespaces are apart


def test_remember_returns_what_was_remembered_first(state: SharedState) -> None:
    signatures = state.seen_ids("test_signatures", ttl_seconds=600, capacity=100)
    assert signatures.remember("1700000000000:sign", "digest-a") is None
    assert signatures.remember("1700000000000:sign", "digest-b") == "digest-a"
    assert signatures.remember("1700000000000:sign", "digest-a") == "digest-a"
    assert signatures.remember("x" * 5000, "") is None  # long keys are kept by digest
    assert signatures.remember("x" * 5000, "other") == ""


def test_ids_are_forgotten_after_their_ttl(state: SharedState) -> None:
    seen = state.seen_ids("test_ttl", ttl_seconds=0.3, capacity=100)
    assert seen.first_time("a")
    assert not seen.first_time("a")
    time.sleep(0.6)
    assert seen.first_time("a")


def test_a_namespace_keeps_at_most_its_capacity(state: SharedState) -> None:
    seen = state.seen_ids("test_capacity", ttl_seconds=600, capacity=3)
    for key in ("a", "b", "c", "d"):
        assert seen.first_time(key)
    assert seen.first_time("a")  # the oldest was forgotten when "d" came
    assert not seen.first_time("c") and not seen.first_time("d")


def test_the_moving_window_counts_costs(state: SharedState) -> None:
    limiter = MovingWindowRateLimiter(state.rate_storage)
    item = parse("5/minute")
    client = f"client-{uuid.uuid4().hex}"
    assert limiter.hit(item, client, cost=4)
    assert not limiter.hit(item, client, cost=2)  # 6 > 5: refused, and not counted
    assert limiter.hit(item, client)
    assert not limiter.hit(item, client)
    reset, remaining = limiter.get_window_stats(item, client)
    assert remaining == 0 and time.time() < reset <= time.time() + 60
    assert not limiter.hit(item, client, cost=6)  # more than the whole limit
    assert limiter.hit(item, f"other-{client}")
    limiter.clear(item, client)
    assert limiter.hit(item, client, cost=5)


def test_the_fixed_window_works_on_the_same_storage(state: SharedState) -> None:
    limiter = FixedWindowRateLimiter(state.rate_storage)
    item = parse("2/hour")
    client = f"fixed-{uuid.uuid4().hex}"
    assert [limiter.hit(item, client) for _ in range(3)] == [True, True, False]
    reset, remaining = limiter.get_window_stats(item, client)
    assert remaining == 0 and reset > time.time()
    assert state.rate_storage.check()


def _hit_many(settings: Settings, client: str, hits: int, start: object) -> list[bool]:
    start.wait()  # type: ignore[attr-defined]
    store = open_shared_state(settings)
    limiter = RateLimiter("25/minute", store)
    try:
        return [limiter.spend(client, 1) is None for _ in range(hits)]
    finally:
        store.close()


def _offer_ids(settings: Settings, keys: list[str], start: object) -> list[str]:
    start.wait()  # type: ignore[attr-defined]
    store = open_shared_state(settings)
    seen = store.seen_ids("test_race", ttl_seconds=600, capacity=10_000)
    try:
        return [key for key in keys if seen.first_time(key)]
    finally:
        store.close()


def test_processes_share_the_limit_and_the_ids(tmp_path: Path, redis_url: str) -> None:
    redis_state = _redis_db(redis_url, 5)
    with redis.Redis.from_url(redis_state) as client:
        client.flushdb()
    stores = [
        Settings(data_dir=tmp_path / "data"),
        Settings(data_dir=tmp_path, state_url=redis_state),
    ]
    context = multiprocessing.get_context("spawn")
    keys = [f"event:{n}" for n in range(40)]
    with context.Manager() as manager, context.Pool(3) as pool:
        for settings in stores:
            client = f"racer-{uuid.uuid4().hex}"
            start = manager.Barrier(3)
            hits = pool.starmap(_hit_many, [(settings, client, 20, start)] * 3)
            start = manager.Barrier(3)
            firsts = pool.starmap(_offer_ids, [(settings, keys, start)] * 3)
            assert sum(sum(allowed) for allowed in hits) == 25  # of 60 hits from 3 processes
            assert sorted(key for mine in firsts for key in mine) == sorted(keys)  # each id once


def test_an_unreachable_redis_is_one_sentence_and_a_503(advisor: Advisor) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    store = open_shared_state(advisor.settings.model_copy(update={"state_url": dead}))
    with pytest.raises(StateError, match=r"^The shared state store at redis://127\.0\.0\.1"):
        store.seen_ids("test_dead", ttl_seconds=60, capacity=10).first_time("x")
    with pytest.raises(StateError, match="FINADVISOR_STATE_URL"):
        RateLimiter("5/minute", store).spend("someone", 1)
    settings = advisor.settings.model_copy(update={"state_url": dead, "rate_limit": "5/minute"})
    with TestClient(create_app(settings, advisor=advisor)) as client:
        refused = client.post("/v1/diagnose", json={"text": "借呗没额度"})
        assert refused.status_code == 503 and refused.json() == {"error": STORAGE_UNAVAILABLE}
        assert client.get("/healthz").status_code == 200  # not limited, so not refused
    store.close()


def test_a_delivery_is_refused_with_503_when_the_state_store_is_down(advisor: Advisor) -> None:
    """Not marked as received, so the platform redelivers it later: not lost, and not a 500."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings = advisor.settings.model_copy(
        update={
            "feishu_app_id": "cli_test",
            "feishu_app_secret": "test-app-secret",
            "feishu_verification_token": test_feishu.VERIFICATION_TOKEN,
            "slack_bot_token": test_slack.TOKEN,
            "slack_signing_secret": test_slack.SECRET,
            "slack_api_url": f"http://127.0.0.1:{free_port()}/api/",
        }
    )
    store = open_shared_state(settings.model_copy(update={"state_url": dead}))
    conversations = Conversations(lambda: advisor, SessionKeys.from_settings(settings), store)
    app = FastAPI()  # the adapters alone, without the rate limiter that would refuse first
    app.include_router(feishu.router(settings, conversations))
    app.include_router(slack.router(settings, conversations))
    with TestClient(app) as client:
        event = test_feishu.message_event("借呗没额度", "om_down", "oc_down")
        refused = test_feishu.post(client, event)
        assert refused.status_code == 503 and refused.json() == {"error": STORAGE_UNAVAILABLE}
        mention = test_slack.mention("借呗没额度", test_slack.new_ts())
        refused = test_slack.post_event(client, mention)
        assert refused.status_code == 503 and refused.json() == {"error": STORAGE_UNAVAILABLE}
    store.close()


def test_an_unusable_state_file_is_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "state.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateError, match="move that file away or set FINADVISOR_STATE_URL"):
        open_shared_state(Settings(data_dir=tmp_path))


def test_serve_refuses_to_start_without_its_state_store(shipped_data_env: Path) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    env = os.environ | {"FINADVISOR_STATE_URL": dead}
    command = [str(Path(sys.executable).with_name("finadvisor")), "serve", "--workers", "2",
               "--port", str(free_port())]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"The shared state store at {dead} cannot be used" in " ".join(done.stderr.split())
