"""Sentence-aware chunking with overlap, sized in embedder tokens. Every chunk is an exact
span of its document's text. Paragraphs repeated within a document are indexed once."""

from __future__ import annotations

import hashlib
import re
from typing import Callable

from .types import Chunk, Document

# A sentence ends at . ! or ? (plus closing quotes/brackets and citation markers, as in
# 'it was "unjustified." [1]') followed by whitespace, unless the dot ends a common
# abbreviation or a single capital (initials, "U.S.").
_BOUNDARY = re.compile(r"[.!?][\"'\u201d\u2019)\]]*(?:\s*\[\d+\])*(?:\s+|$)")
_NO_BREAK = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|Inc|Corp|Ltd|Co|St|vs|etc|e\.g|i\.e|No|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)|\b[A-Z])\.$")


# text is hard-wrapped at a fixed width, 72 to 80 columns and rarely past 100: a longer line that
# stops mid-sentence was written that way (a comment ending with a link, then another comment)
WRAP_WIDTH = 100


def _trimmed(text: str, spans) -> list[tuple[int, int]]:
    """The spans without surrounding whitespace; empty ones dropped."""
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Spans of paragraphs. A line is a paragraph (a message of a log, a list item, a heading, a
    paragraph written on one line) unless the text is hard-wrapped: a line no longer than
    WRAP_WIDTH that stops inside a sentence (it ends with no punctuation) and is followed by a
    line that starts in lower case (after any opening quotes, brackets or emphasis: '"clear()"',
    '*n*') continues the same paragraph, so that a sentence is never cut
    where a line was wrapped."""
    out: list[tuple[int, int]] = []
    for s, e in _trimmed(text, (m.span() for m in re.finditer(r"[^\n]+", text))):
        if out and _continues(text, out[-1][1], s):
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


_OPENING = "\"'\u201c\u2018(*`"  # a wrapped line may open with a quoted, emphasised or bracketed word


def _continues(text: str, end: int, start: int) -> bool:
    """Does the line at `start` carry on the sentence the line ending at `end` broke off?"""
    line_start = text.rfind("\n", 0, end) + 1
    first = start
    while first < len(text) - 1 and text[first] in _OPENING:
        first += 1
    return (text[first].islower() and (text[end - 1].isalnum() or text[end - 1] in ",-–(")
            and end - line_start <= WRAP_WIDTH and text.count("\n", end, start) == 1)


def sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans within text[start:end], trimmed of surrounding whitespace."""
    end = len(text) if end is None else end
    spans, cursor = [], start
    for m in _BOUNDARY.finditer(text, start, end):
        # only the end of the sentence so far decides (an abbreviation): linear in the text's length
        head = text[max(cursor, m.start() - 24):m.start() + 1]
        if _NO_BREAK.search(head.rstrip("\"'\u201d\u2019)]")):
            continue
        spans.append((cursor, m.end()))
        cursor = m.end()
    if cursor < end:
        spans.append((cursor, end))
    return _trimmed(text, spans)


def all_sentences(text: str) -> list[tuple[int, int]]:
    return [s for p in paragraphs(text) for s in sentences(text, *p)]


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _split_long(text: str, span: tuple[int, int], size: int, count: Callable[[str], int],
                costs: dict[str, int]):
    """Cut a sentence longer than `size` tokens at word boundaries, in time linear in its length:
    a piece's tokens are the sum of its words' (as for WordPiece, which splits at spaces first).
    `costs` remembers each word's count across the document."""
    s, e = span
    if e - s <= 4 * size and count(text[s:e]) <= size:
        return [span]
    pieces, first, last, total = [], None, None, 0
    for m in re.finditer(r"\S+", text[s:e]):
        word = m.group()
        cost = costs.get(word)
        if cost is None:
            cost = costs[word] = count(word) if len(word) <= 100 else len(word)
        if first is not None and total + cost > size:
            pieces.append((s + first, s + last))
            first, total = None, 0
        if first is None:
            first = m.start()
        last, total = m.end(), total + cost
    if first is not None:
        pieces.append((s + first, s + last))
    return pieces


def chunk_document(doc: Document, size: int, overlap: int, count: Callable[[str], int]) -> list[Chunk]:
    """Pack whole sentences into chunks of at most `size` tokens; each next chunk repeats
    the last sentences of the previous one, up to `overlap` tokens. A chunk never spans a
    dropped (repeated) paragraph, so its text is always doc.text[start:end], nor text that its
    document's metadata dates differently (two messages of a mailbox)."""
    text = doc.text
    runs: list[list[tuple[int, int]]] = [[]]
    seen: set[str] = set()
    costs: dict[str, int] = {}
    for p in paragraphs(text):
        if runs[-1] and doc.date_at(p[0]) != doc.date_at(runs[-1][0][0]):
            runs.append([])
        key = _norm(text[p[0]:p[1]])
        if key in seen and len(key) > 40:
            runs.append([])  # a repeated paragraph breaks the run
            continue
        seen.add(key)
        runs[-1].extend(piece for s in sentences(text, *p) for piece in _split_long(text, s, size, count, costs))

    doc_key = hashlib.sha256(doc.source.encode()).hexdigest()[:12]
    chunks: list[Chunk] = []
    seen_chunks: set[str] = set()

    def emit(group: list[tuple[int, int]]):
        start, end = group[0][0], group[-1][1]
        body = text[start:end]
        if _norm(body) in seen_chunks:
            return
        seen_chunks.add(_norm(body))
        chunks.append(Chunk(id=f"{doc_key}:{start}-{end}", source=doc.source, text=body,
                            start=start, end=end, page=doc.page_at(start), date=doc.date_at(start)))

    for run in runs:
        if not run:
            continue
        costs = [count(text[s:e]) for s, e in run]
        i = 0
        while i < len(run):
            j, total = i, 0
            while j < len(run) and (j == i or total + costs[j] <= size):
                total += costs[j]
                j += 1
            emit(run[i:j])
            if j >= len(run):
                break
            # next chunk starts with the tail sentences of this one that fit the overlap
            k, back = j, 0
            while k - 1 > i and back + costs[k - 1] <= overlap:
                back += costs[k - 1]
                k -= 1
            i = k
    return chunks
