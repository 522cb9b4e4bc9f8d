"""Which year an amount in a document is for, so that an answer does not give one year's figure
for another: after "so far it has spent $5 billion. And for 2025, we expect it to be flat.",
$5 billion is not 2025's spending."""

from __future__ import annotations

import re

from .arithmetic import amounts, amounts_at
from .chunking import sentences
from .text import NUMERIC_DATE

YEAR = re.compile(r"(?<![\w$€£.,])(?:19|20)\d\d(?![\w%]|-\d\d-\d\d)")  # "2025", "FY 2025"; not "$2025", "2025%" or a date "2025-12-05"


def _found(text: str) -> list[str]:
    """The years a text names, outside its dates: a date ("2025-12-05", or "05/12/2025" as a chat
    export stamps each message) says when something was written, not which year it is about."""
    return YEAR.findall(NUMERIC_DATE.sub(lambda m: " " * len(m.group()), text))


def years(text: str) -> set[str]:
    return set(_found(text))


def scope(document: str, offset: int) -> set[str] | None:
    """The years the text at `offset` is about: those its sentence names; else the last year named
    before it in its paragraph; else, when the paragraph names years only after it, none (the
    empty set: those years belong to later sentences). None when the paragraph names no year."""
    start = document.rfind("\n", 0, offset) + 1
    end = document.find("\n", offset)
    end = len(document) if end < 0 else end
    for s, e in sentences(document, start, end):
        if s <= offset < e:
            if own := years(document[s:e]):
                return own
            if before := _found(document[start:s]):
                return {before[-1]}
            return set() if years(document[e:end]) else None
    return None


def out_of_time(asked: set[str], sentence: str, passages: list[str], documents: list[str]) -> list[str]:
    """The amounts of an answer sentence that its passages give for another year than every year
    asked about ("$5 billion" for "How much in 2025?", when the passage's $5 billion is a total so
    far). An amount whose passage gives no year for it is not judged. `documents` are the
    passages' whole documents, where each passage is found."""
    if not asked:
        return []
    out = []
    for value, written in amounts(sentence):
        scopes = []
        for passage, document in zip(passages, documents):
            where = document.find(passage)
            if where < 0:
                continue
            scopes += [scope(document, where + at) for v, _, at in amounts_at(passage) if v == value]
        if scopes and not any(s is None or s & asked for s in scopes):
            out.append(written)
    return out
