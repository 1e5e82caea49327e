"""``finadvisor chat``, ``ask``, ``diagnose`` and ``apr``: the advisor from the terminal."""

from __future__ import annotations

import json
import sys
import uuid
from typing import Annotated

import typer
from rich.markdown import Markdown
from rich.table import Table
from rich.text import Text

from bot.advisor import Advisor
from bot.apr import CostTerms, apr_from_text, compute_apr
from bot.facts_view import fact_lines
from bot.turn import Turn
from core.errors import InputError

from .common import EXIT_BAD_INPUT, console, err_console, settings
from .index_cmds import open_index

HELP = "命令：/reset 重新开始，/profile 查看已知信息，/sources 查看上一轮来源，/quit 退出"


def make_advisor() -> Advisor:
    """An advisor on the configured settings, with the index built (progress bar) up front."""
    current = settings()
    return Advisor(current, index=open_index())


CHOICE_HINT = {
    "zh": "回复编号选择，或直接输入你的回答。",
    "en": "Reply with a number to choose, or type your own answer.",
}
NO_FACTS = {"zh": "还没有记录任何信息。", "en": "Nothing recorded yet."}


def _is_sources(block: str, turn: Turn) -> bool:
    return any(f"[{c.n}] {c.title}" in block for c in turn.citations)


def _print_sources(block: str) -> None:
    """The source list one entry a line (Markdown would join the lines into one paragraph)."""
    for line in block.splitlines():
        heading = line.strip()
        if heading.startswith("**"):
            console.print(Text(heading.replace("**", ""), style="bold"))
        elif heading:
            # soft_wrap: the terminal wraps a long entry; rich would break it after "[n] "
            console.print(Text(heading), soft_wrap=True)


def _print_choices(turn: Turn) -> None:
    """The follow-up's answers as numbered choices in the turn's language (skip last)."""
    if turn.follow_up is None:
        return
    for n, choice in enumerate(turn.follow_up.choices(turn.lang), 1):
        console.print(Text(f"  {n}. {choice}"))
    console.print(Text(CHOICE_HINT[turn.lang], style="dim"))


def _print_turn(turn: Turn) -> None:
    """The reply as Markdown, the follow-up's choices after its question, sources one a line."""
    pending: list[str] = []
    asked = False

    def flush() -> None:
        if pending:
            console.print(Markdown("\n\n".join(pending)))
            pending.clear()

    for block in turn.reply.split("\n\n"):
        if _is_sources(block, turn):
            flush()
            _print_sources(block)
            continue
        pending.append(block)
        if turn.follow_up is not None and not asked and turn.follow_up.question in block:
            flush()
            _print_choices(turn)
            asked = True
    flush()
    if not asked:
        _print_choices(turn)


def _chosen(last: Turn | None, text: str) -> str:
    """A number picking one of the last follow-up's choices becomes that choice's label."""
    if last is None or last.follow_up is None or not (text.isascii() and text.isdigit()):
        return text
    choices = last.follow_up.choices(last.lang)
    n = int(text)
    return choices[n - 1] if 1 <= n <= len(choices) else text


def _print_profile(advisor: Advisor, session_id: str, lang: str) -> None:
    """The known facts as "label: value" lines in the conversation's language."""
    lines = fact_lines(advisor.profile(session_id), advisor.knowledge, lang)
    separator = ": " if lang == "en" else "："
    for title, value in lines:
        console.print(Text(f"{title}{separator}{value}"))
    if not lines:
        console.print(NO_FACTS[lang])


def chat(
    session: Annotated[str | None, typer.Option(help="Resume this session id.")] = None,
) -> None:
    """Talk with the advisor; works interactively and with piped stdin."""
    advisor = make_advisor()
    session_id = session or uuid.uuid4().hex
    interactive = sys.stdin.isatty()
    last: Turn | None = None
    console.print(f"[bold]融资顾问[/bold]（会话 {session_id[:8]}）。{HELP}")
    while True:
        if interactive:
            console.print("[bold cyan]你：[/bold cyan]", end="")
        line = sys.stdin.readline()
        if not line:
            break
        text = line.strip()
        if not text:
            continue
        if text in {"/quit", "/exit", "/q"}:
            break
        if text == "/help":
            console.print(HELP)
        elif text == "/reset":
            advisor.reset(session_id)
            session_id, last = uuid.uuid4().hex, None
            console.print("已清空，重新开始。")
        elif text == "/profile":
            _print_profile(advisor, session_id, last.lang if last else "zh")
        elif text == "/sources":
            if last is None or not last.citations:
                console.print("上一轮没有引用来源。")
            for c in last.citations if last else []:
                console.print(Text(f"[{c.n}] {c.title}｜{c.anchor}"), soft_wrap=True)
        elif text.startswith("/"):
            console.print(f"不认识的命令 {text}。{HELP}")
        else:
            message = _chosen(last, text)
            if message != text:
                console.print(Text(f"→ {message}", style="dim"))
            try:
                last = advisor.reply(session_id, message)
            except InputError as exc:
                err_console.print(f"[red]{exc}[/red]")
                continue
            _print_turn(last)


def ask(text: Annotated[list[str], typer.Argument(help="Your question.")]) -> None:
    """Ask one question and print the advisor's reply."""
    advisor = make_advisor()
    try:
        turn = advisor.diagnose(" ".join(text))
    except InputError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(EXIT_BAD_INPUT) from exc
    _print_turn(turn)


def diagnose(
    texts: Annotated[
        list[str], typer.Argument(help="Texts, or - to read one per line from stdin.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per text.")] = False,
) -> None:
    """Diagnose refusals: reasons, recommendations, warnings (design.md contract with --json)."""
    items = [line.rstrip("\n") for line in sys.stdin] if texts == ["-"] else texts
    items = [t for t in items if t.strip()]
    if not items:
        err_console.print("No text given; pass one or more texts, or - with texts on stdin.")
        raise typer.Exit(EXIT_BAD_INPUT)
    advisor = make_advisor()
    failed = False
    for text in items:
        try:
            turn = advisor.diagnose(text)
        except InputError as exc:
            failed = True
            if as_json:
                typer.echo(json.dumps({"text": text[:80], "error": str(exc)}, ensure_ascii=False))
            else:
                err_console.print(f"[red]{exc}[/red]")
            continue
        if as_json:
            typer.echo(json.dumps(turn.contract(), ensure_ascii=False))
            continue
        _print_diagnosis(advisor, turn, text)
    if failed:
        raise typer.Exit(EXIT_BAD_INPUT)


DIAGNOSIS_WORDS = {
    "zh": {"reason": "原因", "confidence": "可信度", "evidence": "依据", "fit": "匹配度",
           "apr": "年化利率"},
    "en": {"reason": "reason", "confidence": "confidence", "evidence": "evidence", "fit": "fit",
           "apr": "APR"},
}  # fmt: skip


def _print_diagnosis(advisor: Advisor, turn: Turn, text: str) -> None:
    """Reasons, recommendations and warnings with the taxonomy's labels in the text's language
    (a reason's code only in parentheses, for looking it up in ``diagnosis.yaml``)."""
    words = DIAGNOSIS_WORDS[turn.lang]
    label = advisor.taxonomy.label
    table = Table(words["reason"], words["confidence"], words["evidence"], title=text[:60])
    for reason in turn.reasons:
        name = reason.label or label("reasons", reason.code, turn.lang)
        table.add_row(Text(f"{name} ({reason.code})"), f"{reason.confidence:.2f}", reason.evidence)
    console.print(table)
    for n, rec in enumerate(turn.recommendations, 1):
        channel = rec.channel_label or label("channels", rec.channel, turn.lang)
        line = (
            f" {n}. [{channel}] {rec.title}  {words['fit']} {rec.fit:.2f}  {words['apr']} {rec.apr}"
        )
        console.print(Text(line))
    for warning in turn.warnings:
        console.print(Text(f" ⚠ {warning.message}"))


def apr(
    text: Annotated[
        list[str] | None,
        typer.Argument(help="Describe the loan, e.g. 借1万到手9000 12期每期还1000."),
    ] = None,
    principal: Annotated[float | None, typer.Option(help="Amount borrowed (yuan).")] = None,
    received: Annotated[float | None, typer.Option(help="Amount actually received.")] = None,
    fee: Annotated[float | None, typer.Option(help="Upfront fee (yuan).")] = None,
    installments: Annotated[
        int | None, typer.Option(min=1, max=120, help="Number of monthly instalments.")
    ] = None,
    payment: Annotated[float | None, typer.Option(help="Payment per instalment.")] = None,
    daily_rate: Annotated[
        float | None, typer.Option(help="Daily rate in percent (0.05 = 万分之五).")
    ] = None,
    monthly_rate: Annotated[float | None, typer.Option(help="Monthly rate in percent.")] = None,
    fee_rate: Annotated[
        float | None, typer.Option(help="Fee per instalment, percent of principal.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Compute the real annualised cost (APR, IRR method) of a loan offer."""
    if text:
        result = apr_from_text(" ".join(text))
    else:
        terms = CostTerms(principal=principal, received=received, fee=fee, installments=installments,
                          payment=payment, daily_rate=daily_rate, monthly_rate=monthly_rate,
                          installment_fee_rate=fee_rate)  # fmt: skip
        result = compute_apr(terms)
    if result is None:
        err_console.print(
            "Not enough figures to compute an APR; give the amount, what you received, the number "
            "of instalments and each payment (or a daily/monthly rate), e.g. 借1万到手9000 12期每期还1000."
        )
        raise typer.Exit(EXIT_BAD_INPUT)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))
        return
    verdict = "超过24%，属于高成本借款" if result.high_cost else "在24%以内"
    console.print(
        f"实际年化利率（APR）约 [bold]{result.apr:.2f}%[/bold]，复利口径约 {result.effective:.2f}%（{result.method}）；{verdict}。"
    )
