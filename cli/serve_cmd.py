"""``finadvisor serve``: the web chat page, the API and the chat webhooks under uvicorn."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
import uvicorn

from bot.classify import load_meaning_model
from bot.knowledge import check_knowledge
from bot.session_keys import load_secret

from .common import EXIT_PROBLEMS, console, err_console, settings
from .index_cmds import open_index

# uvicorn kills a worker that does not answer its supervisor's ping within this time; a spawned
# worker answers only after importing the CLI and the engine, which takes more than uvicorn's
# default 5 s on a busy machine (workers were then killed and respawned in a loop).
WORKER_HEALTHCHECK_SECONDS = 60


class LogLevel(StrEnum):
    """uvicorn's log levels (the app's loggers follow the server's)."""

    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=32, help="Worker processes.")] = 1,
    log_level: Annotated[LogLevel, typer.Option(help="Of the server and the app.")] = LogLevel.info,
) -> None:
    """Start the server (builds the search index first when it is missing or stale)."""
    knowledge_dir = settings().knowledge_dir
    problems = check_knowledge(knowledge_dir)
    if problems:  # a broken rule file never reaches a turn: refuse to start, say what is wrong
        for problem in problems:
            typer.echo(problem, err=True)
        err_console.print(f"[red]{len(problems)} problem(s)[/red] in {knowledge_dir}; not starting")
        raise typer.Exit(EXIT_PROBLEMS)
    config = settings()
    from api.shared_state import check_shared_state  # imported here: workers re-import this module

    state = check_shared_state(config)  # rate limits and delivery ids, before minutes of indexing
    load_secret(config)  # generated here once, so that workers starting together read one key
    open_index()
    if config.meaning_models:  # fitted once here (seconds), then every worker loads the cache
        load_meaning_model(config.knowledge_dir / "training", config.meaning_cache_dir)
    from api.metrics import multiprocess_dir, prepare_multiprocess_dir

    if workers > 1 and multiprocess_dir() is None:  # /metrics then sums over every worker
        prepare_multiprocess_dir(config.data_dir / "metrics")
    console.print(f"finadvisor: shared state in {state}", soft_wrap=True)
    console.print(f"finadvisor: open http://{host}:{port}/ (API docs at /docs)")
    uvicorn.run("api:create_app", factory=True, host=host, port=port, workers=workers,
                log_level=log_level.value, proxy_headers=False,
                timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS)  # fmt: skip
