"""The CLI chat, ask, diagnose and apr commands through CliRunner with scripted stdin."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.advisor import Advisor
from cli.chat_cmds import HELP
from cli.common import console, settings
from cli.main import app

from .conversation_scripts import SCRIPTS, Script, Shown, check
from .helpers import CONTRACT_KEYS

runner = CliRunner()
CLI_SOURCES = re.compile(r"^(?:来源|Sources)[：:]", re.MULTILINE)


def test_chat_with_piped_stdin(shipped_data_env: Path) -> None:
    script = "借呗有入口没额度，芝麻分620\n/profile\n不对，芝麻分是680\n/profile\n/sources\n/reset\n/profile\n/nope\n/quit\n"
    result = runner.invoke(app, ["chat"], input=script)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "平台评分偏低" in out  # the diagnosis was shown
    assert "芝麻分：620" in out and "芝麻分：680" in out  # correction replaced it
    assert "涉及的产品：借呗" in out and "遇到的情况：有入口没额度" in out  # labels, not codes
    assert '"zhima_score"' not in out and "jiebei\n" not in out  # no internal JSON
    assert "jiebei-no-limit-causes#" in out or "zhima-credit#" in out  # /sources lists anchors
    assert "还没有记录任何信息" in out  # after /reset
    assert "不认识的命令" in out


def test_chat_bad_input_keeps_going(shipped_data_env: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FINADVISOR_MAX_MESSAGE_CHARS", "50")
    result = runner.invoke(app, ["chat"], input="借" * 80 + "\n花呗被降额了\n")
    assert result.exit_code == 0
    assert "消息太长" in result.stderr and "可能的原因" in result.stdout


def test_ask(shipped_data_env: Path) -> None:
    result = runner.invoke(app, ["ask", "银税互动是什么"])
    assert result.exit_code == 0 and "tax-loan#" in result.stdout


def test_diagnose_json_contract_from_stdin(shipped_data_env: Path) -> None:
    texts = "借呗有入口没额度，近三个月查了8次征信\n\n开饭店的个体户，想借20万进货，纳税B级\n"
    result = runner.invoke(app, ["diagnose", "--json", "-"], input=texts)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    assert set(lines[0]) == CONTRACT_KEYS
    assert lines[0]["reasons"][0]["code"] == "frequent_inquiries"
    assert lines[1]["recommendations"][0]["channel"] == "bank_tax_loan"


def test_diagnose_bad_text_exit_code(shipped_data_env: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FINADVISOR_MAX_MESSAGE_CHARS", "20")
    result = runner.invoke(app, ["diagnose", "--json", "花呗被降额了", "借" * 30])
    assert result.exit_code == 2
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert "reasons" in lines[0] and "error" in lines[1]
    assert runner.invoke(app, ["diagnose", "-"], input="\n").exit_code == 2


def test_apr_command() -> None:
    text = runner.invoke(app, ["apr", "--json", "借10万，服务费1000，12期每期还8833.3"])
    assert text.exit_code == 0
    assert json.loads(text.stdout)["apr"] == 12.8  # the official worked example (公告〔2021〕第3号)
    options = runner.invoke(app, ["apr", "--principal", "10000", "--received", "9000",
                                  "--installments", "12", "--payment", "1000"])  # fmt: skip
    assert options.exit_code == 0 and "56.75%" in options.stdout and "高成本" in options.stdout
    missing = runner.invoke(app, ["apr", "随便借点"])
    assert missing.exit_code == 2 and "Not enough figures" in missing.stderr


def test_chat_sources_one_per_line_and_numbered_choices(shipped_data_env: Path) -> None:
    script = "借呗有入口没额度，芝麻分620，没有逾期\n2\n/profile\n/quit\n"
    result = runner.invoke(app, ["chat"], input=script)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    sources = [n for n, line in enumerate(lines) if re.match(r"^\[\d+\] ", line)]
    assert len(sources) >= 2, result.stdout
    # every [n] starts its own line, in order, and no line carries a second one
    for n, index in enumerate(sources[: len(sources) // 2], 1):
        assert re.match(rf"^\[{n}\] \S.*｜[a-z0-9-]+#.+（.+更新）$", lines[index]), lines[index]
    assert not [line for line in lines if re.search(r"\S.*\[\d+\] \S+｜", line[4:])]
    # the first follow-up is about recent applications: numbered choices, skip last
    assert "  1. 1次" in lines and "  2. 4次左右" in lines and "  4. 跳过" in lines
    assert "→ 4次左右" in lines  # "2" picked the second choice
    assert "近期查询次数：4" in lines


def test_chat_in_english_shows_english_choices_and_profile(shipped_data_env: Path) -> None:
    script = "Jiebei shows an entry but no limit, Sesame score 620, never overdue\n1\n/profile\n"
    result = runner.invoke(app, ["chat"], input=script)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "  1. 1 application" in lines and "  4. Skip" in lines, result.stdout
    assert "Reply with a number to choose, or type your own answer." in lines
    assert "→ 1 application" in lines
    assert "Sesame score: 620" in lines and "product: Jiebei" in lines
    assert "recent credit inquiries: 1" in lines


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_chat_carries_a_scripted_conversation(
    shipped_data_env: Path, monkeypatch: pytest.MonkeyPatch, script: Script
) -> None:
    # one line per paragraph, as wide as it is: a wrapped line would split the answer's words
    monkeypatch.setattr(console, "_width", 1_000)
    session = uuid.uuid4().hex
    # "/help" between the messages marks where one reply ends (the banner ends with it too)
    lines = "\n/help\n".join(step.message for step in script.steps)
    result = runner.invoke(app, ["chat", "--session", session], input=f"{lines}\n/quit\n")
    assert result.exit_code == 0, result.output
    text = "\n".join(line.rstrip() for line in result.stdout.splitlines())
    replies = text.split(HELP)[1:]
    assert len(replies) == len(script.steps), result.stdout
    # the terminal shows no profile per turn: the stored one stands for each (nothing the
    # script corrects is changed again later)
    profile = Advisor(settings()).profile(session).model_dump(exclude_none=True)
    # the terminal prints the sources heading without the Markdown stars: the body ends there
    bodies = [CLI_SOURCES.split(reply, maxsplit=1)[0].strip() for reply in replies]
    check(script, [Shown(reply, profile) for reply in bodies])


def test_diagnose_prints_labels_in_the_texts_language(
    shipped_data_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "_width", 400)  # a table row on one line
    taxonomy = Advisor(settings()).taxonomy
    for text, lang in (
        ("借呗有入口没额度，近三个月查了8次征信", "zh"),
        ("Jiebei shows an entry but no limit, 8 credit inquiries in three months", "en"),
    ):
        result = runner.invoke(app, ["diagnose", text])
        assert result.exit_code == 0, result.output
        out = result.stdout
        label = taxonomy.label("reasons", "frequent_inquiries", lang)
        assert f"{label} (frequent_inquiries)" in out, out
        channels = re.findall(r"^ \d+\. \[([^\]]+)\]", out, re.MULTILINE)
        assert channels, out
        codes = set(taxonomy.codes("channels"))
        labels = {taxonomy.label("channels", code, lang) for code in codes}
        assert set(channels) <= labels and not set(channels) & codes, channels
        # the code appears only in parentheses after its label
        assert not re.search(r"(?<!\()\b[a-z]+_[a-z_]+\b(?!\))", out), out
        if lang == "en":
            assert "confidence" in out and "fit" in out and "APR" in out
        else:
            assert "可信度" in out and "匹配度" in out and "年化利率" in out
