"""``finadvisor eval``: quality figures on the project's own labelled sets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from bot.advisor import Advisor
from bot.evaluation import evaluate_diagnosis, load_diagnosis_cases
from knowledge.index.evaluate import evaluate, load_cases
from knowledge.index.search_index import Mode

from .common import console, err_console, settings
from .index_cmds import open_index

EVAL_DIR = Path(__file__).resolve().parent.parent / "bench" / "eval"
eval_app = typer.Typer(no_args_is_help=True, help="Measure retrieval and diagnosis quality.")


@eval_app.command("retrieval")
def eval_retrieval(
    cases_path: Annotated[Path, typer.Option("--cases", help="YAML question set.")] = EVAL_DIR
    / "retrieval.yaml",
    show_misses: Annotated[bool, typer.Option("--misses", help="List hybrid misses.")] = False,
) -> None:
    """Print recall@1, recall@5 and MRR for BM25, dense and hybrid retrieval in one run."""
    cases = load_cases(cases_path)
    index = open_index()
    modes: tuple[Mode, ...] = ("bm25", "dense", "hybrid") if index.dense_available else ("bm25",)
    with Progress(console=err_console, transient=True) as bar:
        task = bar.add_task("evaluating", total=len(cases) * len(modes))
        scores = evaluate(index, cases, modes, on_case=lambda: bar.advance(task))
    table = Table(
        "method", "recall@1", "recall@5", "MRR", title=f"retrieval, {len(cases)} questions"
    )
    for s in scores:
        table.add_row(s.mode, f"{s.recall_at_1:.3f}", f"{s.recall_at_5:.3f}", f"{s.mrr:.3f}")
    console.print(table)
    console.print(
        "recall@k: share of questions with a relevant document among the top k documents."
    )
    if show_misses:
        for q in scores[-1].misses:
            console.print(f"  miss: {q}")


@eval_app.command("diagnosis")
def eval_diagnosis(
    cases_path: Annotated[Path, typer.Option("--cases", help="YAML case set.")] = EVAL_DIR
    / "diagnosis.yaml",
    show_failures: Annotated[
        bool, typer.Option("--failures", help="List failing case ids.")
    ] = False,
) -> None:
    """Print reasons/channels top-3 hit, forbidden-channel rate, warnings recall, fact accuracy."""
    cases = load_diagnosis_cases(cases_path)
    advisor = Advisor(settings(), index=open_index())
    with Progress(console=err_console, transient=True) as bar:
        task = bar.add_task("evaluating", total=len(cases))
        scores = evaluate_diagnosis(advisor, cases, on_case=lambda: bar.advance(task))
    table = Table("metric", "value", title=f"diagnosis, {len(cases)} cases")
    table.add_row("reasons top-3 hit", f"{scores.reasons_hit:.3f}")
    table.add_row("channels top-3 hit", f"{scores.channels_hit:.3f}")
    table.add_row("forbidden-channel rate", f"{scores.forbidden_rate:.3f}")
    table.add_row("warnings recall", f"{scores.warnings_recall:.3f}")
    table.add_row("fact accuracy", f"{scores.fact_accuracy:.3f}")
    console.print(table)
    if show_failures:
        for metric, ids in scores.failures.items():
            if ids:
                console.print(f"  {metric}: {', '.join(ids)}")
