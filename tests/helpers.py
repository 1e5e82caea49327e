"""Test helpers: small knowledge bases, free ports, waiting for servers."""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "knowledge"
# the keys of the diagnosis contract (design.md): diagnose --json, POST /v1/diagnose
CONTRACT_KEYS = {"profile", "reasons", "recommendations", "warnings", "missing", "citations"}


def small_knowledge_base(root: Path, doc_ids: tuple[str, ...]) -> Path:
    """A knowledge directory holding a few shipped documents plus taxonomy, lexicon, catalog."""
    (root / "docs").mkdir(parents=True, exist_ok=True)
    for name in ("taxonomy.yaml", "lexicon.yaml", "catalog.yaml", "required.yaml"):
        shutil.copy(SHIPPED / name, root / name)
    for doc_id in doc_ids:
        shutil.copy(SHIPPED / "docs" / f"{doc_id}.md", root / "docs" / f"{doc_id}.md")
    return root


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float = 30.0, what: str = "server") -> None:
    """Poll ``check`` until it returns True, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not come up within {timeout}s")
