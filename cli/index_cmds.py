"""``finadvisor index``, ``index add/list/remove`` and ``search``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from knowledge.index import IndexReport, SearchIndex

from .common import EXIT_BAD_INPUT, console, err_console, settings

index_app = typer.Typer(help="Build and manage the search index.", invoke_without_command=True)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def run_update(index: SearchIndex, rebuild: bool = False) -> IndexReport:
    """Update the index with a progress bar on stderr."""
    with _progress() as bar:
        task = bar.add_task("indexing", total=None)

        def step(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        return index.update(rebuild=rebuild, progress=step)


def print_report(report: IndexReport, *, to_stderr: bool = False) -> None:
    """One summary block for an index update (on stderr when stdout carries other output)."""
    if report.note:
        err_console.print(f"[yellow]Note:[/yellow] {report.note}")
    (err_console if to_stderr else console).print(
        f"documents: {report.added} added, {report.updated} updated, {report.removed} removed, "
        f"{report.unchanged} unchanged; chunks: {report.chunks} "
        f"({report.embedded_chunks} embedded); {report.seconds:.1f}s; "
        f"retrieval: {'hybrid' if report.dense else 'BM25 only'}"
    )


@index_app.callback()
def index(
    ctx: typer.Context,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-index everything.")] = False,
) -> None:
    """Index what changed in the knowledge base (everything with --rebuild)."""
    if ctx.invoked_subcommand is not None:
        return
    print_report(run_update(SearchIndex.from_settings(settings()), rebuild=rebuild))


@index_app.command("add")
def index_add(paths: Annotated[list[Path], typer.Argument(help="Files to add.")]) -> None:
    """Add your own .md, .txt, .pdf, .docx or .html files to the search index."""
    search_index = SearchIndex.from_settings(settings())
    results = search_index.add_user_files(paths)
    for path, error in results:
        if error:
            err_console.print(f"[red]skipped[/red] {error}")
        else:
            console.print(f"added {path}")
    print_report(run_update(search_index))
    if any(error for _, error in results):
        raise typer.Exit(EXIT_BAD_INPUT)


@index_app.command("list")
def index_list() -> None:
    """List your own documents in the index."""
    documents = SearchIndex.from_settings(settings()).user_documents()
    if not documents:
        console.print("No documents of your own yet; add some with `finadvisor index add FILE`.")
    for doc in documents:
        console.print(f"{doc['doc_id']}\t{doc['title']}\t{doc['chunks']} chunks")


@index_app.command("remove")
def index_remove(
    doc_ids: Annotated[list[str], typer.Argument(help="Ids from `index list`.")],
) -> None:
    """Remove your own documents from the index."""
    search_index = SearchIndex.from_settings(settings())
    unknown = [d for d in doc_ids if not search_index.remove_user_document(d)]
    for doc_id in unknown:
        err_console.print(
            f"[red]No document of yours has id {doc_id}[/red]; see `finadvisor index list`."
        )
    print_report(run_update(search_index))
    if unknown:
        raise typer.Exit(EXIT_BAD_INPUT)


def search(
    queries: Annotated[
        list[str], typer.Argument(help="Queries, or - to read one per line from stdin.")
    ],
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="Results per query.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per query.")] = False,
    mode: Annotated[str, typer.Option(help="hybrid, bm25 or dense.")] = "hybrid",
    kind: Annotated[list[str] | None, typer.Option(help="Only documents of this kind.")] = None,
    channel: Annotated[
        list[str] | None, typer.Option(help="Only documents for this channel.")
    ] = None,
) -> None:
    """Search the knowledge base; start-up is paid once for all queries."""
    if mode not in {"hybrid", "bm25", "dense"}:
        err_console.print("--mode must be hybrid, bm25 or dense.")
        raise typer.Exit(EXIT_BAD_INPUT)
    texts = [line.strip() for line in sys.stdin] if queries == ["-"] else queries
    texts = [t for t in texts if t]
    if not texts:
        err_console.print("No query given; pass one or more queries, or - with queries on stdin.")
        raise typer.Exit(EXIT_BAD_INPUT)
    search_index = open_index()
    filters = {key: values for key, values in (("kind", kind), ("channels", channel)) if values}
    for text in texts:
        hits = search_index.search(text, k, mode=mode, filters=filters or None)  # type: ignore[arg-type]
        if as_json:
            payload = {"query": text, "results": [h.as_dict() for h in hits]}
            typer.echo(json.dumps(payload, ensure_ascii=False))
            continue
        console.print(f"[bold]{text}[/bold]")
        for n, hit in enumerate(hits, 1):
            console.print(f" {n}. {hit.chunk.doc_id}#{hit.chunk.heading}  ({hit.score:.4f})")
            console.print(f"    {hit.chunk.text[:120].replace(chr(10), ' ')}…", highlight=False)


def open_index() -> SearchIndex:
    """Open the index, building it with a progress bar when missing or stale."""
    search_index = SearchIndex.from_settings(settings())
    if search_index.needs_update():
        err_console.print("Building the search index (first use or documents changed)…")
        print_report(run_update(search_index), to_stderr=True)
    else:
        search_index.load()
    if search_index.dense_note:
        err_console.print(f"[yellow]Note:[/yellow] {search_index.dense_note}")
    return search_index
