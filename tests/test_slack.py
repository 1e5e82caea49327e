"""The Slack adapter end to end: signed requests into the real app, replies on a fake Slack API."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Iterator
from itertools import count
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from api.integrations import mount_integrations
from api.integrations.slack_blocks import SECTION_LIMIT, mrkdwn, turn_blocks, used_blocks
from api.main import create_app
from bot.advisor import Advisor
from bot.session_keys import SessionKeys
from bot.turn import Citation, FollowUp, Label, Option, Recommendation, Turn
from core.settings import Settings

from .fake_chat_servers import (
    SLACK_BOT_USER,
    SLACK_TEAM,
    FakeChatServer,
    GatedAdvisor,
    slack_api,
)

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"
CHANNEL = "C0CHANNEL"
POST = "/api/chat.postMessage"
_TS = count(1)


def new_ts() -> str:
    """A Slack message timestamp no other test uses."""
    return f"{int(time.time())}.{next(_TS):06d}"


def signature(body: str, timestamp: str, secret: str = SECRET) -> str:
    """Slack's request signature: v0= + hex HMAC-SHA256 of v0:timestamp:body."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(body: str, content_type: str, **overrides: str) -> dict[str, str]:
    """Headers of a request Slack signed just now."""
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature(body, timestamp),
    }
    return headers | overrides


def post_event(
    client: TestClient, event: dict[str, Any], event_id: str | None = None, **headers: str
) -> Any:
    """Send an Events API callback wrapping ``event``, signed."""
    body = json.dumps(
        {
            "token": "unused-legacy-token",
            "team_id": SLACK_TEAM,
            "api_app_id": "A0FAKE",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10]}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": SLACK_TEAM, "user_id": SLACK_BOT_USER, "is_bot": True}],
        },
        ensure_ascii=False,
    )
    return client.post(
        "/slack/events",
        content=body.encode(),
        headers=signed_headers(body, "application/json", **headers),
    )


def mention(text: str, ts: str, thread_ts: str | None = None) -> dict[str, Any]:
    """An app_mention event in CHANNEL."""
    event = {
        "type": "app_mention",
        "user": "U0PERSON",
        "text": f"<@{SLACK_BOT_USER}> {text}",
        "ts": ts,
        "channel": CHANNEL,
        "event_ts": ts,
    }
    return event | ({"thread_ts": thread_ts} if thread_ts else {})


@pytest.fixture
def slack() -> Iterator[FakeChatServer]:
    """A fake Slack Web API on 127.0.0.1."""
    with FakeChatServer(slack_api) as server:
        yield server


def slack_client(settings: Settings, advisor: Any, slack: FakeChatServer) -> TestClient:
    """The real app with Slack configured against the fake API."""
    configured = settings.model_copy(
        update={
            "slack_bot_token": TOKEN,
            "slack_signing_secret": SECRET,
            "slack_api_url": f"{slack.url}/api/",
        }
    )
    return TestClient(create_app(configured, advisor=advisor))


@pytest.fixture
def client(settings: Settings, advisor: Advisor, slack: FakeChatServer) -> Iterator[TestClient]:
    """A client of the app answering with the real advisor."""
    with slack_client(settings, advisor, slack) as test_client:
        yield test_client


@pytest.fixture
def gated(advisor: Advisor) -> GatedAdvisor:
    """The real advisor behind a gate the test opens."""
    return GatedAdvisor(advisor)


@pytest.fixture
def gated_client(
    settings: Settings, gated: GatedAdvisor, slack: FakeChatServer
) -> Iterator[TestClient]:
    """A client of the app whose advisor waits for the test's go-ahead."""
    with slack_client(settings, gated, slack) as test_client:
        yield test_client
    gated.gate.set()


def section_texts(blocks: list[dict[str, Any]]) -> list[str]:
    """The mrkdwn texts of the section blocks."""
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def test_mention_is_answered_in_its_thread_with_recommendations(
    client: TestClient, slack: FakeChatServer
) -> None:
    ts = new_ts()
    response = post_event(client, mention("借呗没额度，芝麻分580", ts))
    assert response.status_code == 200

    (call,) = slack.wait_for(POST)
    message = call.json
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert message["channel"] == CHANNEL
    assert message["thread_ts"] == ts
    texts = section_texts(message["blocks"])
    assert all(len(text) <= SECTION_LIMIT for text in texts)
    assert not any("**" in text for text in texts)
    recommendations = [t for t in texts if "年化利率：" in t and t.startswith("*")]
    assert recommendations, texts
    (context,) = [b for b in message["blocks"] if b["type"] == "context"]
    assert "#" in context["elements"][0]["text"]
    assert message["text"]
    (actions,) = [b for b in message["blocks"] if b["type"] == "actions"]
    assert message["blocks"][-1] == actions
    field = actions["block_id"].removeprefix("follow_up:")
    question = client.app.state.advisor.engine.diagnoser.questions[field]
    buttons = actions["elements"]
    assert [b["text"]["text"] for b in buttons] == [o.zh for o in question.options] + ["跳过"]
    assert [b["value"] for b in buttons] == [b["text"]["text"] for b in buttons]


def click(
    client: TestClient, message: dict[str, Any], button: dict[str, Any], ts: str = "", **extra: Any
) -> Any:
    """Send the block_actions payload of a click on ``button`` under ``message`` (posted as
    ``ts``), signed; like Slack's, it holds the message's blocks."""
    (actions,) = [b for b in message.get("blocks", []) if b["type"] == "actions"] or [{}]
    payload = {
        "type": "block_actions",
        "team": {"id": SLACK_TEAM, "domain": "fake"},
        "user": {"id": "U0PERSON"},
        "api_app_id": "A0FAKE",
        "container": {"type": "message", "channel_id": message["channel"],
                      "message_ts": new_ts(), "is_ephemeral": False},
        "channel": {"id": message["channel"]},
        "message": {"type": "message", "ts": ts or new_ts(), "text": message["text"],
                    "blocks": message.get("blocks", []),
                    **({"thread_ts": message["thread_ts"]} if "thread_ts" in message else {})},
        "trigger_id": "5.6.7",
        "actions": [{"type": "button", "action_id": button["action_id"], "value": button["value"],
                     "block_id": actions.get("block_id", "follow_up"), "action_ts": new_ts()}],
    } | extra  # fmt: skip
    body = urlencode({"payload": json.dumps(payload, ensure_ascii=False)})
    return client.post(
        "/slack/events",
        content=body,
        headers=signed_headers(body, "application/x-www-form-urlencoded"),
    )


def test_a_follow_up_button_answers_in_its_thread(
    client: TestClient, slack: FakeChatServer, advisor: Advisor
) -> None:
    ts = new_ts()
    post_event(client, mention("借呗没额度，芝麻分580，没有逾期", ts))
    (call,) = slack.wait_for(POST)
    (actions,) = [b for b in call.json["blocks"] if b["type"] == "actions"]
    field = actions["block_id"].removeprefix("follow_up:")
    question = advisor.engine.diagnoser.questions[field]

    response = click(client, call.json, actions["elements"][-2])  # the last option, not skip
    assert response.status_code == 200

    calls = slack.wait_for(POST, n=2)
    assert calls[1].json["thread_ts"] == ts
    session = client.app.state.session_keys.keyed("slack", SLACK_TEAM, CHANNEL, ts)
    assert getattr(advisor.profile(session), field) == question.options[-1].value
    later = [b for b in calls[1].json["blocks"] if b["type"] == "actions"]
    assert not later or later[0]["block_id"] != actions["block_id"]  # not asked again


def test_a_pressed_button_is_replaced_by_what_was_chosen(
    client: TestClient, slack: FakeChatServer
) -> None:
    ts = new_ts()
    post_event(client, mention("借呗没额度，芝麻分580，没有逾期", ts))
    (call,) = slack.wait_for(POST)
    (actions,) = [b for b in call.json["blocks"] if b["type"] == "actions"]
    button = actions["elements"][0]
    posted_ts = new_ts()

    assert click(client, call.json, button, ts=posted_ts).status_code == 200

    (update,) = slack.wait_for("/api/chat.update")
    assert update.json["channel"] == CHANNEL and update.json["ts"] == posted_ts
    blocks = update.json["blocks"]
    assert [b for b in blocks if b["type"] == "actions"] == []
    chosen = [b for b in blocks if b["type"] == "context" and "已选择" in b["elements"][0]["text"]]
    assert [b["elements"][0]["text"] for b in chosen] == [f"已选择：{button['text']['text']}"]
    assert len(blocks) == len(call.json["blocks"])  # the rest of the message is kept
    assert section_texts(blocks) == section_texts(call.json["blocks"])
    slack.wait_for(POST, n=2)  # and the answer still comes


def test_used_blocks_name_the_choice_in_the_turns_language() -> None:
    follow_up = FollowUp(field="is_student", question="Are you currently a student?",
                         options=[Option(value=True, label=Label(zh="是", en="Yes"))])  # fmt: skip
    blocks = turn_blocks(Turn(lang="en", reply="Are you a student?", follow_up=follow_up), str)
    used = used_blocks(blocks, "follow_up:is_student", "Yes", "en")
    assert used[0] == blocks[0]
    assert used[-1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": "Chosen: Yes"}]}
    assert used_blocks(blocks, "follow_up:other", "Yes", "en") == blocks


def test_english_turn_gets_english_buttons() -> None:
    follow_up = FollowUp(
        field="is_student",
        question="Are you currently a student?",
        options=[Option(value=True, label=Label(zh="是", en="Yes")),
                 Option(value=False, label=Label(zh="不是", en="No"))],
    )  # fmt: skip
    turn = Turn(lang="en", reply="Are you currently a student?", follow_up=follow_up)
    (actions,) = [b for b in turn_blocks(turn, str) if b["type"] == "actions"]
    assert [(b["text"]["text"], b["value"]) for b in actions["elements"]] == [
        ("Yes", "Yes"), ("No", "No"), ("Skip", "Skip")
    ]  # fmt: skip
    assert actions["block_id"] == "follow_up:is_student"
    assert turn_blocks(Turn(reply="hi"), str) == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}
    ]


def test_direct_message_is_answered_and_bot_messages_are_ignored(
    client: TestClient, slack: FakeChatServer
) -> None:
    bot_ts, ts = new_ts(), new_ts()
    dm = {"type": "message", "channel": "D0DIRECT", "channel_type": "im", "user": "U0PERSON"}
    bot_echo = post_event(client, dm | {"text": "我是机器人", "ts": bot_ts, "bot_id": "BOTHER"})
    assert bot_echo.status_code == 200

    assert post_event(client, dm | {"text": "网商贷被拒了", "ts": ts}).status_code == 200

    (call,) = slack.wait_for(POST)
    assert call.json["channel"] == "D0DIRECT"
    assert call.json["thread_ts"] == ts
    assert section_texts(call.json["blocks"])


def test_slash_command_is_acknowledged_before_the_turn_is_computed(
    gated_client: TestClient, gated: GatedAdvisor, slack: FakeChatServer
) -> None:
    response_url = f"{slack.url}/respond/T0FAKE/1/abc"
    body = urlencode(
        {
            "command": "/finadvisor",
            "text": "借呗没额度",
            "team_id": SLACK_TEAM,
            "channel_id": CHANNEL,
            "user_id": "U0PERSON",
            "response_url": response_url,
            "trigger_id": "1.2.3",
        }
    )
    started = time.monotonic()
    response = gated_client.post(
        "/slack/events",
        content=body,
        headers=signed_headers(body, "application/x-www-form-urlencoded"),
    )
    assert time.monotonic() - started < 3
    assert response.status_code == 200
    assert response.text == "正在分析…"
    assert slack.calls_to("/respond/T0FAKE/1/abc") == []

    gated.gate.set()
    (call,) = slack.wait_for("/respond/T0FAKE/1/abc")
    assert section_texts(call.json["blocks"])


def test_bad_signature_is_refused_with_401(client: TestClient, slack: FakeChatServer) -> None:
    body = json.dumps({"type": "event_callback", "event": mention("借呗没额度", new_ts())})
    headers = signed_headers(body, "application/json")
    headers["X-Slack-Signature"] = signature(body, headers["X-Slack-Request-Timestamp"], "wrong")

    response = client.post("/slack/events", content=body, headers=headers)

    assert response.status_code == 401
    assert response.json() == {"error": "invalid request"}
    assert slack.calls == []


def test_malformed_timestamp_is_refused_with_401(client: TestClient, slack: FakeChatServer) -> None:
    body = json.dumps({"type": "event_callback", "event": mention("借呗没额度", new_ts())})
    headers = signed_headers(body, "application/json", **{"X-Slack-Request-Timestamp": "soon"})

    assert client.post("/slack/events", content=body, headers=headers).status_code == 401


def test_stale_timestamp_is_refused_with_401(client: TestClient, slack: FakeChatServer) -> None:
    body = json.dumps({"type": "event_callback", "event": mention("借呗没额度", new_ts())})
    stale = str(int(time.time()) - 6 * 60)
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stale,
        "X-Slack-Signature": signature(body, stale),
    }

    response = client.post("/slack/events", content=body, headers=headers)

    assert response.status_code == 401
    assert slack.calls == []


def test_a_retried_event_is_not_handled_twice(
    gated_client: TestClient, gated: GatedAdvisor, slack: FakeChatServer
) -> None:
    ts = new_ts()
    event = mention("借呗没额度", ts)
    assert post_event(gated_client, event, event_id="EvRETRY1").status_code == 200

    retry = post_event(
        gated_client,
        event,
        event_id="EvRETRY1",
        **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert retry.status_code == 200
    assert retry.headers["x-slack-no-retry"] == "1"
    gated.gate.set()
    slack.wait_for(POST)

    # A later, different event is answered: by then the retry would have been too.
    post_event(gated_client, mention("网商贷被拒", new_ts()), event_id="EvRETRY2")
    calls = slack.wait_for(POST, n=2)
    assert len(calls) == 2
    assert [c.json["thread_ts"] for c in calls].count(ts) == 1


def test_one_thread_is_one_advisor_session(
    client: TestClient, slack: FakeChatServer, advisor: Advisor
) -> None:
    first_ts = new_ts()
    post_event(client, mention("借呗没额度", first_ts))
    slack.wait_for(POST)

    post_event(client, mention("芝麻分580", new_ts(), thread_ts=first_ts))
    calls = slack.wait_for(POST, n=2)

    assert [c.json["thread_ts"] for c in calls] == [first_ts, first_ts]
    keys = client.app.state.session_keys
    profile = advisor.profile(keys.keyed("slack", SLACK_TEAM, CHANNEL, first_ts))
    assert profile.platform == "jiebei"
    assert profile.zhima_score == 580


def test_url_verification_answers_the_challenge(client: TestClient, slack: FakeChatServer) -> None:
    body = json.dumps(
        {"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV", "type": "url_verification"}
    )

    response = client.post(
        "/slack/events", content=body, headers=signed_headers(body, "application/json")
    )

    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}


def test_adapters_are_mounted_only_when_their_secrets_are_set(
    settings: Settings, advisor: Advisor, caplog: pytest.LogCaptureFixture
) -> None:
    bare = create_app(settings, advisor=advisor)
    with TestClient(bare) as bare_client:
        assert bare_client.post("/slack/events", content=b"{}").status_code == 404

    configured = settings.model_copy(
        update={"slack_bot_token": TOKEN, "slack_signing_secret": SECRET}
    )
    with caplog.at_level(logging.INFO, logger="api.integrations"):
        assert mount_integrations(create_app(settings, advisor=advisor), configured) == ["Slack"]
    assert [r.getMessage() for r in caplog.records if r.name == "api.integrations"] == [
        "mounted the Slack adapter at POST /slack/events"
    ]


def test_blocks_respect_slack_limits_and_mrkdwn() -> None:
    reply = "**可能的原因**：信用记录太少\n" + "很长的一行说明。" * 1000
    turn = Turn(
        reply=reply,
        recommendations=[
            Recommendation(
                channel="credit_card",
                product="p",
                title="信用卡 <新户>",
                fit=0.5,
                why="w",
                apr="按期全额还款不计息",
                speed="数天内",
            ),
        ],
        citations=[Citation(n=1, doc_id="credit-card", heading="额度、利率与费用", title="t")],
    )

    blocks = turn_blocks(turn, lambda code: {"credit_card": "信用卡"}[code])

    texts = section_texts(blocks)
    assert len(texts) == 5
    assert "".join(texts[:4]) == mrkdwn(reply).replace("\n", "")
    assert all(len(text) <= SECTION_LIMIT for text in texts)
    assert "*可能的原因*" in texts[0] and "**" not in texts[0]
    assert (
        texts[-1] == "*信用卡 &lt;新户&gt;*\n信用卡｜年化利率：按期全额还款不计息｜到账速度：数天内"
    )
    assert blocks[-1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "来源：\ncredit-card#额度、利率与费用"}],
    }


def test_session_ids_are_keyed_valid_and_unguessable() -> None:
    keys = SessionKeys(b"k" * 32)
    thread = keys.keyed("slack", "T1", "C1", "1700000000.000100")
    long_id = keys.keyed("slack", "T1", "C1" * 40, "1700000000.000100")
    unsafe_id = keys.keyed("feishu", "oc_群聊", "线程")
    for session_id in (thread, long_id, unsafe_id):
        assert len(session_id) <= 64
        assert all(c.isascii() and (c.isalnum() or c in "_.:-") for c in session_id)
    assert "T1" not in thread and "1700000000" not in thread
    assert long_id != keys.keyed("slack", "T1", "C1" * 40, "1700000000.000200")
    assert thread != SessionKeys(b"o" * 32).keyed("slack", "T1", "C1", "1700000000.000100")
