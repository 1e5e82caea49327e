"""Shared fixtures: every test gets its own data directory and a clean FINADVISOR_* environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.settings import Settings

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
