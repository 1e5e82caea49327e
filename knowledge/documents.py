"""Knowledge documents: Markdown files with YAML front matter under ``knowledge/docs/``."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import KnowledgeError

DocKind = Literal["product", "channel", "policy", "mechanism", "guide"]
_CJK = re.compile(r"[\u4e00-\u9fff]")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n(.*)\Z", re.DOTALL)


class FrontMatter(BaseModel):
    """The YAML header every knowledge document carries."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str = Field(min_length=2)
    kind: DocKind
    summary: str | None = None
    topics: list[str] = Field(min_length=1)
    channels: list[str] = []
    reasons: list[str] = []
    sources: list[str] = Field(min_length=1)
    updated: dt.date


class KnowledgeDoc(BaseModel):
    """A parsed knowledge document: front matter plus Markdown body."""

    meta: FrontMatter
    body: str
    path: Path

    @property
    def id(self) -> str:
        """The document id (equals the file name)."""
        return self.meta.id

    @property
    def title(self) -> str:
        """The document title."""
        return self.meta.title


def chinese_chars(text: str) -> int:
    """Number of CJK ideographs in ``text`` (the body-length measure of the spec)."""
    return len(_CJK.findall(text))


def split_front_matter(text: str) -> tuple[object, str]:
    """Split a document into parsed YAML front matter and body; raises KnowledgeError."""
    match = _FRONT_MATTER.match(text.lstrip("\ufeff"))
    if match is None:
        raise KnowledgeError("no YAML front matter between '---' lines at the top")
    try:
        raw = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"front matter is not valid YAML ({exc.__class__.__name__})") from exc
    return raw, match.group(2)


def parse_document(path: Path) -> KnowledgeDoc:
    """Parse one document file; raises KnowledgeError with a one-line reason."""
    raw, body = split_front_matter(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise KnowledgeError("front matter must be a YAML mapping")
    try:
        meta = FrontMatter.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "front matter"
        raise KnowledgeError(f"front matter field '{where}': {first['msg']}") from exc
    return KnowledgeDoc(meta=meta, body=body, path=path)


def load_documents(docs_dir: Path) -> list[KnowledgeDoc]:
    """Load every ``*.md`` document in ``docs_dir``, sorted by id; raises on the first bad one."""
    docs = []
    for path in sorted(docs_dir.glob("*.md")):
        try:
            docs.append(parse_document(path))
        except KnowledgeError as exc:
            raise KnowledgeError(f"{path.name}: {exc}") from exc
    return docs
