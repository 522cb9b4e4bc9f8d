"""Turn [n] markers in a model's answer into Citations; drop markers that point nowhere."""

from __future__ import annotations

import re

from .chunking import all_sentences
from .types import Citation, Hit

MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
RUN = re.compile(r"(?:\s*\[\d+\])+")  # the markers after one claim, once each group is [n]


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def is_refusal(text: str, refusal: str) -> bool:
    return bool(_norm(refusal)) and _norm(refusal) in _norm(text)


def markers(numbers) -> str:
    """One marker per passage, in order: (2, 1, 2) -> "[1][2]"."""
    return "".join(f"[{n}]" for n in sorted(set(numbers)))


def clean_markers(text: str, n_passages: int) -> str:
    """Rewrite the markers after each claim as [a][b]: valid numbers, each passage once, in order
    ("x [2][1][2]." -> "x [1][2]."); remove invalid ones. Sentences keep their own markers."""
    def fix(m: re.Match) -> str:
        numbers = [n for n in map(int, re.split(r"[,;]", m.group(1))) if 1 <= n <= n_passages]
        return " " + markers(numbers) if numbers else ""
    cleaned = MARKER.sub(fix, text)
    cleaned = re.sub(rf"([.!?])({RUN.pattern})", r"\2\1", cleaned)  # "x. [1]" -> "x [1]."
    cleaned = RUN.sub(lambda m: " " + markers(markers_in(m.group())), cleaned)  # [2] [1][2] -> [1][2]
    cleaned = _once_per_sentence(cleaned)
    # "x [1] ." -> "x [1]."; a dot that starts a word stays ("the .pdbrc file")
    return re.sub(r"[ \t]+([.,;:!?])(?=\s|$)", r"\1", cleaned).strip()


def numbered(text: str, hits: list[Hit] | tuple[Hit, ...]) -> str:
    """A passage cited by the file name its header shows ("[notes.txt]", "(notes.txt, page 2)")
    instead of by its number is cited as [n], n the best-ranked passage from that file; the
    sentence is then verified against that passage like any other citation."""
    first: dict[str, int] = {}
    for h in sorted(hits, key=lambda h: h.rank):
        first.setdefault(h.chunk.name, h.rank)
    if not first:
        return text
    names = "|".join(re.escape(name) for name in sorted(first, key=len, reverse=True))
    cited = re.compile(rf"\s*[\[(]\s*({names})(?:,\s*(?:page|slide)\s*\d+)?\s*[\])]")
    return cited.sub(lambda m: f" [{first[m.group(1)]}]", text)


def _once_per_sentence(text: str) -> str:
    """A passage cited twice in one sentence is cited once, at its last place: one fact, one
    marker ("Meta [1] plans $65bn [1]." -> "Meta plans $65bn [1]."). The sentence cites the same
    passages as before."""
    out, at = [], 0
    for s, e in all_sentences(text):
        runs = list(RUN.finditer(text, s, e))
        last = {n: i for i, run in enumerate(runs) for n in markers_in(run.group())}
        for i, run in enumerate(runs):
            kept = [n for n in markers_in(run.group()) if last[n] == i]
            out.append(text[at:run.start()] + (" " + markers(kept) if kept else ""))
            at = run.end()
    return "".join(out) + text[at:]


def markers_in(text: str) -> list[int]:
    return [int(n) for m in MARKER.finditer(text) for n in re.split(r"\s*[,;]\s*", m.group(1))]


def extract(text: str, hits: list[Hit]) -> tuple[Citation, ...]:
    """One Citation per distinct passage cited, in order of first mention, carrying the
    answer sentence that first cites it. `text` must already be cleaned."""
    by_rank = {h.rank: h for h in hits}
    out: dict[int, Citation] = {}
    for s, e in all_sentences(text):
        sentence = text[s:e]
        for n in markers_in(sentence):
            if n in by_rank and n not in out:
                c = by_rank[n].chunk
                out[n] = Citation(n=n, chunk_id=c.id, source=c.source, page=c.page, start=c.start,
                                  end=c.end, text=c.text, sentence=MARKER.sub("", sentence).strip(), date=c.date)
    return tuple(out.values())
