"""Chinese tokenisation for BM25: jieba words (with a domain dictionary) plus character bigrams."""

from __future__ import annotations

import logging
import re
from collections.abc import Container, Iterable
from functools import lru_cache
from pathlib import Path

import jieba
import yaml

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_WORD = re.compile(r"[\u4e00-\u9fff]|[a-z0-9]")
_LATIN = re.compile(r"[A-Za-z]{2}")
_LATIN_WORD = re.compile(r"[a-z]+")
STOPWORDS = frozenset(
    "的 了 吗 呢 吧 啊 呀 是 我 你 他 她 它 们 在 有 和 与 及 或 也 都 就 还 又 很 太 被 把 让 给 对 从 "
    "这 那 个 些 一个 什么 怎么 怎么办 为什么 为啥 可以 能 会 要 想 去 来 说 请问 一下 现在 之前 已经 "
    "没 不 没有 如果 但是 但 而且 所以 因为 自己 这个 那个 哪些 多少 如何".split()
)


class Tokenizer:
    """jieba precise-mode words plus CJK character bigrams, lower-cased, stopwords removed."""

    def __init__(
        self,
        words: Iterable[str] = (),
        expansions: dict[str, str] | None = None,
        glossary: dict[str, str] | None = None,
    ) -> None:
        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        for word in words:
            if word:
                self._jieba.add_word(word, freq=200000)
        self.expansions = dict(expansions or {})
        # one turn tokenises its message up to three times (fused and lexical search, citations)
        self._query_tokens = lru_cache(maxsize=256)(self._tokens_of_query)
        self._glossary = [
            (re.compile(rf"(?<![a-z]){re.escape(phrase.lower())}(?:e?s)?(?![a-z])"), terms)
            for phrase, terms in (glossary or {}).items()
        ]

    def translated(self, query: str, known: Container[str] = ()) -> str:
        """The query with the Chinese terms of the English phrases it holds appended (documents
        are Chinese; "Jiebei credit limit" also searches 借呗 额度). A phrase whose words the
        documents already use (``known``: the index vocabulary, e.g. a user's English notes) is
        searched as written. Unchanged without any."""
        if not self._glossary or not _LATIN.search(query):
            return query
        low = query.lower()
        terms = dict.fromkeys(
            t
            for pattern, t in self._glossary
            if (found := pattern.search(low))
            and not all(w in known for w in _LATIN_WORD.findall(found.group(0)))
        )
        return f"{query} {' '.join(terms)}" if terms else query

    def tokens(self, text: str) -> list[str]:
        """Tokens of a document or query."""
        text = text.lower()
        words = [
            w
            for w in (w.strip() for w in self._jieba.lcut(text))
            if w and w not in STOPWORDS and _WORD.search(w)
        ]
        bigrams = [run[i : i + 2] for run in _CJK_RUN.findall(text) for i in range(len(run) - 1)]
        return words + [f"~{b}" for b in bigrams]

    def query_tokens(self, query: str) -> list[str]:
        """Tokens of a query, with colloquial phrases expanded into document vocabulary."""
        return list(self._query_tokens(query))

    def _tokens_of_query(self, query: str) -> tuple[str, ...]:
        extra = " ".join(v for k, v in self.expansions.items() if k in query)
        return tuple(self.tokens(f"{query} {extra}" if extra else query))


def domain_words(knowledge_dir: Path) -> tuple[list[str], dict[str, str]]:
    """Dictionary words and query expansions from lexicon.yaml, taxonomy labels and the catalog."""
    lexicon = yaml.safe_load((knowledge_dir / "lexicon.yaml").read_text(encoding="utf-8")) or {}
    words = list(lexicon.get("words") or [])
    taxonomy = yaml.safe_load((knowledge_dir / "taxonomy.yaml").read_text(encoding="utf-8")) or {}
    for section in taxonomy.values():
        if isinstance(section, dict):
            words.extend(str(e.get("zh", "")) for e in section.values() if isinstance(e, dict))
    catalog_path = knowledge_dir / "catalog.yaml"
    if catalog_path.exists():
        catalog = yaml.safe_load(catalog_path.read_text(encoding="utf-8")) or {}
        for product in catalog.get("products") or []:
            name = str(product.get("name", ""))
            words.extend(p for p in re.split(r"[（）()/、，,\s]+", name) if 1 < len(p) <= 8)
    return sorted(set(words)), dict(lexicon.get("expansions") or {})


def english_glossary(knowledge_dir: Path) -> dict[str, str]:
    """English phrase -> Chinese search terms: lexicon.yaml ``english`` plus the taxonomy's
    platform names ("Jiebei" -> 借呗, "JD Baitiao" and "Jintiao" -> 京东白条/金条)."""
    lexicon = yaml.safe_load((knowledge_dir / "lexicon.yaml").read_text(encoding="utf-8")) or {}
    glossary = {str(k).lower(): str(v) for k, v in (lexicon.get("english") or {}).items()}
    taxonomy = yaml.safe_load((knowledge_dir / "taxonomy.yaml").read_text(encoding="utf-8")) or {}
    for entry in (taxonomy.get("platforms") or {}).values():
        for name in re.split(r"/", str(entry.get("en", ""))):
            if name.strip() and name.strip().lower() not in {"other", "bank product"}:
                glossary.setdefault(name.strip().lower(), str(entry.get("zh", "")))
    return glossary
