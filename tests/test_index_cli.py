"""The index against a real Chroma server, users' own documents, and the search/index CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import chromadb
import pytest
from docx import Document as DocxDocument
from typer.testing import CliRunner

from cli.main import app
from core.settings import Settings
from knowledge.index import SearchIndex

from .helpers import free_port, small_knowledge_base, wait_until

SMALL = ("jiebei", "tax-loan", "receivables-financing")
CHROMA = Path(sys.executable).with_name("chroma")


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    return small_knowledge_base(tmp_path / "kb", SMALL)


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    """A real Chroma server started with the `chroma run` command the package ships."""
    port = free_port()
    process = subprocess.Popen(
        [
            str(CHROMA),
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: bool(chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat()),
            what="chroma server",
        )
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_server_mode(tmp_path: Path, kb: Path, chroma_server: str) -> None:
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=kb, chroma_url=chroma_server)
    report = SearchIndex.from_settings(settings).update()
    assert report.dense and report.embedded_chunks == report.chunks
    assert not (settings.index_dir / "chroma").exists()  # nothing embedded on disk
    port = int(chroma_server.rsplit(":", 1)[1])
    client = chromadb.HttpClient(host="127.0.0.1", port=port)
    assert client.get_collection("finadvisor_shipped").count() == report.chunks
    index = SearchIndex.open(settings)
    hits = index.search("下游压款 应收账款", 3, mode="dense")
    assert hits and hits[0].chunk.doc_id == "receivables-financing"

    # a server that lost its data is refilled from the local chunk list on the next update
    client.delete_collection("finadvisor_shipped")
    refill = SearchIndex.from_settings(settings).update()
    assert refill.embedded_chunks == refill.chunks and refill.unchanged == 3
    assert client.get_collection("finadvisor_shipped").count() == refill.chunks


def _pdf_bytes(text: str) -> bytes:
    """A minimal one-page PDF with a line of Latin text (Helvetica)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@pytest.fixture
def user_files(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "mine"
    folder.mkdir()
    files = {
        "md": folder / "notes.md",
        "txt": folder / "bank-visit.txt",
        "pdf": folder / "factoring.pdf",
        "docx": folder / "plan.docx",
        "html": folder / "policy.html",
        "bad_pdf": folder / "broken.pdf",
        "exe": folder / "tool.exe",
    }
    files["md"].write_text(
        "# 我的笔记\n\n## 供应商\n\n紫藤供应商答应下月结清货款，可以拿合同去银行谈。\n", "utf-8"
    )
    files["txt"].write_text(
        "去农商行问过：对公流水满一年、纳税等级B级可以申请蜂鸟税贷。", "gb18030"
    )
    files["pdf"].write_bytes(_pdf_bytes("Quokka factoring agreement with the buyer, 90 day terms"))
    docx = DocxDocument()
    docx.add_heading("扩产计划", level=1)
    docx.add_paragraph("明年计划购买两台麒麟牌数控机床，考虑融资租赁。")
    docx.save(str(files["docx"]))
    files["html"].write_text(
        "<html><body><h1>本地政策</h1><p>本市创业担保贷款由珊瑚区人社局受理。</p>"
        "<script>var x=1;</script></body></html>",
        "utf-8",
    )
    files["bad_pdf"].write_bytes(b"%PDF-1.4 this is not really a pdf")
    files["exe"].write_bytes(b"MZ\x00\x00")
    return files


def test_users_documents(tmp_path: Path, kb: Path, user_files: dict[str, Path]) -> None:
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=kb)
    index = SearchIndex.from_settings(settings)
    results = dict(index.add_user_files(user_files.values()))
    assert results[user_files["bad_pdf"]] is not None and "PDF" in results[user_files["bad_pdf"]]
    assert "unsupported file type" in (results[user_files["exe"]] or "")
    assert sum(error is None for error in results.values()) == 5
    index.update()
    for query, expected in [
        ("紫藤供应商", "notes"),
        ("蜂鸟税贷", "bank-visit"),
        ("Quokka factoring", "factoring"),
        ("麒麟牌数控机床", "plan"),
        ("珊瑚区人社局", "policy"),
    ]:
        hit = index.search(query, 1)[0]
        assert hit.chunk.origin == "user" and hit.chunk.doc_id.startswith(f"user-{expected}")
    listed = index.user_documents()
    assert len(listed) == 5
    assert index.remove_user_document(listed[0]["doc_id"])
    assert not index.remove_user_document("jiebei")  # shipped documents cannot be removed
    report = index.update()
    assert report.removed == 1 and len(index.user_documents()) == 4


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kb: Path) -> Path:
    monkeypatch.setenv("FINADVISOR_KNOWLEDGE_DIR", str(kb))
    monkeypatch.setenv("FINADVISOR_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def test_cli_index_add_list_remove(cli_env: Path, user_files: dict[str, Path]) -> None:
    runner = CliRunner()
    built = runner.invoke(app, ["index"])
    assert built.exit_code == 0 and "3 added" in built.stdout and "hybrid" in built.stdout
    again = runner.invoke(app, ["index"])
    assert "3 unchanged" in again.stdout and "(0 embedded)" in again.stdout

    added = runner.invoke(app, ["index", "add", str(user_files["md"]), str(user_files["exe"])])
    assert added.exit_code == 2  # one bad file: the other still goes in
    assert "unsupported file type" in added.stderr and "1 added" in added.stdout
    listed = runner.invoke(app, ["index", "list"])
    doc_id = listed.stdout.split()[0]
    assert doc_id.startswith("user-notes")
    assert runner.invoke(app, ["index", "remove", doc_id]).exit_code == 0
    assert "No documents of your own" in runner.invoke(app, ["index", "list"]).stdout
    missing = runner.invoke(app, ["index", "remove", "user-nope"])
    assert missing.exit_code == 2 and "user-nope" in missing.stderr


def test_cli_search_json_and_stdin(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[int] = []
    original = SearchIndex.__init__

    def counting_init(self: SearchIndex, *args: object, **kwargs: object) -> None:
        opened.append(1)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(SearchIndex, "__init__", counting_init)
    runner = CliRunner()
    result = runner.invoke(
        app, ["search", "--json", "-k", "2", "纳税信用好能贷款吗", "借呗没额度", "应收账款质押"]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == ["纳税信用好能贷款吗", "借呗没额度", "应收账款质押"]
    for line in lines:
        assert len(line["results"]) == 2
        assert set(line["results"][0]) == {"doc_id", "heading", "title", "text", "score"}
        assert line["results"][0]["score"] >= line["results"][1]["score"]
    assert lines[0]["results"][0]["doc_id"] == "tax-loan"
    assert len(opened) == 1  # start-up paid once for three queries

    piped = runner.invoke(app, ["search", "--json", "-"], input="借呗开不了\n\n银税互动\n")
    assert [json.loads(x)["query"] for x in piped.stdout.splitlines()] == ["借呗开不了", "银税互动"]
    empty = runner.invoke(app, ["search", "-"], input="\n")
    assert empty.exit_code == 2 and "No query" in empty.stderr


def test_cli_says_once_when_falling_back_to_bm25(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINADVISOR_EMBEDDING", "test:broken")
    result = CliRunner().invoke(app, ["index"])
    assert result.exit_code == 0
    assert result.stderr.count("BM25 only") == 1 and "retrieval: BM25 only" in result.stdout
    search = CliRunner().invoke(app, ["search", "--json", "银税互动"])
    assert json.loads(search.stdout)["results"][0]["doc_id"] == "tax-loan"
