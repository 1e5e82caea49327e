"""Turn users' own files (.md, .txt, .pdf, .docx, .html) into Markdown text for indexing."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from core.errors import InputError

MAX_FILE_BYTES = 20 * 1024 * 1024


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(f"{path.name}: not UTF-8 or GB18030 text; save it as UTF-8 and add it again.")


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise InputError(f"{path.name}: not a readable PDF ({exc.__class__.__name__}).") from exc
    return "\n\n".join(f"## 第{i}页\n\n{text.strip()}" for i, text in enumerate(pages, 1) if text)


def _read_docx(path: Path) -> str:
    import zipfile

    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise InputError(f"{path.name}: not a readable .docx file.") from exc
    lines = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        level = re.search(r"Heading (\d)", style)
        lines.append(f"{'#' * (int(level.group(1)) + 1)} {text}" if level else text)
    return "\n\n".join(lines)


def _read_html(path: Path) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_read_text(path), "html.parser")
    for tag in soup(["script", "style", "nav", "footer"]):
        tag.decompose()
    lines = []
    for element in soup.find_all(["h1", "h2", "h3", "h4", "p", "li", "td"]):
        text = element.get_text(" ", strip=True)
        if not text:
            continue
        if element.name in {"h1", "h2", "h3", "h4"}:
            level = min(int(element.name[1]) + 1, 4)
            lines.append(f"{'#' * level} {text}")
        else:
            lines.append(text)
    return "\n\n".join(lines)


LOADERS: dict[str, Callable[[Path], str]] = {
    ".md": _read_text,
    ".markdown": _read_text,
    ".txt": _read_text,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
    ".html": _read_html,
    ".htm": _read_html,
}


def load_user_file(path: Path) -> str:
    """Extract Markdown-ish text from a user's file; raises InputError with a one-line reason."""
    suffix = path.suffix.lower()
    if suffix not in LOADERS:
        known = ", ".join(sorted(LOADERS))
        raise InputError(f"{path.name}: unsupported file type '{suffix}'; use one of {known}.")
    if not path.is_file():
        raise InputError(f"{path}: no such file; check the path.")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InputError(f"{path.name}: larger than 20 MB; split it into smaller files.")
    text = LOADERS[suffix](path).strip()
    if len(text) < 10:
        raise InputError(f"{path.name}: no extractable text (a scanned PDF needs OCR first).")
    return text
