"""``finadvisor serve``: the web chat page, the API and the chat webhooks under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from .common import console
from .index_cmds import open_index


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=32, help="Worker processes.")] = 1,
) -> None:
    """Start the server (builds the search index first when it is missing or stale)."""
    open_index()
    console.print(f"finadvisor: open http://{host}:{port}/ (API schema at /openapi.json)")
    uvicorn.run("api:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info", proxy_headers=False)  # fmt: skip
