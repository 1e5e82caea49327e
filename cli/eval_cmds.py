"""``finadvisor eval``: quality figures on the project's own labelled sets."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.progress import Progress
from rich.table import Table

from bot.advisor import Advisor
from bot.classify import load_utterances
from bot.classify_eval import cross_validate
from bot.conversation_eval import HEAD_CHARS, evaluate_conversations, load_conversations
from bot.evaluation import evaluate_diagnosis, load_diagnosis_cases
from bot.knowledge import load_knowledge
from knowledge.index.evaluate import evaluate, load_cases
from knowledge.index.search_index import Mode

from .common import console, err_console, settings
from .index_cmds import open_index

Item = TypeVar("Item")
Scores = TypeVar("Scores")
EVAL_DIR = Path(__file__).resolve().parent.parent / "bench" / "eval"
eval_app = typer.Typer(no_args_is_help=True, help="Measure retrieval and diagnosis quality.")


@eval_app.command("retrieval")
def eval_retrieval(
    cases_paths: Annotated[
        list[Path] | None,
        typer.Option(
            "--cases", help="YAML question set (repeatable); default: own, dev and held-out."
        ),
    ] = None,
    show_misses: Annotated[bool, typer.Option("--misses", help="List hybrid misses.")] = False,
) -> None:
    """Print recall@1, recall@5 and MRR for BM25, dense and hybrid retrieval in one run."""
    paths = cases_paths or [
        EVAL_DIR / "retrieval.yaml",
        EVAL_DIR / "retrieval_dev.yaml",
        EVAL_DIR / "retrieval_heldout.yaml",
    ]
    index = open_index()
    modes: tuple[Mode, ...] = ("bm25", "dense", "hybrid") if index.dense_available else ("bm25",)
    for path in paths:
        cases = load_cases(path)
        with Progress(console=err_console, transient=True) as bar:
            task = bar.add_task(f"evaluating {path.name}", total=len(cases) * len(modes))
            scores = evaluate(index, cases, modes, on_case=functools.partial(bar.advance, task))
        table = Table("method", "recall@1", "recall@5", "MRR",
                      title=f"retrieval, {path.stem}, {len(cases)} questions")  # fmt: skip
        for s in scores:
            table.add_row(s.mode, f"{s.recall_at_1:.3f}", f"{s.recall_at_5:.3f}", f"{s.mrr:.3f}")
        console.print(table)
        if show_misses:
            for q in scores[-1].misses:
                console.print(f"  miss: {q}")
    console.print(
        "recall@k: share of questions with a relevant document among the top k documents."
    )


@eval_app.command("diagnosis")
def eval_diagnosis(
    cases_paths: Annotated[
        list[Path] | None,
        typer.Option("--cases", help="YAML case set (repeatable); default: own, dev and held-out."),
    ] = None,
    show_failures: Annotated[
        bool, typer.Option("--failures", help="List failing case ids.")
    ] = False,
) -> None:
    """Print reasons/channels top-3 hit, forbidden-channel rate, warnings recall, fact accuracy."""
    paths = cases_paths or [
        EVAL_DIR / "diagnosis.yaml",
        EVAL_DIR / "diagnosis_dev.yaml",
        EVAL_DIR / "diagnosis_dev2.yaml",
        EVAL_DIR / "diagnosis_dev3.yaml",
        EVAL_DIR / "diagnosis_dev4.yaml",
        EVAL_DIR / "diagnosis_heldout.yaml",
    ]
    advisor = Advisor(settings(), index=open_index())
    results = _score_sets(
        paths,
        load_diagnosis_cases,
        lambda cases, advance: evaluate_diagnosis(advisor, cases, on_case=advance),
        lambda path, scores: f"{path.stem} ({scores.cases})",
    )
    table = Table("metric", *(name for name, _ in results), title="diagnosis")
    for label, attr in _METRICS:
        table.add_row(label, *(f"{getattr(s, attr):.3f}" for _, s in results))
    console.print(table)
    fields = sorted({f for _, s in results for f in s.fact_fields})
    per_field = Table("fact", *(name for name, _ in results), title="fact accuracy per field")
    for name in fields:
        per_field.add_row(name, *(_ratio(s.fact_fields.get(name)) for _, s in results))
    console.print(per_field)
    if show_failures:
        _print_failures(results)


@eval_app.command("conversation")
def eval_conversation(
    cases_paths: Annotated[
        list[Path] | None,
        typer.Option(
            "--cases", help="YAML conversation set (repeatable); default: own and held-out."
        ),
    ] = None,
    show_failures: Annotated[
        bool, typer.Option("--failures", help="List failing conversation#turn ids.")
    ] = False,
) -> None:
    """Print answer-present rate, repetition, reply length, English purity and fact accuracy."""
    paths = cases_paths or [
        EVAL_DIR / "conversations.yaml",
        EVAL_DIR / "conversations_heldout.yaml",
    ]
    advisor = Advisor(settings(), index=open_index())
    results = _score_sets(
        paths,
        load_conversations,
        lambda sets, advance: evaluate_conversations(advisor, sets, on_conversation=advance),
        lambda path, scores: f"{path.stem} ({scores.conversations}/{scores.turns})",
    )
    table = Table("metric", *(name for name, _ in results), title="conversation")
    for label, attr, form in _CONVERSATION_METRICS:
        table.add_row(label, *(form.format(getattr(s, attr)) for _, s in results))
    console.print(table)
    console.print(
        f"answer first: a question's expected words within the first {HEAD_CHARS} characters "
        "of the reply body; similarity: difflib ratio of consecutive bodies (not on a summary)."
    )
    if show_failures:
        _print_failures(results)


@eval_app.command("models")
def eval_models(
    folds: Annotated[int, typer.Option(min=2, max=10, help="Cross-validation folds.")] = 5,
) -> None:
    """Cross-validated accuracy and calibration of the meaning models on knowledge/training."""
    config = settings()
    rows = load_utterances(config.knowledge_dir / "training")
    threshold = load_knowledge(config.knowledge_dir, config.prompts_dir).rules.policy.meaning.hint
    with Progress(console=err_console, transient=True) as bar:
        task = bar.add_task("cross-validating", total=folds)
        scores, fit_seconds = cross_validate(
            rows, threshold, folds, on_fold=functools.partial(bar.advance, task)
        )
    table = Table("head", "score", "metric", "calibration error",
                  title=f"meaning models, {len(rows)} utterances, {folds}-fold")  # fmt: skip
    for s in scores:
        table.add_row(s.head, f"{s.score:.3f}", s.metric, f"{s.calibration_error:.3f}")
    console.print(table)
    console.print(f"mean fit time per fold: {fit_seconds:.1f} s")


_METRICS = (
    ("reasons top-3 hit", "reasons_hit"),
    ("channels top-3 hit", "channels_hit"),
    ("forbidden-channel rate", "forbidden_rate"),
    ("warnings recall", "warnings_recall"),
    ("warnings precision", "warnings_precision"),
    ("fact accuracy", "fact_accuracy"),
)


_CONVERSATION_METRICS = (
    ("questions with expected words", "questions", "{:d}"),
    ("answer present, reply opening", "answer_first", "{:.3f}"),
    ("answer present, anywhere", "answer_anywhere", "{:.3f}"),
    ("median similarity, consecutive", "median_similarity", "{:.3f}"),
    ("share of pairs > 0.9 similar", "repeated_share", "{:.3f}"),
    ("median body chars", "median_chars", "{:.0f}"),
    ("p90 body chars", "p90_chars", "{:.0f}"),
    ("English replies", "english_replies", "{:d}"),
    ("English purity (letters)", "english_purity", "{:.3f}"),
    ("English replies with no Chinese", "english_clean", "{:.3f}"),
    ("facts stated", "facts", "{:d}"),
    ("fact accuracy per turn", "fact_accuracy", "{:.3f}"),
)


def _score_sets(
    paths: list[Path],
    load: Callable[[Path], list[Item]],
    score: Callable[[list[Item], Callable[[], None]], Scores],
    label: Callable[[Path, Scores], str],
) -> list[tuple[str, Scores]]:
    """Each set loaded and scored behind a progress bar, labelled for the table's columns."""
    results = []
    for path in paths:
        items = load(path)
        with Progress(console=err_console, transient=True) as bar:
            task = bar.add_task(f"evaluating {path.name}", total=len(items))
            scores = score(items, functools.partial(bar.advance, task))
        results.append((label(path, scores), scores))
    return results


def _print_failures(results: list[tuple[str, Any]]) -> None:
    for name, scores in results:
        console.print(name)
        for metric, ids in scores.failures.items():
            if ids:
                console.print(f"  {metric}: {', '.join(ids)}")


def _ratio(counts: tuple[int, int] | None) -> str:
    if counts is None:
        return "—"
    right, stated = counts
    return f"{right / stated:.2f} ({right}/{stated})"
