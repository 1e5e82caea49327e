"""The ``finadvisor`` command line: knowledge-base tools, search, chat and evaluation."""

from __future__ import annotations

from collections import Counter

import typer
from rich.table import Table

from bot.knowledge import check_knowledge
from core.errors import FinadvisorError, KnowledgeError
from knowledge import chinese_chars, load_catalog, load_documents

from .chat_cmds import apr, ask, chat, diagnose
from .common import EXIT_BAD_INPUT, EXIT_PROBLEMS, console, err_console
from .common import settings as _settings
from .eval_cmds import eval_app
from .index_cmds import index_app, search
from .serve_cmd import serve

app = typer.Typer(no_args_is_help=True, add_completion=False, help="finadvisor：融资渠道顾问")
kb_app = typer.Typer(no_args_is_help=True, help="Knowledge-base tools.")
app.add_typer(kb_app, name="kb")
app.add_typer(index_app, name="index")
app.add_typer(eval_app, name="eval")
app.command("search")(search)
app.command("chat")(chat)
app.command("ask")(ask)
app.command("diagnose")(diagnose)
app.command("apr")(apr)
app.command("serve")(serve)


@kb_app.command("check")
def kb_check() -> None:
    """Validate documents, catalog and taxonomy; exit 1 with one line per problem."""
    settings = _settings()
    problems = check_knowledge(settings.knowledge_dir)
    for problem in problems:
        typer.echo(problem)
    if problems:
        err_console.print(f"[red]{len(problems)} problem(s)[/red] in {settings.knowledge_dir}")
        raise typer.Exit(EXIT_PROBLEMS)
    err_console.print(f"[green]knowledge base OK[/green]: {settings.knowledge_dir}")


@kb_app.command("stats")
def kb_stats() -> None:
    """Print each document's body length and the catalog count per channel."""
    settings = _settings()
    try:
        docs = load_documents(settings.docs_dir)
        catalog = load_catalog(settings.knowledge_dir)
    except (KnowledgeError, ValueError) as exc:
        err_console.print(f"[red]Cannot load the knowledge base:[/red] {exc}")
        raise typer.Exit(EXIT_PROBLEMS) from exc
    table = Table("id", "kind", "chars", title=f"{len(docs)} documents")
    for doc in docs:
        table.add_row(doc.id, doc.meta.kind, str(chinese_chars(doc.body)))
    console.print(table)
    per_channel = Counter(p.channel for p in catalog.products)
    per_channel["credit_improvement"] = len(catalog.credit_improvement)
    channels = Table("channel", "entries", title=f"{len(catalog.products)} products")
    for channel, count in sorted(per_channel.items()):
        channels.add_row(channel, str(count))
    console.print(channels)


def main() -> None:
    """Console-script entry point: domain errors become one-line messages, never tracebacks."""
    try:
        app()
    except FinadvisorError as exc:
        err_console.print(f"[red]Error:[/red] {exc}")
        raise SystemExit(EXIT_BAD_INPUT) from exc
