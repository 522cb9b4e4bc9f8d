"""Prompt injection in documents: sentences that address the assistant rather than the reader
("ignore all previous instructions", "you are now an AI that...", "reply only with ..."). The
model never reads them; a passage is quoted as data, and data does not give orders."""

from __future__ import annotations

import re
from dataclasses import replace

from .chunking import all_sentences
from .context import sub_hit
from .types import Hit

INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+|your\s+|my\s+)?"
    r"(?:previous\s+|prior\s+|above\s+|earlier\s+|preceding\s+|original\s+|system\s+)?"
    r"(?:instructions?|prompts?|directions|guidelines)\b"
    r"|\b(?:reply|respond|answer|output)\s+only\s+with\b|\b(?:reply|respond)\s+with\s+only\b"
    r"|\byou\s+are\s+now\s+(?:an?\s+)?(?:ai|assistant|chatbot|language\s+model|llm)\b"
    r"|\bas\s+an?\s+(?:ai|language\s+model|assistant),?\s+you\s+(?:must|should|will)\b",
    re.I)


def is_instruction(sentence: str) -> bool:
    return bool(INSTRUCTION.search(sentence))


def without_instructions(hits: list[Hit]) -> tuple[list[Hit], int]:
    """The hits with every sentence that instructs the assistant cut out (a hit becomes the runs of
    sentences around them, each an exact span of its document), and how many were cut."""
    out, cut = [], 0
    for hit in hits:
        spans = all_sentences(hit.chunk.text)
        bad = [i for i, (s, e) in enumerate(spans) if is_instruction(hit.chunk.text[s:e])]
        if not bad:
            out.append(hit)
            continue
        cut += len(bad)
        run: list[tuple[int, int]] = []
        for i, span in enumerate(spans + [(0, 0)]):
            if i in bad or i == len(spans):
                if run:
                    out.append(sub_hit(hit, run[0][0], run[-1][1]))
                run = []
            else:
                run.append(span)
    return [replace(h, rank=n) for n, h in enumerate(out, start=1)], cut
