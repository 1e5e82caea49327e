"""Markdown chunking and Chinese tokenisation."""

from __future__ import annotations

from knowledge import load_documents
from knowledge.index import chunk_markdown
from knowledge.index.tokenize import Tokenizer, domain_words

from .helpers import SHIPPED

BODY = (
    """# 标题

导语一句话。

## 是什么

第一段。"""
    + "这是一个很长的句子，用来测试按句切分。" * 40
    + """

### 细节

细节内容比较短，但也有几句话。第二句话在这里！第三句？

## 来源

1. 某来源 http://example.invalid
"""
)


def test_chunks_follow_headings_and_sentences() -> None:
    chunks = chunk_markdown("demo", "标题", BODY, kind="guide", channels=("credit_card",))
    headings = {c.heading for c in chunks}
    assert "是什么" in headings and "细节" in headings
    assert "来源" not in headings  # source lists are not search passages
    assert any(c.heading_path == "是什么 > 细节" for c in chunks)
    assert len([c for c in chunks if c.heading == "是什么"]) > 1  # the long section was split
    for chunk in chunks:
        assert chunk.text and chunk.text[0] not in "。，、；：！？"
        assert len(chunk.text) <= 400
        assert chunk.text.rstrip()[-1] in "。！？；.!?" or chunk.heading == "细节"
        meta = chunk.metadata()
        assert meta["doc_id"] == "demo" and meta["kind"] == "guide"
        assert meta["ch_credit_card"] is True
    assert [c.chunk_id for c in chunks] == [f"demo#{i}" for i in range(len(chunks))]


def test_every_shipped_chunk_is_clean() -> None:
    for doc in load_documents(SHIPPED / "docs"):
        chunks = chunk_markdown(doc.id, doc.title, doc.body, kind=doc.meta.kind)
        assert chunks, doc.id
        for chunk in chunks:
            assert chunk.text[0] not in "。，、；：！？）", (doc.id, chunk.text[:20])
            assert chunk.updated == "" and chunk.doc_id == doc.id


def test_domain_words_stay_whole() -> None:
    words, expansions = domain_words(SHIPPED)
    tokenizer = Tokenizer(words, expansions)
    tokens = tokenizer.tokens("借呗和花呗没额度，网商贷被拒，想试试银税互动和应收账款融资")
    for word in ("借呗", "花呗", "网商贷", "银税互动", "应收账款"):
        assert word in tokens
    assert "~借呗" in tokens  # character bigrams ride along
    assert "的" not in tokenizer.tokens("我的额度")


def test_colloquial_query_expansion() -> None:
    words, expansions = domain_words(SHIPPED)
    tokenizer = Tokenizer(words, expansions)
    assert "查询记录" in tokenizer.query_tokens("征信花了还能贷吗")
