"""English end to end through the real app: a scripted English conversation stays English."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api import create_app
from bot.advisor import Advisor

CJK = re.compile(r"[\u4e00-\u9fff]")
SOURCES = "**Sources**"

SCRIPT = (
    "Hi, my Jiebei shows the entry but gives me no limit. My Sesame score is 620, never late.",
    "I run a small shop as a sole proprietor and need about 50k for stock within days.",
    "How much can I get from a tax loan, and what documents do I need?",
    "What's a daily rate of 0.05% as APR?",
    "3",
    "Compare factoring and a tax loan",
    "How many loan applications are too many? My credit report has lots of inquiries.",
    "summary",
)


@pytest.fixture
def client(advisor: Advisor) -> Iterator[TestClient]:
    settings = advisor.settings.model_copy(update={"rate_limit": "1000/minute"})
    with TestClient(create_app(settings, advisor=advisor)) as test_client:
        yield test_client


def _body(reply: str) -> str:
    return reply.split(SOURCES)[0]


def test_an_english_conversation_has_no_chinese_before_the_sources(client: TestClient) -> None:
    session: str | None = None
    replies: list[dict[str, object]] = []
    for message in SCRIPT:
        payload = {"message": message} | ({"session_id": session} if session else {})
        response = client.post("/v1/chat", json=payload)
        assert response.status_code == 200, response.text
        turn = response.json()
        session = turn["session_id"]
        replies.append(turn)
        assert turn["lang"] == "en", message
        body = _body(str(turn["reply"]))
        assert body.strip(), message
        assert not CJK.search(body), f"{message!r} -> {CJK.findall(body)[:10]}\n{body}"
        for card in turn["recommendations"]:
            assert not CJK.search(card["title"] + card["why"] + card["apr"]), card
            assert not any(CJK.search(m) for m in card["materials"]), card
    apr_reply = _body(str(replies[3]["reply"]))
    assert "18.25" in apr_reply[:300]
    assert replies[3]["apr"]["apr"] == 18.25
    products = [c["title"] for turn in replies for c in turn["recommendations"]]  # type: ignore[attr-defined]
    assert products, "the conversation showed no product at all"


def test_the_same_rate_in_chinese_gives_the_same_apr(client: TestClient) -> None:
    english = client.post("/v1/chat", json={"message": "What's a daily rate of 0.05% as APR?"})
    chinese = client.post("/v1/chat", json={"message": "日息万五，年化是多少？"})
    assert english.json()["apr"]["apr"] == chinese.json()["apr"]["apr"] == 18.25
    assert "18.25" in _body(english.json()["reply"])
    assert CJK.search(_body(chinese.json()["reply"]))
