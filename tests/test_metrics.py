"""/metrics, request ids and log lines against the real app (and, once, two real workers)."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from api import create_app
from api.logs import formatter
from bot.advisor import Advisor
from bot.pipeline import PIPELINE
from bot.turn import Turn
from core.settings import Settings
from knowledge.index import SearchIndex

from .fake_llm import FakeOpenAI
from .helpers import free_port, wait_until

MESSAGE = "借呗有入口没额度，芝麻分620，没有逾期"
SHORT_STAGES = {stage.name for stage in PIPELINE if stage.short}
ALL_STAGES = {stage.name for stage in PIPELINE}


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text exposition: (name, labels) -> value."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(scraped: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
          **labels: str) -> float:  # fmt: skip
    """One sample's value (0 when absent, as Prometheus reads a counter that never moved)."""
    return scraped.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def client(advisor: Advisor) -> Iterator[TestClient]:
    settings = advisor.settings.model_copy(update={"rate_limit": "1000/minute"})
    with TestClient(create_app(settings, advisor=advisor)) as test_client:
        yield test_client


def test_metrics_after_turns_on_each_interface(client: TestClient, advisor: Advisor) -> None:
    api = client.post("/v1/chat", json={"message": MESSAGE}).json()
    client.post("/v1/chat/stream", json={"message": MESSAGE})
    web = client.post(
        "/v1/chat", json={"message": "你好"}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    openai = client.post("/v1/chat/completions", json={
        "model": "finadvisor", "messages": [{"role": "user", "content": MESSAGE}]})  # fmt: skip
    assert openai.status_code == 200 and web.status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    scraped = samples(response.text)
    intent, greeting = api["intent"], web.json()["intent"]
    assert intent == "diagnose" and greeting == "small_talk"
    assert value(scraped, "finadvisor_turns_total", intent=intent, interface="api") == 1
    assert value(scraped, "finadvisor_turns_total", intent=intent, interface="sse") == 1
    assert value(scraped, "finadvisor_turns_total", intent=intent, interface="openai") == 1
    assert value(scraped, "finadvisor_turns_total", intent=greeting, interface="web") == 1
    assert sum(v for (n, _), v in scraped.items() if n == "finadvisor_turns_total") == 4
    # every stage of the three full turns was timed; the greeting ran only the short stages
    for stage in ALL_STAGES:
        expected = 4 if stage in SHORT_STAGES else 3
        assert value(scraped, "finadvisor_stage_seconds_count", stage=stage) == expected, stage
    assert value(scraped, "finadvisor_stage_seconds_sum", stage="understand") > 0
    chat = {"method": "POST", "route": "/v1/chat", "status": "200"}
    assert value(scraped, "finadvisor_http_request_duration_seconds_count", **chat) == 2
    assert value(scraped, "finadvisor_http_request_duration_seconds_bucket", **chat, le="+Inf") == 2
    stream = {"method": "POST", "route": "/v1/chat/stream", "status": "200"}
    assert value(scraped, "finadvisor_http_request_duration_seconds_count", **stream) == 1
    index = advisor.index
    assert value(scraped, "finadvisor_index_chunks") == len(index.chunks)
    assert value(scraped, "finadvisor_index_documents") == len({c.doc_id for c in index.chunks})
    assert value(scraped, "finadvisor_index_documents") >= 40
    assert value(scraped, "finadvisor_rate_limited_total", route="/v1/chat") == 0


def test_route_templates_and_unknown_paths(client: TestClient) -> None:
    session = client.post("/v1/chat", json={"message": "你好"}).json()["session_id"]
    assert client.get(f"/v1/sessions/{session}").status_code == 200
    assert client.get("/v1/sessions/s-" + "0" * 40).status_code == 404
    assert client.get("/no/such/path/123").status_code == 404
    scraped = samples(client.get("/metrics").text)
    name = "finadvisor_http_request_duration_seconds_count"
    route = "/v1/sessions/{session_id}"
    assert value(scraped, name, method="GET", route=route, status="200") == 1
    assert value(scraped, name, method="GET", route=route, status="404") == 1
    assert value(scraped, name, method="GET", route="unmatched", status="404") == 1
    assert not any(session in str(labels) for _, labels in scraped)  # no ids as labels


def test_rate_limit_rejections_are_counted_and_metrics_is_not_limited(
    advisor: Advisor,
) -> None:
    settings = advisor.settings.model_copy(update={"rate_limit": "2/minute"})
    with TestClient(create_app(settings, advisor=advisor)) as client:
        codes = [client.post("/v1/chat", json={"message": "你好"}).status_code for _ in range(4)]
        assert codes == [200, 200, 429, 429]
        scrapes = [client.get("/metrics") for _ in range(3)]  # the client is over its limit
    assert [r.status_code for r in scrapes] == [200, 200, 200]
    scraped = samples(scrapes[-1].text)
    assert value(scraped, "finadvisor_rate_limited_total", route="/v1/chat") == 2
    assert value(scraped, "finadvisor_http_request_duration_seconds_count",
                 method="POST", route="/v1/chat", status="429") == 2  # fmt: skip


def test_metrics_needs_an_api_key_when_keys_are_set(advisor: Advisor) -> None:
    settings = advisor.settings.model_copy(update={"api_keys": SecretStr("k-metrics")})
    with TestClient(create_app(settings, advisor=advisor)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"X-API-Key": "wrong"}).status_code == 401
        allowed = client.get("/metrics", headers={"Authorization": "Bearer k-metrics"})
    assert allowed.status_code == 200 and "finadvisor_turns" in allowed.text


class FailingAdvisor(Advisor):
    """An advisor whose turns fail the way a bug would."""

    def reply(self, session_id: str | None, text: str) -> Turn:
        raise RuntimeError("boom")


def test_errors_are_counted_by_class(shipped_settings: Settings, shipped_index) -> None:
    broken = FailingAdvisor(shipped_settings, index=shipped_index)
    app = create_app(shipped_settings, advisor=broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        failed = client.post("/v1/chat", json={"message": "你好"})
        scraped = samples(client.get("/metrics").text)
    assert failed.status_code == 500 and "Traceback" not in failed.text
    assert value(scraped, "finadvisor_errors_total", error="RuntimeError") == 1
    assert value(scraped, "finadvisor_http_request_duration_seconds_count",
                 method="POST", route="/v1/chat", status="500") == 1  # fmt: skip


@pytest.mark.parametrize(
    ("behaviours", "reason"),
    [
        (("error500",), "error"),
        (("garbage", "garbage"), "rejected"),
    ],  # a failed call is not retried
)
def test_llm_fallbacks_are_counted(
    shipped_settings: Settings, shipped_index: SearchIndex, behaviours: tuple[str, ...],
    reason: str,
) -> None:  # fmt: skip
    with FakeOpenAI() as fake:
        settings = shipped_settings.model_copy(update={
            "llm": "openai:fake-model", "llm_base_url": fake.url, "llm_api_key": "k",
            "llm_timeout": 5.0, "llm_deadline": 5.0, "meaning_models": False})  # fmt: skip
        llm_advisor = Advisor(settings, index=shipped_index)
        with TestClient(create_app(settings, advisor=llm_advisor)) as client:
            fake.script(*behaviours)
            failed = client.post("/v1/chat", json={"message": MESSAGE}).json()
            good = client.post("/v1/chat", json={"message": MESSAGE}).json()
            scraped = samples(client.get("/metrics").text)
    assert failed["llm"]["used"] is False and good["llm"]["used"] is True
    assert value(scraped, "finadvisor_llm_fallbacks_total", reason=reason) == 1
    assert sum(v for (n, _), v in scraped.items() if n == "finadvisor_llm_fallbacks_total") == 1


def test_request_id_in_log_lines_and_header(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot"):
        given = client.post("/v1/chat", json={"message": MESSAGE},
                            headers={"X-Request-Id": "req-42.a:b"})  # fmt: skip
    assert given.headers["x-request-id"] == "req-42.a:b"
    turn_lines = [r for r in caplog.records if r.getMessage().startswith("turn session=")]
    assert [r.request_id for r in turn_lines] == ["req-42.a:b"]  # type: ignore[attr-defined]
    line = formatter("text").format(turn_lines[0])
    assert "[req-42.a:b] turn session=" in line and " INFO bot.advisor " in line
    as_json = json.loads(formatter("json").format(turn_lines[0]))
    assert as_json["request_id"] == "req-42.a:b" and as_json["logger"] == "bot.advisor"
    assert as_json["message"].startswith("turn session=")


@pytest.mark.parametrize(
    "given", [None, b"", b"has space", b"x" * 65, "idé".encode(), b"a/b", b"a\x00b"]
)
def test_insane_or_missing_request_ids_are_replaced(
    client: TestClient, given: bytes | None
) -> None:
    headers = {} if given is None else {"X-Request-Id": given}
    echoed = client.get("/healthz", headers=headers).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", echoed)


def test_request_ids_differ_and_errors_carry_them(client: TestClient) -> None:
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3
    bad = client.post("/v1/chat", content=b"{", headers={"X-Request-Id": "bad-body-1"})
    assert bad.status_code == 400 and bad.headers["x-request-id"] == "bad-body-1"


# ---- two real workers ------------------------------------------------------------------------


@pytest.fixture
def two_workers(
    shipped_index: SearchIndex, shipped_settings: Settings, tmp_path: Path
) -> Iterator[tuple[str, Path, Path]]:
    """``finadvisor serve --workers 2`` with JSON logs on a copy of the shipped index."""
    data = tmp_path / "data"
    shutil.copytree(shipped_settings.index_dir, data / "index")
    port, log_path = free_port(), tmp_path / "server.log"
    env = {**os.environ, "FINADVISOR_DATA_DIR": str(data), "FINADVISOR_LOG_FORMAT": "json",
           "FINADVISOR_RATE_LIMIT": "10000/minute"}  # fmt: skip
    finadvisor = str(Path(sys.executable).parent / "finadvisor")
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [finadvisor, "serve", "--port", str(port), "--workers", "2"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:

            def up() -> bool:
                assert server.poll() is None, log_path.read_text()[-3000:]
                return httpx.get(f"{url}/healthz").status_code == 200

            wait_until(up, 240, "2 workers")
            yield url, data / "metrics", log_path
        finally:
            server.terminate()
            server.wait(timeout=60)


@pytest.mark.slow
def test_two_workers_aggregate_and_log_json(two_workers: tuple[str, Path, Path]) -> None:
    url, metrics_dir, log_path = two_workers
    sent = 0

    def turn(n: int) -> int:
        with httpx.Client(timeout=60) as fresh:  # a new connection: either worker may accept it
            headers = {"X-Request-Id": f"two-workers-{n}"}
            return fresh.post(
                f"{url}/v1/chat", json={"message": "你好"}, headers=headers
            ).status_code

    def pids_with_turns() -> set[str]:
        return {p.name.split("_")[1].split(".")[0] for p in metrics_dir.glob("counter_*.db")}

    with ThreadPoolExecutor(8) as pool:
        while sent < 160 and len(pids_with_turns()) < 2:
            assert set(pool.map(turn, range(sent, sent + 16))) == {200}
            sent += 16
    assert len(pids_with_turns()) == 2, "every request went to one worker"
    scrapes = [samples(httpx.get(f"{url}/metrics").text) for _ in range(4)]
    for scraped in scrapes:  # whichever worker answers the scrape, it sums both
        assert (
            value(scraped, "finadvisor_turns_total", intent="small_talk", interface="api") == sent
        )
        assert value(scraped, "finadvisor_stage_seconds_count", stage="understand") == sent
        assert value(scraped, "finadvisor_index_chunks") > 0
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    mine = [line for line in lines if line["request_id"] == "two-workers-3"]
    assert {line["logger"] for line in mine} >= {"bot.advisor", "uvicorn.access"}
    assert all(set(line) >= {"time", "level", "logger", "message"} for line in lines)
