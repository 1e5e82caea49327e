"""Split Markdown documents into citable chunks that follow their heading structure.

Each chunk keeps its heading path and never starts with closing punctuation: long sections are
cut at Chinese sentence ends (。！？；) or line breaks, never inside a sentence.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

_HEADING = re.compile(r"^(#{1,4})\s+(.+?)\s*#*\s*$")
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|(?<=\n)")
_LEADING_PUNCT = "。，、；：！？）」』】》,.;:!?)"
# Sections that list sources or links: the citation metadata already carries them, and their
# titles-only text drowns real passages in search results.
SKIPPED_HEADINGS = frozenset({"来源", "参考来源", "相关文档", "延伸阅读", "Sources", "References"})


@dataclass(frozen=True)
class Chunk:
    """One retrievable passage with the metadata needed to cite and filter it."""

    chunk_id: str
    doc_id: str
    title: str
    heading: str
    heading_path: str
    text: str
    kind: str
    channels: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    updated: str = ""
    origin: str = "shipped"
    extra: dict[str, str] = field(default_factory=dict)

    def search_text(self) -> str:
        """The text that is embedded and tokenised: title and heading path give context."""
        return f"{self.title}｜{self.heading_path}\n{self.text}"

    def metadata(self) -> dict[str, str | bool]:
        """Flat metadata for the vector store; channel/reason codes become boolean flags."""
        meta: dict[str, str | bool] = {
            "chunk_id": self.chunk_id,
            "doc_id": self.doc_id,
            "title": self.title,
            "heading": self.heading,
            "heading_path": self.heading_path,
            "kind": self.kind,
            "channels": ",".join(self.channels),
            "reasons": ",".join(self.reasons),
            "updated": self.updated,
            "origin": self.origin,
        }
        meta.update({f"ch_{c}": True for c in self.channels})
        meta.update({f"rs_{r}": True for r in self.reasons})
        return meta


def content_hash(text: str) -> str:
    """Stable hash of a document's content, used for incremental indexing."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _sections(body: str, title: str) -> list[tuple[list[str], str]]:
    """(heading path, text) pairs in order; text before the first heading goes under the title."""
    path: list[tuple[int, str]] = []
    sections: list[tuple[list[str], str]] = []
    lines: list[str] = []

    def flush() -> None:
        text = "\n".join(lines).strip()
        if text:
            sections.append(([h for _, h in path] or [title], text))
        lines.clear()

    for line in body.splitlines():
        match = _HEADING.match(line)
        if match:
            flush()
            level, heading = len(match.group(1)), match.group(2).strip()
            if level == 1:
                path = []
                continue
            path = [(lvl, h) for lvl, h in path if lvl < level] + [(level, heading)]
        else:
            lines.append(line)
    flush()
    return sections


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text) if s]


def _pack(text: str, max_chars: int) -> list[str]:
    """Pack sentences into pieces of at most ``max_chars`` (a longer single sentence stays whole)."""
    pieces: list[str] = []
    current = ""
    for sentence in _sentences(text):
        if current and len(current) + len(sentence) > max_chars:
            pieces.append(current)
            current = ""
        current += sentence
    if current.strip():
        pieces.append(current)
    cleaned = []
    for piece in pieces:
        piece = piece.strip()
        while piece and piece[0] in _LEADING_PUNCT:
            piece = piece[1:].lstrip()
        if piece:
            cleaned.append(piece)
    return cleaned


def chunk_markdown(
    doc_id: str,
    title: str,
    body: str,
    *,
    kind: str = "document",
    channels: tuple[str, ...] = (),
    reasons: tuple[str, ...] = (),
    updated: str = "",
    origin: str = "shipped",
    max_chars: int = 360,
    min_chars: int = 60,
) -> list[Chunk]:
    """Chunk one Markdown body by headings, then by sentences within long sections."""
    chunks: list[Chunk] = []
    sections = [(p, t) for p, t in _sections(body, title) if p[-1] not in SKIPPED_HEADINGS]
    merged: list[tuple[list[str], str]] = []
    for path, text in sections:
        # a short lead before the first heading joins the first section instead of standing alone
        if merged and merged[-1][0] == [title] and len(merged[-1][1]) < min_chars:
            path, text = path, merged.pop()[1] + "\n" + text
        merged.append((path, text))
    for path, text in merged:
        for piece in _pack(text, max_chars):
            chunks.append(
                Chunk(
                    chunk_id=f"{doc_id}#{len(chunks)}",
                    doc_id=doc_id,
                    title=title,
                    heading=path[-1],
                    heading_path=" > ".join(path),
                    text=piece,
                    kind=kind,
                    channels=channels,
                    reasons=reasons,
                    updated=updated,
                    origin=origin,
                )
            )
    return chunks
