"""``finadvisor serve``: the web chat page, the API and the chat webhooks under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from bot.classify import load_meaning_model
from bot.knowledge import check_knowledge

from .common import EXIT_PROBLEMS, console, err_console, settings
from .index_cmds import open_index


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=32, help="Worker processes.")] = 1,
) -> None:
    """Start the server (builds the search index first when it is missing or stale)."""
    knowledge_dir = settings().knowledge_dir
    problems = check_knowledge(knowledge_dir)
    if problems:  # a broken rule file never reaches a turn: refuse to start, say what is wrong
        for problem in problems:
            typer.echo(problem, err=True)
        err_console.print(f"[red]{len(problems)} problem(s)[/red] in {knowledge_dir}; not starting")
        raise typer.Exit(EXIT_PROBLEMS)
    open_index()
    config = settings()
    if config.meaning_models:  # fitted once here (seconds), then every worker loads the cache
        load_meaning_model(config.knowledge_dir / "training", config.meaning_cache_dir)
    console.print(f"finadvisor: open http://{host}:{port}/ (API docs at /docs)")
    uvicorn.run("api:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info", proxy_headers=False)  # fmt: skip
