"""Read files into Documents. Folders are walked; a file that cannot be read gives a
warning naming the file and why, and the rest of the batch goes on."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from .errors import LoadError, MissingDependency
from .types import Document

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".csv")


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"skipped {self.path}: {self.reason}"


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _html(path: Path) -> str:
    try:
        from bs4 import BeautifulSoup
    except ImportError:
        raise MissingDependency("beautifulsoup4", "beautifulsoup4") from None
    soup = BeautifulSoup(_read_text(path), "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line)


def _pdf(path: Path) -> tuple[str, tuple[tuple[int, int], ...]]:
    try:
        from pypdf import PdfReader
    except ImportError:
        raise MissingDependency("pypdf", "pypdf") from None
    try:
        reader = PdfReader(str(path))
        texts, pages, offset = [], [], 0
        for number, page in enumerate(reader.pages, start=1):
            text = (page.extract_text() or "").strip()
            pages.append((number, offset))
            texts.append(text)
            offset += len(text) + 2
    except Exception as e:  # pypdf raises many types for damaged files
        raise LoadError(f"not a readable PDF ({e.__class__.__name__}: {e})") from None
    return "\n\n".join(texts), tuple(pages)


def _docx(path: Path) -> str:
    try:
        import docx
    except ImportError:
        raise MissingDependency("python-docx", "python-docx") from None
    try:
        document = docx.Document(str(path))
    except Exception as e:
        raise LoadError(f"not a readable .docx ({e.__class__.__name__})") from None
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(p for p in parts if p.strip())


def _csv(path: Path) -> str:
    rows = list(csv.reader(io.StringIO(_read_text(path))))
    if not rows:
        return ""
    header, body = rows[0], rows[1:]
    if not body:
        return ", ".join(header)
    lines = []
    for row in body:
        pairs = [f"{h}: {v}" for h, v in zip(header, row) if v.strip()]
        lines.append("; ".join(pairs) + ".")
    return "\n".join(lines)


def load_file(path: str | Path) -> Document:
    """One file to a Document, or LoadError saying why not."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(f"unsupported file type '{suffix or path.name}' (supported: {', '.join(SUPPORTED)})")
    pages: tuple = ()
    try:
        if suffix in (".html", ".htm"):
            text = _html(path)
        elif suffix == ".pdf":
            text, pages = _pdf(path)
        elif suffix == ".docx":
            text = _docx(path)
        elif suffix == ".csv":
            text = _csv(path)
        else:
            text = _read_text(path)
    except OSError as e:
        raise LoadError(f"cannot read it ({e.strerror or e})") from None
    if not text.strip():
        raise LoadError("no text in it (empty, or a scanned PDF without a text layer)")
    return Document(source=str(path.resolve()), text=text, pages=pages)


def expand(paths) -> tuple[list[Path], list[Skipped]]:
    """Files named, and files under folders named (hidden ones skipped), sorted."""
    files, skipped = [], []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts):
                    if f.suffix.lower() in SUPPORTED:
                        files.append(f)
                    else:
                        skipped.append(Skipped(str(f), f"unsupported file type '{f.suffix or f.name}'"))
        elif p.is_file():
            files.append(p)
        else:
            skipped.append(Skipped(str(p), "no such file or folder"))
    return files, skipped
