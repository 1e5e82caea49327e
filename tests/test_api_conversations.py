"""Scripted multi-turn conversations through the real app: /v1/chat, its SSE stream and the
OpenAI-compatible endpoint each answer what was asked first, change from turn to turn, keep
English English and acknowledge a correction (``tests/conversation_scripts.py``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import create_app
from bot.advisor import Advisor

from .conversation_scripts import SCRIPTS, Script, Shown, check
from .test_api import sse_events


@pytest.fixture
def client(advisor: Advisor) -> Iterator[TestClient]:
    settings = advisor.settings.model_copy(update={"rate_limit": "1000/minute"})
    with TestClient(create_app(settings, advisor=advisor)) as test_client:
        yield test_client


Interface = Callable[[TestClient, Script], list[Shown]]


def through_chat(client: TestClient, script: Script) -> list[Shown]:
    """POST /v1/chat turn by turn in one session."""
    session: str | None = None
    shown = []
    for step in script.steps:
        payload = {"message": step.message} | ({"session_id": session} if session else {})
        response = client.post("/v1/chat", json=payload)
        assert response.status_code == 200, response.text
        turn = response.json()
        assert turn["view"] == "full" or (session is not None and not step.summary)
        session = turn["session_id"]
        shown.append(Shown(turn["reply"], turn["profile"]))
    return shown


def through_stream(client: TestClient, script: Script) -> list[Shown]:
    """POST /v1/chat/stream: the reply as the `delta` events spell it, the profile from `turn`."""
    session: str | None = None
    shown = []
    for step in script.steps:
        payload = {"message": step.message} | ({"session_id": session} if session else {})
        response = client.post("/v1/chat/stream", json=payload)
        assert response.status_code == 200, response.text
        events = sse_events(response.text)
        streamed = "".join(json.loads(data)["text"] for name, data in events if name == "delta")
        turn = json.loads(events[-1][1])
        assert events[-1][0] == "turn" and streamed == turn["reply"]
        session = turn["session_id"]
        shown.append(Shown(streamed, turn["profile"]))
    return shown


def through_openai(client: TestClient, script: Script) -> list[Shown]:
    """POST /v1/chat/completions keyed by `user`, sending the history as a chat UI does."""
    user = f"conversation-{uuid.uuid4().hex[:12]}"
    history: list[dict[str, str]] = []
    shown = []
    for step in script.steps:
        history.append({"role": "user", "content": step.message})
        body = {"model": "finadvisor", "user": user, "messages": history}
        response = client.post("/v1/chat/completions", json=body)
        assert response.status_code == 200, response.text
        completion: dict[str, Any] = response.json()
        content = completion["choices"][0]["message"]["content"]
        history.append({"role": "assistant", "content": content})
        shown.append(Shown(content, completion["finadvisor"]["profile"]))
    return shown


INTERFACES: dict[str, Interface] = {
    "chat": through_chat,
    "stream": through_stream,
    "openai": through_openai,
}


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
@pytest.mark.parametrize("interface", INTERFACES)
def test_a_scripted_conversation_answers_what_was_asked(
    client: TestClient, interface: str, script: Script
) -> None:
    check(script, INTERFACES[interface](client, script))


def test_the_chat_turn_says_which_view_its_text_shows(client: TestClient) -> None:
    first = client.post("/v1/chat", json={"message": "开奶茶店三年，纳税B级，想借20万进货"}).json()
    session = first["session_id"]
    asked = client.post("/v1/chat", json={"session_id": session, "message": "税贷利率多少"})
    summary = client.post("/v1/chat", json={"session_id": session, "message": "总结一下"})
    assert first["view"] == "full" and first["act"]["kind"] == "gives_facts"
    assert asked.json()["view"] == "delta"
    assert asked.json()["act"] == {"kind": "asks", "question": "cost"}
    assert asked.json()["recommendations"], "a delta turn still carries the whole picture"
    assert summary.json()["view"] == "full" and summary.json()["act"]["kind"] == "summary"
    schema = client.get("/openapi.json").json()
    reply = schema["paths"]["/v1/chat"]["post"]["responses"]["200"]["content"]
    assert reply["application/json"]["schema"] == {"$ref": "#/components/schemas/ChatReply"}
    assert schema["components"]["schemas"]["ChatReply"]["properties"]["view"]["enum"] == [
        "full",
        "delta",
    ]
