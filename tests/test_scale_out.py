"""``finadvisor serve --workers 2`` as real processes: the limit and the webhook dedupe are shared.

Each scenario starts the real command twice on one data directory (a restart in between), with
Slack, Feishu and DingTalk configured against the local fakes, on Redis (sessions and shared state
in a real redis-server) and on the single-machine default (SQLite files in the data directory).
Every request goes on a connection of its own and the worker that answered is read from /proc,
so the test knows both workers took part. Webhook requests come through a trusted proxy header
with an address each, so they never meet the 10-per-hour limit of the limit check.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import pytest
import redis

from bot.session_keys import SessionKeys
from bot.sessions import open_session_store
from core.settings import Settings

from . import test_dingtalk, test_feishu, test_slack
from .fake_chat_servers import (
    SLACK_BOT_USER,
    SLACK_TEAM,
    FakeChatServer,
    dingtalk_webhook,
    feishu_api,
    slack_api,
)
from .served import Answer, Served, copy_index

pytestmark = pytest.mark.slow

SESSION_SECRET = "scale-out-test-session-secret"
LIMITED_CLIENT = "198.51.100.10"
_ADDRESSES = count(1)


def proxied() -> dict[str, str]:
    """The header a trusted proxy would set, with an address no other request uses."""
    n = next(_ADDRESSES)
    return {"X-Forwarded-For": f"203.0.113.1, 10.9.{n // 250}.{n % 250 + 1}"}


@dataclass
class Platforms:
    """The fake Slack, Feishu and DingTalk servers."""

    slack: FakeChatServer
    feishu: FakeChatServer
    dingtalk: FakeChatServer


@pytest.fixture
def platforms() -> Iterator[Platforms]:
    with (
        FakeChatServer(slack_api) as slack,
        FakeChatServer(feishu_api) as feishu,
        FakeChatServer(dingtalk_webhook) as dingtalk,
    ):
        yield Platforms(slack, feishu, dingtalk)


def serve_env(data_dir: Path, platforms: Platforms, **settings: str) -> dict[str, str]:
    """The server's environment: this test's FINADVISOR_* settings and the platforms' fakes."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("FINADVISOR_")}
    env |= {
        "FINADVISOR_DATA_DIR": str(data_dir),
        "FINADVISOR_MODELS_DIR": os.environ["FINADVISOR_MODELS_DIR"],
        "FINADVISOR_RATE_LIMIT": "10/hour",
        "FINADVISOR_CLIENT_IP_HEADER": "X-Forwarded-For",
        "FINADVISOR_SESSION_SECRET": SESSION_SECRET,
        "FINADVISOR_SLACK_BOT_TOKEN": test_slack.TOKEN,
        "FINADVISOR_SLACK_SIGNING_SECRET": test_slack.SECRET,
        "FINADVISOR_SLACK_API_URL": f"{platforms.slack.url}/api/",
        "FINADVISOR_FEISHU_APP_ID": "cli_test",
        "FINADVISOR_FEISHU_APP_SECRET": "test-app-secret",
        "FINADVISOR_FEISHU_VERIFICATION_TOKEN": test_feishu.VERIFICATION_TOKEN,
        "FINADVISOR_FEISHU_API_URL": platforms.feishu.url,
        "FINADVISOR_DINGTALK_APP_SECRET": test_dingtalk.APP_SECRET,
        "FINADVISOR_DINGTALK_REPLY_HOSTS": platforms.dingtalk.url,
    }
    return env | {f"FINADVISOR_{name.upper()}": value for name, value in settings.items()}


def at_once(requests: list[Callable[[], Answer]]) -> list[Answer]:
    """Send the requests concurrently (each on its own connection); the answers in order."""
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(lambda send: send(), requests))


def slack_event(server: Served, event: dict[str, Any], event_id: str, retry: int = 0) -> Answer:
    """An Events API callback signed now, as Slack's ``retry``-th redelivery."""
    body = json.dumps(
        {"token": "unused-legacy-token", "team_id": SLACK_TEAM, "api_app_id": "A0FAKE",
         "event": event, "type": "event_callback", "event_id": event_id,
         "event_time": int(time.time()),
         "authorizations": [{"team_id": SLACK_TEAM, "user_id": SLACK_BOT_USER, "is_bot": True}]},
        ensure_ascii=False,
    )  # fmt: skip
    retried = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    headers = test_slack.signed_headers(body, "application/json", **(retried if retry else {}))
    return server.request("POST", "/slack/events", body.encode(), headers | proxied())


def feishu_event(server: Served, event: dict[str, Any]) -> Answer:
    """A Feishu event callback (verification token, no encrypt key)."""
    body = json.dumps(event, ensure_ascii=False).encode()
    return server.request("POST", "/feishu/events", body, proxied())


def dingtalk_message(server: Served, message: dict[str, Any]) -> Answer:
    """A DingTalk robot callback signed now."""
    timestamp = str(int(time.time() * 1000))
    headers = {"timestamp": timestamp, "sign": test_dingtalk.sign(timestamp)} | proxied()
    body = json.dumps(message, ensure_ascii=False).encode()
    return server.request("POST", "/dingtalk/events", body, headers)


@dataclass
class Deliveries:
    """The webhook deliveries of a scenario, sent again after the restart."""

    slack_event: dict[str, Any]
    slack_event_id: str
    feishu_event: dict[str, Any]
    feishu_chat: str
    dingtalk_message: dict[str, Any]


def check_the_limit_is_shared(server: Served) -> None:
    limited = {"X-Forwarded-For": f"203.0.113.1, {LIMITED_CLIENT}"}
    answers = at_once([lambda: server.request("GET", "/v1/models", headers=limited)] * 30)
    statuses = [answer.status for answer in answers]
    assert statuses.count(200) == 10 and statuses.count(429) == 20
    assert all(int(a.headers["retry-after"]) >= 1 for a in answers if a.status == 429)
    assert {answer.worker for answer in answers} == server.worker_pids()  # both took part
    # a text's extra hits count on whichever worker takes it: 1000 characters cost 3 hits
    client = proxied() | {"Content-Type": "application/json"}
    text = ("借呗有入口没额度，芝麻分620，没有逾期。" * 60)[:1000]
    body = json.dumps({"text": text}, ensure_ascii=False).encode()
    heavy = [server.request("POST", "/v1/diagnose", body, client) for _ in range(3)]
    assert [answer.status for answer in heavy] == [200, 200, 200]  # 9 hits
    assert server.request("GET", "/v1/models", headers=client).status == 200  # the tenth
    assert server.request("GET", "/v1/models", headers=client).status == 429


def check_a_retried_slack_event_is_answered_once(
    server: Served, platforms: Platforms
) -> tuple[dict[str, Any], str]:
    ts = test_slack.new_ts()
    event, event_id = test_slack.mention("借呗没额度", ts), f"EvSCALE{uuid.uuid4().hex[:8]}"
    answers = at_once([lambda n=n: slack_event(server, event, event_id, n) for n in range(5)])
    assert [answer.status for answer in answers] == [200] * 5
    assert sorted(a.headers.get("x-slack-no-retry", "") for a in answers) == [
        "",
        "1",
        "1",
        "1",
        "1",
    ]
    platforms.slack.wait_for(test_slack.POST)
    later = test_slack.new_ts()  # a later event: by then a second answer would have come too
    assert (
        slack_event(
            server, test_slack.mention("网商贷被拒", later), f"Ev{uuid.uuid4().hex[:8]}"
        ).status
        == 200
    )
    calls = platforms.slack.wait_for(test_slack.POST, n=2)
    assert [call.json["thread_ts"] for call in calls].count(ts) == 1
    return event, event_id


def check_a_feishu_replay_is_processed_once(
    server: Served, platforms: Platforms
) -> tuple[dict[str, Any], str]:
    chat = f"oc_{uuid.uuid4().hex[:12]}"
    first = test_feishu.message_event(
        "借呗没额度", "om_scale_first", chat, event_id=f"ev-{uuid.uuid4().hex}"
    )
    answers = at_once([lambda: feishu_event(server, first)] * 3)
    assert [answer.status for answer in answers] == [200] * 3
    # the reply's card, then the follow-up question's card with its buttons
    platforms.feishu.wait_for(test_feishu.reply_path("om_scale_first"), n=2)
    feishu_event(server, test_feishu.message_event("芝麻分580", "om_scale_second", chat))
    platforms.feishu.wait_for(test_feishu.reply_path("om_scale_second"))
    assert test_feishu.question_cards(platforms.feishu, "om_scale_first") == 1
    return first, chat


def check_a_dingtalk_redelivery_is_answered_once(
    server: Served, platforms: Platforms
) -> dict[str, Any]:
    conversation = f"cid{uuid.uuid4().hex[:10]}"
    message = test_dingtalk.callback(
        "借呗没额度", conversation, f"{platforms.dingtalk.url}/robot/first"
    )
    answers = at_once([lambda: dingtalk_message(server, message)] * 3)
    assert [answer.status for answer in answers] == [200] * 3
    platforms.dingtalk.wait_for("/robot/first")
    later = test_dingtalk.callback(
        "芝麻分580", conversation, f"{platforms.dingtalk.url}/robot/later"
    )
    dingtalk_message(server, later)
    platforms.dingtalk.wait_for("/robot/later")
    assert len(platforms.dingtalk.calls_to("/robot/first")) == 1
    return message


def check_nothing_is_answered_again_after_a_restart(
    server: Served, platforms: Platforms, deliveries: Deliveries, settings: Settings
) -> None:
    limited = {"X-Forwarded-For": f"203.0.113.1, {LIMITED_CLIENT}"}
    assert server.request("GET", "/v1/models", headers=limited).status == 429  # still counted

    again = slack_event(server, deliveries.slack_event, deliveries.slack_event_id, retry=5)
    assert again.status == 200 and again.headers.get("x-slack-no-retry") == "1"

    assert feishu_event(server, deliveries.feishu_event).status == 200
    assert dingtalk_message(server, deliveries.dingtalk_message).status == 200
    # later messages in the same conversations: by then a second answer would have come too
    chat = deliveries.feishu_chat
    feishu_event(server, test_feishu.message_event("我是个体户", "om_scale_third", chat))
    platforms.feishu.wait_for(test_feishu.reply_path("om_scale_third"))
    conversation = deliveries.dingtalk_message["conversationId"]
    last = test_dingtalk.callback("开店三年", conversation, f"{platforms.dingtalk.url}/robot/last")
    dingtalk_message(server, last)
    platforms.dingtalk.wait_for("/robot/last")
    assert test_feishu.question_cards(platforms.feishu, "om_scale_first") == 1
    assert len(platforms.dingtalk.calls_to("/robot/first")) == 1
    assert len(platforms.slack.calls_to(test_slack.POST)) == 2

    store = open_session_store(settings)
    session = SessionKeys.from_settings(settings).keyed("feishu", chat)
    user_turns = [turn["text"] for turn in store.load(session).turns if turn["role"] == "user"]
    assert user_turns == ["借呗没额度", "芝麻分580", "我是个体户"]


def run_scenario(
    env: dict[str, str], tmp_path: Path, platforms: Platforms, settings: Settings
) -> None:
    server = Served(env, tmp_path / "serve.log")
    with server:
        check_the_limit_is_shared(server)
        slack, slack_id = check_a_retried_slack_event_is_answered_once(server, platforms)
        feishu, chat = check_a_feishu_replay_is_processed_once(server, platforms)
        dingtalk = check_a_dingtalk_redelivery_is_answered_once(server, platforms)
    deliveries = Deliveries(slack, slack_id, feishu, chat, dingtalk)
    with server:  # restarted on the same data directory and store
        check_nothing_is_answered_again_after_a_restart(server, platforms, deliveries, settings)


def test_two_workers_share_state_in_redis(
    tmp_path: Path, shipped_settings: Settings, shipped_index: object, redis_url: str,
    platforms: Platforms,
) -> None:  # fmt: skip
    sessions = redis_url.rsplit("/", 1)[0] + "/6"
    with redis.Redis.from_url(sessions) as client:
        client.flushdb()
    data_dir = copy_index(shipped_settings.data_dir, tmp_path / "data")
    env = serve_env(data_dir, platforms, session_url=sessions)  # no state URL: the sessions' Redis
    settings = Settings(data_dir=data_dir, session_url=sessions, session_secret=SESSION_SECRET)
    run_scenario(env, tmp_path, platforms, settings)
    with redis.Redis.from_url(sessions) as client:
        assert client.keys("finadvisor:limits:*") and client.keys(
            "finadvisor:seen:slack_deliveries:*"
        )
    assert not (data_dir / "state.sqlite3").exists()


def test_two_workers_share_state_in_sqlite_by_default(
    tmp_path: Path, shipped_settings: Settings, shipped_index: object, platforms: Platforms
) -> None:
    data_dir = copy_index(shipped_settings.data_dir, tmp_path / "data")
    env = serve_env(data_dir, platforms)
    settings = Settings(data_dir=data_dir, session_secret=SESSION_SECRET)
    run_scenario(env, tmp_path, platforms, settings)
    assert (data_dir / "state.sqlite3").exists() and (data_dir / "sessions.sqlite3").exists()
