"""Compact context: the sentences of the retrieved passages that matter for the question,
within a token budget. Each selected run of consecutive sentences becomes one passage whose
span is exact in its document, so a citation still points at the text the model read."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from .arithmetic import states_quantity
from .chunking import all_sentences
from .types import Chunk, Hit
from .text import COUNT_WORDS, content_words, message_body
from .verify import short_forms

AMOUNT_BONUS = 0.15  # added to a sentence that states a quantity, when the caller wants an amount

# "Which four directions ...", "What are the three main barriers ...": a question that says how many
# items it wants
_COUNTED_ITEMS = re.compile(r"^\W*(?:which|what|name)\s+(?:(?:are|were|is)\s+)?(?:the\s+)?"
                            rf"(?:{'|'.join(COUNT_WORDS)}|\d{{1,2}})\s+[a-z]", re.I)


def wants_items(question: str) -> bool:
    """Does the question ask for a number of items it names? They are usually listed across a
    section, one or more sentences each, and the best sentences alone split the list up: such a
    question reads whole chunks."""
    return bool(_COUNTED_ITEMS.match(question))


def select(query: str, query_vector: np.ndarray, hits: list[Hit], embedder, budget: int,
           neighbours: int = 1, wants_amount: bool = False) -> list[Hit]:
    """Score every sentence of the hits (cosine to the query plus word overlap, where "MSFT"
    counts for microsoft and a message's time stamp and writer do not count, plus a bonus for
    stating a quantity when `wants_amount`), take the best with up to `neighbours` sentences
    before each until `budget` embedder tokens, and return them as numbered passages in order
    of their best sentence. A sentence that two overlapping chunks share is read once, from the
    better-ranked chunk."""
    units = []  # (hit index, sentence index within hit, start, end) spans relative to the chunk
    index: dict[tuple[int, int], int] = {}  # (hit, sentence) -> unit; a shared sentence -> its first unit
    for h_i, hit in enumerate(hits):
        c = hit.chunk
        for s_i, (s, e) in enumerate(all_sentences(c.text)):
            index[(h_i, s_i)] = next((u for u, (h, _, us, ue) in enumerate(units) if _overlap(
                hits[h].chunk, us, ue, c, s, e)), len(units))
            if index[(h_i, s_i)] == len(units):
                units.append((h_i, s_i, s, e))
    if not units:
        return hits
    texts = [hits[h].chunk.text[s:e] for h, _, s, e in units]
    vectors = embedder.embed_documents(texts)
    cosine = vectors @ np.asarray(query_vector, dtype="float32").reshape(-1)
    q_words = content_words(query)
    # in a message log, the writer's name heads each of their lines: it makes none of them more
    # relevant to a question naming the writer ("When did Sam book the hall?")
    bodies = [message_body(t) for t in texts]
    found = [content_words(t) | set(short_forms(t, q_words).values()) for t in bodies]
    overlap = np.array([len(q_words & words) / max(len(q_words), 1) for words in found])
    scores = cosine + 0.5 * overlap
    if wants_amount:
        scores += AMOUNT_BONUS * np.array([states_quantity(t) for t in texts], dtype="float32")

    chosen: dict[int, float] = {}  # unit -> score of the sentence it was chosen for
    used = 0
    for best in np.argsort(-scores, kind="stable"):
        h, si = units[best][0], units[best][1]
        group = list(dict.fromkeys(index[(h, j)] for j in range(si - neighbours, si + 1) if (h, j) in index))
        new = [u for u in group if u not in chosen]
        cost = sum(embedder.count_tokens(texts[u]) for u in new)
        if used and used + cost > budget:
            if not chosen or used >= budget:
                break
            continue
        for u in new:
            chosen[u] = float(scores[best])
        used += cost
        if used >= budget:
            break

    runs: list[tuple[float, Hit]] = []
    for h_i, hit in enumerate(hits):
        picked = sorted((units[u][1], u) for u in chosen if units[u][0] == h_i)
        start = 0
        while start < len(picked):
            end = start
            while end + 1 < len(picked) and picked[end + 1][0] == picked[end][0] + 1:
                end += 1
            first, last = picked[start][1], picked[end][1]
            runs.append((max(chosen[u] for _, u in picked[start:end + 1]),
                         sub_hit(hit, units[first][2], units[last][3])))
            start = end + 1
    runs.sort(key=lambda r: -r[0])
    return [replace(hit, rank=n) for n, (_, hit) in enumerate(runs, start=1)]


def _overlap(a: Chunk, a_start: int, a_end: int, b: Chunk, b_start: int, b_end: int) -> bool:
    """Do two sentence spans (relative to their chunks) share text of one document? Overlapping
    chunks may cut the same text into sentences differently."""
    return a.source == b.source and a.start + a_start < b.start + b_end and b.start + b_start < a.start + a_end


def sub_hit(hit: Hit, start: int, end: int) -> Hit:
    c = hit.chunk
    chunk = replace(c, id=f"{c.id}@{start}-{end}", text=c.text[start:end], start=c.start + start, end=c.start + end)
    return replace(hit, chunk=chunk)
