"""compose.yaml and the Dockerfile, and the same topology run here as real processes.

Docker cannot run on the test machines, so the file is checked for what can be checked (it
parses, each service has a health check and a volume, the app has two or more workers and is
configured only through settings that exist), and its app environment is then used, with the
service names pointed at local processes, for ``finadvisor serve --workers 2`` against a real
redis-server and a real ``chroma run`` from the venv's chromadb.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import chromadb
import pytest
import redis
import yaml
from chromadb.config import Settings as ChromaSettings

from core.settings import Settings
from knowledge.index import SearchIndex
from knowledge.index.vectors import COLLECTIONS, chroma_client

from .helpers import REPO, free_port, wait_until
from .served import Served

COMPOSE = REPO / "compose.yaml"
DOCKERFILE = REPO / "Dockerfile"
CHROMA = Path(sys.executable).with_name("chroma")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def app_environment(compose: dict[str, Any]) -> dict[str, str]:
    """The app service's environment as a mapping (compose allows a list of NAME=value too)."""
    environment = compose["services"]["app"]["environment"]
    if isinstance(environment, list):
        environment = dict(entry.split("=", 1) for entry in environment)
    return {str(name): str(value) for name, value in environment.items()}


def test_compose_names_only_settings_that_exist(compose: dict[str, Any]) -> None:
    fields = set(Settings.model_fields)
    environment = app_environment(compose)
    assert all(name.startswith("FINADVISOR_") for name in environment)  # nothing else configures it
    named = set(re.findall(r"FINADVISOR_[A-Z0-9_]+", COMPOSE.read_text(encoding="utf-8")))
    assert named >= set(environment)
    unknown = {name for name in named if name.removeprefix("FINADVISOR_").lower() not in fields}
    assert not unknown, f"compose.yaml names settings that do not exist: {sorted(unknown)}"
    assert {"FINADVISOR_SESSION_URL", "FINADVISOR_STATE_URL", "FINADVISOR_CHROMA_URL"} <= named


def test_compose_runs_the_app_redis_and_chroma_each_checked_and_kept(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert set(services) == {"app", "redis", "chroma"}
    declared = set(compose["volumes"])
    for name, service in services.items():
        assert service["healthcheck"]["test"], f"{name} has no health check"
        mounts = {volume.split(":", 1)[0] for volume in service["volumes"]}
        assert mounts and mounts <= declared, f"{name} keeps nothing in a named volume"
    app = services["app"]
    command = app["command"]
    workers = int(command[command.index("--workers") + 1]) if "--workers" in command else 1
    replicas = int(app.get("deploy", {}).get("replicas", 1))
    assert workers * replicas >= 2
    assert set(app["depends_on"]) == {"redis", "chroma"}
    assert all(dep["condition"] == "service_healthy" for dep in app["depends_on"].values())
    chroma = services["chroma"]["command"]
    assert chroma[:2] == ["chroma", "run"] and chroma[chroma.index("--host") + 1] == "0.0.0.0"
    chroma_path = chroma[chroma.index("--path") + 1]
    assert any(volume.endswith(f":{chroma_path}") for volume in services["chroma"]["volumes"])
    environment = app_environment(compose)
    chroma_port = chroma[chroma.index("--port") + 1]
    assert environment["FINADVISOR_CHROMA_URL"] == f"http://chroma:{chroma_port}"
    assert environment["FINADVISOR_SESSION_URL"].startswith("redis://redis:")
    data_dir = environment["FINADVISOR_DATA_DIR"]
    assert any(volume.endswith(f":{data_dir}") for volume in app["volumes"])


def test_the_dockerfile_installs_the_package_and_runs_unprivileged() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()]
    assert lines[[line.startswith("FROM") for line in lines].index(True)] == "FROM python:3.11-slim"
    assert any(line.startswith("RUN pip install .") for line in lines)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    copied = {line.split()[1] for line in lines if line.startswith("COPY ")}
    packages = {"core", "bot", "knowledge", "api", "cli", "prompts"}
    assert packages <= copied  # what the app reads at run time: code, knowledge, prompts
    # and a plain `pip install .` carries the files that are not Python: the page, the prompts
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    assert "prompts" in setuptools["packages"]["find"]["include"]
    data = setuptools["package-data"]
    assert "static/*" in data["api"] and "*.yaml" in data["prompts"] and "*.md" in data["prompts"]
    prompts = [path for path in (REPO / "prompts").iterdir() if path.is_file()]
    assert prompts and all(path.suffix in {".md", ".yaml"} for path in prompts)  # all packaged


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    """``chroma run`` from the venv's chromadb on a free port."""
    port = free_port()
    command = [str(CHROMA), "run", "--path", str(tmp_path / "chroma"), "--host", "127.0.0.1",
               "--port", str(port)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(
            lambda: bool(chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat()),
            timeout=120,
            what="chroma server",
        )
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def seed_chroma(index_dir: Path, port: int) -> int:
    """Copy the built index's vectors into the server (embedding them again takes minutes)."""
    source = chroma_client(index_dir, None).get_collection(COLLECTIONS["shipped"])
    records = source.get(include=["embeddings", "documents", "metadatas"])
    server = chromadb.HttpClient(
        host="127.0.0.1", port=port, settings=ChromaSettings(anonymized_telemetry=False)
    )
    target = server.create_collection(COLLECTIONS["shipped"], metadata=source.metadata)
    batch = 500
    for start in range(0, len(records["ids"]), batch):
        end = start + batch
        target.add(
            ids=records["ids"][start:end],
            embeddings=records["embeddings"][start:end],
            documents=records["documents"][start:end],
            metadatas=records["metadatas"][start:end],
        )
    return target.count()


@pytest.mark.slow
def test_the_compose_topology_runs_as_processes(
    compose: dict[str, Any],
    tmp_path: Path,
    shipped_settings: Settings,
    shipped_index: SearchIndex,
    redis_url: str,
    chroma_server: int,
) -> None:
    seeded = seed_chroma(shipped_settings.index_dir, chroma_server)
    assert seeded == len(shipped_index.chunks)
    data_dir = tmp_path / "data"
    shutil.copytree(  # the chunk list and BM25, but no embedded vectors: those are in the server
        shipped_settings.index_dir,
        data_dir / "index",
        ignore=lambda folder, names: ["chroma"] if Path(folder).name == "index" else [],
    )
    redis_host = redis_url.rsplit("/", 1)[0].removeprefix("redis://")
    with redis.Redis.from_url(f"redis://{redis_host}/7") as client:
        client.flushdb()
    local = {  # the compose service names, pointed at this test's processes
        "redis://redis:6379/0": f"redis://{redis_host}/7",
        "http://chroma:8000": f"http://127.0.0.1:{chroma_server}",
        "/data": str(data_dir),
    }
    environment = {
        name: local.get(value, value) for name, value in app_environment(compose).items()
    }
    env = {name: value for name, value in os.environ.items() if not name.startswith("FINADVISOR_")}
    env |= environment | {"FINADVISOR_MODELS_DIR": os.environ["FINADVISOR_MODELS_DIR"]}

    with Served(env, tmp_path / "serve.log") as server:
        health = server.request("GET", "/healthz").json()
        assert health["retrieval"] == "hybrid" and health["chunks"] == seeded
        query = quote("下游压款 应收账款")
        hits = server.request("GET", f"/v1/search?q={query}&mode=dense&k=3")
        assert hits.status == 200
        assert hits.json()[0]["doc_id"] == "receivables-financing"  # found by the server's vectors
        body = json.dumps({"message": "借呗有入口没额度"}, ensure_ascii=False).encode()
        first = server.request("POST", "/v1/chat", body, {"Content-Type": "application/json"})
        assert first.status == 200 and "可能的原因" in first.json()["reply"]
        session = first.json()["session_id"]
        for text in ("芝麻分580", "没有逾期"):  # the session is in Redis: any worker continues it
            more = json.dumps({"session_id": session, "message": text}, ensure_ascii=False)
            answer = server.request(
                "POST", "/v1/chat", more.encode(), {"Content-Type": "application/json"}
            )
            assert answer.status == 200
        profile = server.request("GET", f"/v1/sessions/{session}").json()["profile"]
        assert profile["platform"] == "jiebei" and profile["zhima_score"] == 580
    assert (
        not (data_dir / "sessions.sqlite3").exists() and not (data_dir / "state.sqlite3").exists()
    )
    with redis.Redis.from_url(f"redis://{redis_host}/7") as client:
        assert client.keys("finadvisor:session:*") and client.keys("finadvisor:limits:*")
