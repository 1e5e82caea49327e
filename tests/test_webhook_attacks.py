"""Attacks on the chat webhooks (issue 13), each against the real app with real signatures.

DingTalk: a sessionWebhook on a host that is not DingTalk's (a local catcher must receive
nothing), a captured (timestamp, sign) pair replayed with another body, redelivered msgIds and
messages without msgId. Feishu: a correctly signed event older than five minutes. Slack: a
replayed slash command, and signed events while Slack's API is down.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from api.integrations.feishu import lark_signature
from api.main import create_app
from bot.advisor import Advisor
from core.settings import Settings

from .fake_chat_servers import FakeChatServer, dingtalk_webhook, feishu_api, slack_api
from .helpers import free_port
from .test_dingtalk import APP_SECRET, WEBHOOK_PATH, callback, sign
from .test_feishu import ENCRYPT_KEY, VERIFICATION_TOKEN, encrypt, message_event, reply_path
from .test_slack import SECRET, TOKEN, mention, post_event, signed_headers

CATCHER_PATH = "/internal/admin"


@pytest.fixture
def catcher() -> Iterator[FakeChatServer]:
    """A server on 127.0.0.1 that must never be called (not an allowed DingTalk host)."""
    with FakeChatServer(dingtalk_webhook) as server:
        yield server


@pytest.fixture
def dingtalk() -> Iterator[FakeChatServer]:
    """The allowed DingTalk webhook host."""
    with FakeChatServer(dingtalk_webhook) as server:
        yield server


@pytest.fixture
def ding_client(
    settings: Settings, advisor: Advisor, dingtalk: FakeChatServer
) -> Iterator[TestClient]:
    configured = settings.model_copy(
        update={"dingtalk_app_secret": APP_SECRET, "dingtalk_reply_hosts": dingtalk.url}
    )
    with TestClient(create_app(configured, advisor=advisor)) as client:
        yield client


def signed_post(client: TestClient, body: bytes, timestamp: str) -> Any:
    return client.post(
        "/dingtalk/events", content=body, headers={"timestamp": timestamp, "sign": sign(timestamp)}
    )


def test_dingtalk_never_posts_to_a_host_that_is_not_dingtalk(
    ding_client: TestClient, dingtalk: FakeChatServer, catcher: FakeChatServer
) -> None:
    for url in (
        f"{catcher.url}{CATCHER_PATH}",
        f"{catcher.url.replace('http:', 'https:')}{CATCHER_PATH}",
        f"http://user@{dingtalk.url.removeprefix('http://')}@127.0.0.1:{catcher.url.rsplit(':', 1)[1]}/x",
        f"{dingtalk.url}.evil.test/x",
    ):
        now = str(int(time.time() * 1000))
        body = json.dumps(callback("借呗没额度", "cid-ssrf", url)).encode()
        assert signed_post(ding_client, body, now).status_code == 200
    # A later, allowed callback is answered: by then the others would have been too.
    now = str(int(time.time() * 1000))
    allowed = json.dumps(callback("借呗没额度", "cid-ok", f"{dingtalk.url}{WEBHOOK_PATH}")).encode()
    signed_post(ding_client, allowed, now)
    dingtalk.wait_for(WEBHOOK_PATH)
    time.sleep(0.5)
    assert catcher.calls == []


def test_dingtalk_signature_is_good_for_one_body_only(
    ding_client: TestClient, dingtalk: FakeChatServer
) -> None:
    now = str(int(time.time() * 1000))
    first = json.dumps(
        callback("借呗没额度", "cid-replay", f"{dingtalk.url}{WEBHOOK_PATH}")
    ).encode()
    assert signed_post(ding_client, first, now).status_code == 200
    forged = json.dumps(callback("我有三次逾期", "cid-victim", f"{dingtalk.url}{WEBHOOK_PATH}"))
    assert signed_post(ding_client, forged.encode(), now).status_code == 401
    assert signed_post(ding_client, first, now).status_code == 200  # a retry of the same body
    dingtalk.wait_for(WEBHOOK_PATH)
    time.sleep(0.5)
    assert len(dingtalk.calls_to(WEBHOOK_PATH)) == 1  # ... answered once


def test_dingtalk_answers_each_message_once(
    ding_client: TestClient, dingtalk: FakeChatServer
) -> None:
    url = f"{dingtalk.url}{WEBHOOK_PATH}"
    retried = callback("借呗没额度", "cid-dedupe", url)
    no_id = {key: value for key, value in callback("花呗降额了", "cid-dedupe", url).items()
             if key != "msgId"} | {"createAt": int(time.time() * 1000)}  # fmt: skip
    for payload in (retried, retried, retried, no_id, no_id):
        now = str(int(time.time() * 1000))
        signed_post(ding_client, json.dumps(payload).encode(), str(int(now) + 1))
        time.sleep(0.002)  # a new timestamp: each delivery is freshly signed
    dingtalk.wait_for(WEBHOOK_PATH, n=2)
    time.sleep(1.0)
    assert len(dingtalk.calls_to(WEBHOOK_PATH)) == 2


@pytest.fixture
def feishu() -> Iterator[FakeChatServer]:
    with FakeChatServer(feishu_api) as server:
        yield server


def test_feishu_refuses_signatures_older_than_five_minutes(
    settings: Settings, advisor: Advisor, feishu: FakeChatServer
) -> None:
    configured = settings.model_copy(
        update={
            "feishu_app_id": "cli_test",
            "feishu_app_secret": "test-app-secret",
            "feishu_verification_token": VERIFICATION_TOKEN,
            "feishu_encrypt_key": ENCRYPT_KEY,
            "feishu_api_url": feishu.url,
        }  # fmt: skip
    )

    def post(age_seconds: int, message_id: str) -> int:
        event = message_event("借呗没额度", message_id, "oc_old")
        body = json.dumps({"encrypt": encrypt(json.dumps(event, ensure_ascii=False))}).encode()
        timestamp, nonce = str(int(time.time()) - age_seconds), uuid.uuid4().hex
        headers = {"X-Lark-Request-Timestamp": timestamp, "X-Lark-Request-Nonce": nonce,
                   "X-Lark-Signature": lark_signature(timestamp, nonce, ENCRYPT_KEY, body)}  # fmt: skip
        return client.post("/feishu/events", content=body, headers=headers).status_code

    with TestClient(create_app(configured, advisor=advisor)) as client:
        assert post(30 * 86400, "om_month_old") == 401
        assert post(301, "om_stale") == 401
        assert post(-301, "om_future") == 401
        assert post(5, "om_fresh") == 200
        feishu.wait_for(reply_path("om_fresh"))
    assert feishu.calls_to(reply_path("om_month_old")) == []


@pytest.fixture
def slack() -> Iterator[FakeChatServer]:
    with FakeChatServer(slack_api) as server:
        yield server


def slack_app(settings: Settings, advisor: Advisor, api_url: str) -> TestClient:
    configured = settings.model_copy(
        update={"slack_bot_token": TOKEN, "slack_signing_secret": SECRET, "slack_api_url": api_url}
    )
    return TestClient(create_app(configured, advisor=advisor))


def test_slack_slash_command_replayed_is_answered_once(
    settings: Settings, advisor: Advisor, slack: FakeChatServer
) -> None:
    respond = "/respond/T0FAKE/9/replay"
    body = urlencode({"command": "/finadvisor", "text": "借呗没额度", "team_id": "T0FAKE",
                      "channel_id": "C1", "user_id": "U1", "response_url": f"{slack.url}{respond}",
                      "trigger_id": "9.9.9"})  # fmt: skip
    headers = signed_headers(body, "application/x-www-form-urlencoded")
    with slack_app(settings, advisor, f"{slack.url}/api/") as client:
        answers = [client.post("/slack/events", content=body, headers=headers) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        slack.wait_for(respond)
        time.sleep(1.0)
    assert len(slack.calls_to(respond)) == 1


def test_slack_events_get_200_within_3s_while_slacks_api_is_down(
    settings: Settings, advisor: Advisor, caplog: pytest.LogCaptureFixture
) -> None:
    down = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there
    with caplog.at_level("WARNING"), slack_app(settings, advisor, down) as client:
        for _ in range(3):
            started = time.monotonic()
            response = post_event(client, mention("借呗没额度", f"{time.time():.6f}"))
            assert response.status_code == 200
            assert time.monotonic() - started < 3
    assert "auth.test failed" in caplog.text
