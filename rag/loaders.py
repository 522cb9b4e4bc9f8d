"""Read files into Documents. Folders are walked; a file that cannot be read gives a
warning naming the file and why, and the rest of the batch goes on."""

from __future__ import annotations

import csv
import datetime
import io
import os
import posixpath
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from .chunking import sentences
from .errors import LoadError, MissingDependency
from .text import words
from .types import Document

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".pptx", ".epub", ".csv", ".xlsx", ".eml", ".mbox")
# the version of each format's reader, raised when what it reads from the same file changes (HTML
# laid out, a PDF's wide gaps, a document's metadata date), so that ingest reads such files again
READERS = {".html": 3, ".htm": 3, ".pdf": 3, ".docx": 2, ".eml": 3, ".mbox": 3, ".md": 2, ".markdown": 2}


def reader_version(path: str | Path) -> int:
    """The version of the reader of a file's format (READERS; 1 for the others)."""
    return READERS.get(Path(path).suffix.lower(), 1)


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"skipped {self.path}: {self.reason}"


MAX_UNPACKED = 256 << 20  # a .docx, .pptx, .xlsx or .epub that unpacks to more is refused (a zip bomb)
# characters that text does not hold: C0 controls other than whitespace, C1 controls, U+FFFD
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f-\x9f\ufffd]")


def decode(data: bytes) -> str:
    """Bytes of a text file as text: UTF-8 (or UTF-16 with its byte-order mark), else Windows-1252.
    LoadError for content that is not text (a binary file named .txt, random bytes)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    sample = text[:65536]
    if sample and len(_NOT_TEXT.findall(sample)) > 0.02 * len(sample):
        raise LoadError("binary content, not text")
    return text


def _read_text(path: Path) -> str:
    return decode(path.read_bytes())


TITLE_CHARS = 80


def title_of(text: str, given: str = "", markdown: bool = False) -> str:
    """A document's title: the one it gives (an HTML <title>, a PDF's or .docx's metadata), else its
    first Markdown heading, else its first line that is not a label ("In This Article:"), cut to
    its first sentence and TITLE_CHARS characters."""
    heading = re.search(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", text, re.M) if markdown else None
    line = " ".join((given or "").split()) or (heading.group(1) if heading else "")
    if not line:
        line = next((s for s in (" ".join(raw.split()) for raw in text.splitlines()[:20])
                     if s and not s.endswith(":")), "")
        first = sentences(line)
        line = line[first[0][0]:first[0][1]] if first else line
    if len(line) > TITLE_CHARS:
        line = line[:TITLE_CHARS].rsplit(" ", 1)[0].rstrip(",;:-") + "…"
    return line


def _html(path: Path) -> tuple[str, str, str | None]:
    return html_text(_read_text(path))


# the front matter that opens a Markdown note (Jekyll, Hugo, Obsidian): "---", "key: value" lines, "---"
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_FIELD = re.compile(r"^(\w+)[ \t]*:[ \t]*(.*?)[ \t]*$", re.M)


def front_matter(text: str) -> tuple[str, str | None]:
    """The title and the day a Markdown note's front matter gives ("title: Move", "date:
    2025-03-07", or "created:"), "" and None where it gives none. The note's text keeps it."""
    m = _FRONT_MATTER.match(text)
    fields = {key.lower(): value.strip("'\"") for key, value in _FIELD.findall(m.group(1))} if m else {}
    days = (_ISO_DAY.match(fields.get(key, "")) for key in ("date", "created"))
    return fields.get("title", ""), next((_day(_real_day(*map(int, d.groups()))) for d in days if d), None)


# <meta> fields that give the date a page was published, by property, name or itemprop
_PUBLISHED = ("article:published_time", "datepublished", "date", "dc.date", "dcterms.date", "dc.date.issued",
              "dcterms.created", "citation_publication_date", "citation_date")
_ISO_DAY = re.compile(r"^\s*(\d{4})[-/](\d{2})[-/](\d{2})")


def html_text(html: str) -> tuple[str, str, str | None]:
    """The text of an HTML page, line by line, its <title> and the day it says it was published
    (a <meta> field of _PUBLISHED, "2025-03-07"), None when it says none."""
    try:
        from bs4 import BeautifulSoup
    except ImportError:
        raise MissingDependency("beautifulsoup4", "beautifulsoup4") from None
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    title = soup.title.get_text() if soup.title else ""
    published = None
    for meta in soup.find_all("meta"):
        key = str(meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key in _PUBLISHED and (m := _ISO_DAY.match(str(meta.get("content") or ""))):
            published = _day(_real_day(*map(int, m.groups())))
            break
    return _rendered_text(soup), title, published


# elements that a browser shows as blocks of their own; every other element runs on in its line
_BLOCKS = ("address", "article", "aside", "blockquote", "caption", "dd", "details", "dialog", "div", "dl", "dt",
           "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
           "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "title", "tr", "ul")


# an image's alt text of at least this many words is read where the image stands ("Minimum Rust
# version: 1.31", a figure described for a screen reader); a shorter one is a label ("logo", "build-info")
ALT_WORDS = 3


def _rendered_text(soup) -> str:
    """A parsed page's text as a browser lays it out: a line for each block (a paragraph, a
    heading, a list item, a table row with its cells apart by " | "), the words of inline elements
    (links, emphasis, citations) run on in their sentence, an image as its alt text when that
    describes it (ALT_WORDS), white space as rendered (a <pre>'s lines kept). One pass over the
    tree, with a stack of its own: linear in the page, however deep."""
    from bs4 import NavigableString, Tag
    parts: list[str] = []
    stack: list = [(soup, False)]
    pre, row = 0, None
    while stack:
        node, closing = stack.pop()
        if type(node) is NavigableString:
            parts.append(str(node) if pre else re.sub(r"\s+", " ", node))
        elif not isinstance(node, Tag):  # a comment, a doctype, a declaration
            continue
        elif closing:
            pre -= node.name == "pre"
            parts.append("\n" if node.name in _BLOCKS else "")
        elif node.name == "br":
            parts.append("\n")
        elif node.name == "img":
            alt = " ".join(str(node.get("alt") or "").split())
            parts.append(f" {alt} " if len(alt.split()) >= ALT_WORDS else "")
        else:
            if node.name in ("td", "th"):
                parts.append(" | " if node.parent is row else "")
                row = node.parent
            pre += node.name == "pre"
            parts.append("\n" if node.name in _BLOCKS else "")
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(node.contents))
    lines = (" ".join(line.split()) for line in "".join(parts).splitlines())
    return "\n".join(line for line in lines if line)


def _real_day(year: int, month: int, day: int) -> datetime.date | None:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def _day(value) -> str | None:
    """A metadata date or time as "2025-03-07", None when there is none."""
    return f"{value:%Y-%m-%d}" if isinstance(value, datetime.date) else None  # a datetime is a date too


def _email(path: Path) -> tuple[str, str, str | None]:
    """An .eml file: one message as text (`message_text`), its subject and the day it was sent."""
    from email import message_from_bytes, policy
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    if not any(message[field] for field in ("From", "Date", "Subject")):
        raise LoadError("not an e-mail message (no From, Date or Subject header)")
    return message_text(message), str(message["Subject"] or ""), _day(_sent(message))


# a body line a mailbox escaped so that it would not read as a message's start (">From Monday ..."),
# and one escaped again (">>From", mboxrd): one ">" is the mailbox's, not the writer's
_FROM_ESCAPE = re.compile(rb"(?m)^>(>*From )")
# a quoted blank line of a reply (">", "> >"): blank
_QUOTED_BLANK = re.compile(r"(?m)^[ \t]*>[> \t]*$")


def _mbox(path: Path) -> tuple[str, tuple[tuple[int, str | None], ...]]:
    """An .mbox mailbox: each of its messages as `message_text`, in the mailbox's order, and where
    each message starts, with the day it was sent (None when it has no date)."""
    import mailbox
    from email import message_from_bytes, policy
    box = mailbox.mbox(str(path), create=False)
    try:
        messages = [message_from_bytes(_FROM_ESCAPE.sub(rb"\1", box.get_bytes(key)), policy=policy.default)
                    for key in box.keys()]
    finally:
        box.close()
    texts, dates, offset = [], [], 0
    for message in messages:
        texts.append(message_text(message))
        dates.append((offset, _day(_sent(message))))
        offset += len(texts[-1]) + 2
    return "\n\n".join(texts), tuple(dates)


def _sent(message):
    """When an e-mail message was sent, by its Date header (the sender's clock); None when it has
    none that can be read."""
    from email.utils import parsedate_to_datetime
    try:
        return parsedate_to_datetime(str(message["Date"]))
    except (TypeError, ValueError):
        return None


def message_text(message) -> str:
    """An e-mail message as its reader sees it: one line of who sent it to whom, its subject and
    when ("From: ... | To: ... | Subject: ... | Date: 2025-03-07 09:30", the sender's clock, so that
    its date reads as any other), then its body (the plain text, else the HTML's text) and the
    names of its attachments; a reply's quoted blank lines (">") are blank. The header is one line:
    a passage from the body's start reads it whole, and no part of it is dropped as a line that
    other messages repeat (chunking)."""
    fields = [f"{field}: {' '.join(str(message[field]).split())}" for field in ("From", "To", "Cc", "Subject")
              if message[field]]
    if sent := _sent(message):
        fields.append(f"Date: {sent:%Y-%m-%d %H:%M}")
    body = message.get_body(preferencelist=("plain", "html"))
    text = ""
    if body is not None:
        content = body.get_content()
        text = html_text(content)[0] if body.get_content_type() == "text/html" else content.strip()
    text = _QUOTED_BLANK.sub("", text)
    attached = [part.get_filename() for part in message.iter_attachments() if part.get_filename()]
    if attached:
        text += f"\n(Attachments: {', '.join(attached)})"
    return " | ".join(fields) + "\n\n" + text.strip()


# the gaps of a justified line ("A  visual  guide  to"), which the model would read as extra tokens;
# the indentation that opens a line (a code listing) is kept
_WIDE_GAP = re.compile(r"(?<=\S)[ \t]{2,}(?=\S)")
# a typeset ligature ("ﬁ", "ﬂ", "ﬃ") as the letters it joins, which search and the model know
_LIGATURES = str.maketrans({chr(c): unicodedata.normalize("NFKC", chr(c)) for c in range(0xFB00, 0xFB07)})
# the dots that lead a table of contents' entry to its page number ("2.3 Naming . . . . . . 3")
_LEADERS = re.compile(r"(?:[ \t]*\.){4,}[ \t]*")
# a soft hyphen (U+00AD): invisible, where a word may be broken; a text layer may give it at a
# line's end, on a line of its own or inside a word ("Wert\xadpapier")
_SOFT_HYPHEN = re.compile(r"[ \t]*\n?[ \t]*\u00ad[ \t]*\n?[ \t]*")
# a word a typeset line broke with a hyphen: "machine learn-" / "ing models"
_BROKEN = re.compile(r"\b([^\W\d_]+)([-\u2010])[ \t]*\n[ \t]*([^\W\d_]+)\b")


def pdf_page_text(extracted: str) -> str:
    """A page's text as pypdf extracts it, with a justified line's gaps as single spaces,
    ligatures as their letters ("ﬁnd" is "find"), a word broken at a soft hyphen whole, and a
    contents entry's leader dots as one ellipsis ("2.3 Naming … 3"): the model and the embedder
    read each dot as a token."""
    text = _SOFT_HYPHEN.sub("", _WIDE_GAP.sub(" ", extracted.strip()))
    return _LEADERS.sub(" … ", text).translate(_LIGATURES)


def join_broken_words(pages: list[str]) -> list[str]:
    """Each word a PDF's lines broke with a hyphen ("declara-" / "tions"), read whole, so that
    it is searched, embedded and cited as the word it is. The document's own words decide
    whether the hyphen stays: it does where the document writes that compound with a hyphen
    elsewhere ("self-organizing"); it goes where it writes the joined word ("ReLU"); otherwise it
    stays where the second part is a capitalised word ("non-" / "English") or both parts are
    words the document uses ("well-" / "known"), and goes everywhere else."""
    rest = {w for page in pages for w in words(_BROKEN.sub(" ", page))}

    def joined(m: re.Match) -> str:
        first, hyphen, second = m.groups()
        if f"{first}-{second}".lower() in rest:
            keep = True
        elif (first + second).lower() in rest:
            keep = False
        else:
            keep = (second[0].isupper() and second[1:].islower()) or (
                first.lower() in rest and second.lower() in rest)
        return f"{first}{hyphen}{second}" if keep else first + second

    return [_BROKEN.sub(joined, page) for page in pages]


def _pdf(path: Path) -> tuple[str, tuple[tuple[int, int], ...], str, str | None]:
    try:
        from pypdf import PdfReader
    except ImportError:
        raise MissingDependency("pypdf", "pypdf") from None
    try:
        reader = PdfReader(str(path))
        texts = join_broken_words([pdf_page_text(page.extract_text() or "") for page in reader.pages])
        title, created = _pdf_metadata(reader)
    except Exception as e:  # pypdf raises many types for damaged files
        raise LoadError(f"not a readable PDF ({e.__class__.__name__}: {e})") from None
    return *_paged(texts), title, created


def _paged(texts: list[str]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Pages' texts as one text, a blank line between pages, and where each page starts."""
    pages, offset = [], 0
    for number, text in enumerate(texts, start=1):
        pages.append((number, offset))
        offset += len(text) + 2
    return "\n\n".join(texts), tuple(pages)


def _pdf_metadata(reader) -> tuple[str, str | None]:
    """A PDF's title and the day it was created, by its metadata."""
    try:
        metadata = reader.metadata or {}
    except Exception:  # damaged metadata: the first line will do for a title
        return "", None
    title = str(metadata.get("/Title") or "")
    try:
        return title, _day(metadata.creation_date) if hasattr(metadata, "creation_date") else None
    except Exception:  # a date pypdf cannot read
        return title, None


# the creation time that python-docx's default template carries, kept by every document it writes
_DOCX_TEMPLATE_CREATED = datetime.datetime(2013, 12, 23, 23, 15, tzinfo=datetime.timezone.utc)


def _docx(path: Path) -> tuple[str, str, str | None]:
    document = _office_file(path, "python-docx", "docx", lambda docx: docx.Document(str(path)))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    properties = document.core_properties
    created = properties.created if properties.created != _DOCX_TEMPLATE_CREATED else None
    return "\n".join(p for p in parts if p.strip()), properties.title or "", _day(created)


# the creation time that python-pptx's default template carries, kept by every deck it writes
_PPTX_TEMPLATE_CREATED = datetime.datetime(2013, 1, 27, 9, 14, 16)


def _pptx(path: Path) -> tuple[str, tuple[tuple[int, int], ...], str, str | None]:
    """A slide deck (.pptx): each slide's text (its shapes' paragraphs in the deck's order, a
    table's rows with their cells apart by " | ", then the speaker's notes) as a page of its own,
    so that a passage is cited by its slide's number; the deck's title and the day it was created."""
    deck = _office_file(path, "python-pptx", "pptx", lambda pptx: pptx.Presentation(str(path)))
    texts = []
    for slide in deck.slides:
        lines = _shape_lines(slide.shapes)
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            lines.append(slide.notes_slide.notes_text_frame.text)
        texts.append("\n".join(line for line in lines if line.strip()))
    properties = deck.core_properties
    created = properties.created if properties.created != _PPTX_TEMPLATE_CREATED else None
    return *_paged(texts), properties.title or "", _day(created)


def _shape_lines(shapes) -> list[str]:
    """The lines of a slide's shapes, a group's shapes in turn."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE
    lines: list[str] = []
    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            lines += _shape_lines(shape.shapes)
        elif shape.has_text_frame:
            lines += [paragraph.text for paragraph in shape.text_frame.paragraphs]
        elif getattr(shape, "has_table", False):  # a graphic frame holds a table, a chart or a diagram
            lines += [" | ".join(cell.text for cell in row.cells) for row in shape.table.rows]
    return lines


def _office_file(path: Path, package: str, module: str, open_with):
    """An Office file (a zip archive of XML) opened by the library that reads it: `open_with(module)`;
    MissingDependency without the library, LoadError for a zip bomb or a file it cannot open."""
    import importlib
    try:
        library = importlib.import_module(module)
    except ImportError:
        raise MissingDependency(package, package) from None
    _unpacked_size(path, path.suffix.lower())
    try:
        return open_with(library)
    except Exception as e:
        raise LoadError(f"not a readable {path.suffix.lower()} ({e.__class__.__name__})") from None


def _unpacked_size(path: Path, kind: str) -> None:
    """LoadError unless the file is a zip archive that unpacks to at most MAX_UNPACKED bytes."""
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise LoadError(f"not a readable {kind} (not a zip archive)") from None
    if unpacked > MAX_UNPACKED:
        raise LoadError(f"not read: it unpacks to {unpacked >> 20} MB (over {MAX_UNPACKED >> 20} MB)")


_OPF = "{http://www.idpf.org/2007/opf}"
_DC = "{http://purl.org/dc/elements/1.1/}"


def _epub(path: Path) -> tuple[str, str, str | None]:
    """An e-book (.epub): its chapters' text in reading order (the package's spine, without its
    table of contents), its title and the day its metadata says it was published."""
    from xml.etree import ElementTree
    _unpacked_size(path, ".epub")
    with zipfile.ZipFile(path) as book:
        names = set(book.namelist())
        if "META-INF/container.xml" not in names:
            raise LoadError("not a readable .epub (no META-INF/container.xml)")
        if "META-INF/encryption.xml" in names and any(
                name.endswith((".xhtml", ".html", ".htm")) for name in _encrypted(book.read("META-INF/encryption.xml"))):
            raise LoadError("not read: its text is encrypted (an e-book with DRM)")
        container = ElementTree.fromstring(book.read("META-INF/container.xml"))
        rootfile = next((e.get("full-path") for e in container.iter() if e.tag.endswith("rootfile")), None)
        if rootfile not in names:
            raise LoadError("not a readable .epub (its package file is missing)")
        package = ElementTree.fromstring(book.read(rootfile))
        base = rootfile.rpartition("/")[0]
        items = {item.get("id"): item for item in package.iter(f"{_OPF}item")}
        chapters = []
        for ref in package.iter(f"{_OPF}itemref"):
            item = items.get(ref.get("idref"))
            if item is None or "nav" in (item.get("properties") or "").split():
                continue
            name = posixpath.normpath(posixpath.join(base, unquote(item.get("href") or "")))
            if name in names and "html" in (item.get("media-type") or ""):
                text, heading, _ = html_text(decode(book.read(name)))
                chapters.append(text.removeprefix(" ".join(heading.split()) + "\n"))  # the book's title, in every chapter
    published = _ISO_DAY.match(package.findtext(f".//{_DC}date") or "")
    day = _day(_real_day(*map(int, published.groups()))) if published else None
    return "\n\n".join(c for c in chapters if c.strip()), package.findtext(f".//{_DC}title") or "", day


def _encrypted(encryption: bytes) -> list[str]:
    """The files an .epub's META-INF/encryption.xml says are encrypted."""
    from xml.etree import ElementTree
    return [ref.get("URI") or "" for ref in ElementTree.fromstring(encryption).iter() if ref.tag.endswith("CipherReference")]


def _csv(path: Path) -> str:
    try:
        rows = list(csv.reader(io.StringIO(_read_text(path))))
    except csv.Error as e:
        raise LoadError(f"not a readable CSV ({e})") from None
    return _table_text(rows)


def _xlsx(path: Path) -> str:
    """A workbook (.xlsx): each sheet read as a CSV file is (`_table_text`, its first row that holds
    anything the header), the values its cells show last (not their formulas), a date as
    "2025-03-07"; with more than one sheet, each opens with its name ("Sheet: Budget")."""
    book = _office_file(path, "openpyxl", "openpyxl",
                        lambda openpyxl: openpyxl.load_workbook(str(path), read_only=True, data_only=True))
    try:
        sheets = [(sheet.title, [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)])
                  for sheet in book.worksheets]
    finally:
        book.close()
    texts = []
    for title, rows in sheets:
        rows = [row for row in rows if any(row)]
        if rows:
            texts.append((f"Sheet: {title}\n" if len(sheets) > 1 else "") + _table_text(rows))
    return "\n\n".join(texts)


def _cell_text(value) -> str:
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        return f"{value:%Y-%m-%d}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _table_text(rows: list[list[str]]) -> str:
    """A table's rows as text, its first row the header: each other row one line of "column:
    value" pairs, its empty cells left out."""
    if not rows:
        return ""
    header, body = rows[0], rows[1:]
    if not body:
        return ", ".join(header)
    lines = []
    for row in body:
        pairs = [f"{h}: {v}" if h.strip() else v for h, v in zip(header, row) if v.strip()]
        lines.append("; ".join(pairs) + ".")
    return "\n".join(lines)


def load_file(path: str | Path) -> Document:
    """One file to a Document, or LoadError saying why not."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(f"unsupported file type '{suffix or path.name}' (supported: {', '.join(SUPPORTED)})")
    pages: tuple = ()
    dates: tuple = ()
    given, date = "", None
    try:
        if suffix in (".html", ".htm"):
            text, given, date = _html(path)
        elif suffix in (".md", ".markdown"):
            text = _read_text(path)
            given, date = front_matter(text)
            given = given or title_of(_FRONT_MATTER.sub("", text, count=1), markdown=True)
        elif suffix == ".pdf":
            text, pages, given, date = _pdf(path)
        elif suffix == ".docx":
            text, given, date = _docx(path)
        elif suffix == ".pptx":
            text, pages, given, date = _pptx(path)
        elif suffix == ".epub":
            text, given, date = _epub(path)
        elif suffix == ".csv":
            text = _csv(path)
        elif suffix == ".xlsx":
            text = _xlsx(path)
        elif suffix == ".eml":
            text, given, date = _email(path)
        elif suffix == ".mbox":
            (text, dates), given = _mbox(path), path.stem
        else:
            text = _read_text(path)
    except OSError as e:
        raise LoadError(f"cannot read it ({e.strerror or e})") from None
    except RecursionError:
        raise LoadError("not read: its structure is nested too deeply") from None
    except (LoadError, MissingDependency):
        raise
    except Exception as e:  # a library's error on a damaged file: this file is skipped, the batch goes on
        raise LoadError(f"could not be read ({e.__class__.__name__}: {str(e)[:120]})") from None
    if not text.strip():
        raise LoadError("no text in it (empty, or a scanned PDF without a text layer)")
    title = "" if suffix in (".csv", ".xlsx") else title_of(text, given, markdown=suffix in (".md", ".markdown"))
    dates = ((0, date),) if date else dates if any(day for _, day in dates) else ()
    return Document(source=str(path.resolve()), text=text, pages=pages, title=title, dates=dates)


def expand(paths) -> tuple[list[Path], list[Skipped]]:
    """Files named, and files under folders named (hidden ones skipped), sorted. Symbolic links to
    folders are not followed (no loops); a link that leads nowhere is reported."""
    files, skipped = [], []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for root, dirs, names in os.walk(p, onerror=lambda e: skipped.append(
                    Skipped(e.filename, f"cannot read the folder ({e.strerror})"))):
                for d in dirs:
                    if not d.startswith(".") and (Path(root) / d).is_symlink():
                        skipped.append(Skipped(str(Path(root) / d), "a symbolic link to a folder, not followed"))
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (Path(root) / d).is_symlink())
                for name in sorted(names):
                    if not name.startswith("."):
                        _take(Path(root) / name, files, skipped, named=False)
        elif p.exists() or p.is_symlink():
            _take(p, files, skipped, named=True)
        else:
            skipped.append(Skipped(str(p), "no such file or folder"))
    return files, skipped


def _take(f: Path, files: list[Path], skipped: list[Skipped], named: bool) -> None:
    try:
        str(f).encode("utf-8")
    except UnicodeEncodeError:
        skipped.append(Skipped(str(f).encode("utf-8", "backslashreplace").decode(),
                               "its name is not valid UTF-8 (rename it)"))
        return
    if not f.is_file():
        reason = ("a symbolic link that leads nowhere (or in a loop)" if f.is_symlink()
                  else "not a regular file")
        skipped.append(Skipped(str(f), reason))
    elif named or f.suffix.lower() in SUPPORTED:
        files.append(f)
    else:
        skipped.append(Skipped(str(f), f"unsupported file type '{f.suffix or f.name}'"))
