"""Bounded cost (issue 13): stalled bodies are cut off with 408, OpenAI replay is bounded and
charged against the rate limit, and clients are told apart only as the settings say."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi.testclient import TestClient

from api import create_app
from bot.advisor import Advisor

from .helpers import free_port, wait_until


@pytest.fixture
def slow_body_server(advisor: Advisor) -> Iterator[int]:
    """A real uvicorn whose body timeout is one second."""
    settings = advisor.settings.model_copy(update={"body_timeout": 1.0})
    config = uvicorn.Config(create_app(settings, advisor=advisor), host="127.0.0.1",
                            port=free_port(), log_level="warning")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, what="uvicorn")
    try:
        yield config.port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_body_that_never_completes_is_cut_off_with_408(slow_body_server: int) -> None:
    with socket.create_connection(("127.0.0.1", slow_body_server), timeout=10) as sock:
        sock.sendall(b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{\"mes")  # fmt: skip
        started = time.monotonic()
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"30" not in answer.split(b"\r\n\r\n", 1)[1] and b"1 seconds" in answer
    assert elapsed < 5  # answered after about a second, and the connection closed


def completion(*texts: str, **extra: object) -> dict[str, object]:
    return {
        "model": "finadvisor",
        "messages": [{"role": "user", "content": t} for t in texts],
    } | extra


def test_openai_replay_is_bounded(advisor: Advisor) -> None:
    settings = advisor.settings.model_copy(
        update={"rate_limit": "1000/minute", "openai_max_messages": 5, "openai_max_chars": 100}
    )
    with TestClient(create_app(settings, advisor=advisor)) as client:
        many = client.post("/v1/chat/completions", json=completion(*["借呗"] * 6))
        assert many.status_code == 413 and "5" in many.json()["error"]
        long = client.post("/v1/chat/completions", json=completion("借" * 60, "呗" * 60))
        assert long.status_code == 413 and "100" in long.json()["error"]
        schema = client.get("/openapi.json").json()["components"]["schemas"]
        assert schema["ChatCompletionRequest"]["properties"]["messages"]["maxItems"] == 5
        assert client.post("/v1/chat/completions", json=completion("借呗没额度")).status_code == 200


def test_replayed_turns_count_against_the_rate_limit(advisor: Advisor) -> None:
    settings = advisor.settings.model_copy(update={"rate_limit": "5/minute"})
    with TestClient(create_app(settings, advisor=advisor)) as client:
        replay = completion("我是个体户", "开店三年", "纳税B级", "借呗没额度")  # 3 replayed + 1
        assert client.post("/v1/chat/completions", json=replay).status_code == 200  # costs 4
        assert client.get("/v1/models").status_code == 200  # the fifth hit
        refused = client.post("/v1/chat/completions", json=completion("a", "b", "c"))
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    with TestClient(create_app(settings, advisor=advisor)) as client:
        too_many = completion(*["借呗没额度"] * 6)  # 5 replayed: more than the whole limit
        assert client.post("/v1/chat/completions", json=too_many).status_code == 429


def test_clients_are_their_peer_unless_a_proxy_header_is_trusted(advisor: Advisor) -> None:
    base = advisor.settings.model_copy(update={"rate_limit": "2/minute"})
    with TestClient(create_app(base, advisor=advisor)) as client:
        statuses = [client.get("/v1/models", headers={"X-Forwarded-For": f"10.0.0.{n}"}).status_code
                    for n in range(3)]  # fmt: skip
        assert statuses == [200, 200, 429]  # a forged header does not make a new client
    trusted = base.model_copy(update={"client_ip_header": "X-Forwarded-For"})
    with TestClient(create_app(trusted, advisor=advisor)) as client:
        for n in range(3):
            forwarded = {
                "X-Forwarded-For": f"203.0.113.9, 10.0.0.{n}"
            }  # the proxy's own entry last
            assert client.get("/v1/models", headers=forwarded).status_code == 200
        same = {"X-Forwarded-For": "198.51.100.1, 10.0.0.0"}
        assert client.get("/v1/models", headers=same).status_code == 200
        assert client.get("/v1/models", headers=same).status_code == 429


def test_a_long_run_of_numerals_is_refused_at_the_edge(advisor: Advisor) -> None:
    settings = advisor.settings.model_copy(update={"rate_limit": "1000/minute"})
    with TestClient(create_app(settings, advisor=advisor)) as client:
        numerals = client.post("/v1/chat", json={"message": ("三万五千" * 500)[:2000]})
        assert numerals.status_code == 422 and "40" in numerals.json()["error"]
        spaced = client.post("/v1/chat", json={"message": ("三万五千借，" * 400)[:2000]})
        assert spaced.status_code == 200


def test_long_texts_count_as_several_requests(advisor: Advisor) -> None:
    settings = advisor.settings.model_copy(update={"rate_limit": "6/minute"})
    with TestClient(create_app(settings, advisor=advisor)) as client:
        long = ("借呗有入口没额度，芝麻分620，没有逾期。" * 100)[:2000]
        assert client.post("/v1/diagnose", json={"text": long}).status_code == 200  # 1 + 4 hits
        assert client.get("/v1/models").status_code == 200  # the sixth
        assert client.get("/v1/search", params={"q": "借呗"}).status_code == 429
