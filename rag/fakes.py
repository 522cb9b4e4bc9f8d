"""Deterministic stand-ins for the two models, for fast tests of logic and of the real entry points.

They are also presets: `embedder = "fake"` and `model = "fake"` (e.g. `rag --embedder fake --model
fake ask ...`) run the CLI and the server with no model loaded. Every behaviour tested with them is
also tested with the real models."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from .chunking import all_sentences

NAME = "fake"  # the preset name, for the embedder and for the model
REFUSAL = "I could not find the answer in your documents."
FIRST_PASSAGE = re.compile(r"^\[1\] \([^\n]*\)\n(.+?)(?:\n\n|\Z)", re.M | re.S)
WORD = re.compile(r"\w+")


class FakeEmbedder:
    """Bag of hashed lower-case words, normalised: texts sharing words are close."""

    def __init__(self, dim: int = 64, id: str = "fake-words"):
        self.id, self.dim = id, dim
        self.calls = 0  # documents embedded, to check incremental ingest

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype="float32")
        for w in WORD.findall(text.lower()):
            v[int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def embed_documents(self, texts, progress=False):
        self.calls += len(texts)
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), "float32")

    def embed_query(self, text):
        return self._vec(text).reshape(1, -1)


class FakeGenerator:
    """Replies are queued; each reply is streamed word by word. Records the messages.

    With no reply queued it refuses, or, when `extractive`, answers with the sentence of passage
    [1] that shares the most words with the question, cited: an answer that verification accepts."""

    def __init__(self, replies=(), extractive: bool = False, id: str = "fake-model"):
        self.id = id
        self.replies = list(replies)
        self.extractive = extractive
        self.seen: list[list[dict]] = []
        self.last_usage = (0, 0)  # (words of the prompt, pieces of the reply)
        self.odds: dict | None = None  # what first_word_odds says, when set
        self.odds_seen: list[list[dict]] = []  # the messages first_word_odds was asked about

    def queue(self, *replies: str):
        self.replies.extend(replies)

    def _default(self, messages) -> str:
        # the last passage [1] of the prompt (a worked example before the passages may have one
        # too), and what follows it: the question
        content = messages[-1]["content"] if messages else ""
        found = list(FIRST_PASSAGE.finditer(content)) if self.extractive else []
        if not found:
            return REFUSAL
        asked = set(WORD.findall(content[found[-1].end():].lower()))
        passage = " ".join(found[-1].group(1).split())
        sentences = [passage[s:e] for s, e in all_sentences(passage)] or [passage]
        best = max(sentences, key=lambda t: len(asked & set(WORD.findall(t.lower()))))
        return f"{best.rstrip('.!?')} [1]."

    def first_word_odds(self, messages, words):
        """1.0 for the word the next reply opens with (case aside), 0.0 for the others; `odds`
        instead when set."""
        self.odds_seen.append(messages)
        if self.odds is not None:
            return {w: self.odds.get(w, 0.0) for w in words}
        reply = self.replies[0] if self.replies else self._default(messages)
        opening = (re.findall(r"\w+", reply)[:1] or [""])[0].lower()
        return {w: float(w.lower() == opening) for w in words}

    def stream(self, messages, max_tokens=384, temperature=0.0):
        self.seen.append(messages)
        reply = self.replies.pop(0) if self.replies else self._default(messages)
        pieces = re.findall(r"\S+\s*", reply)
        yield from pieces
        self.last_usage = (sum(len(m["content"].split()) for m in messages), len(pieces))


def embedder() -> FakeEmbedder:
    """The `embedder = "fake"` preset."""
    return FakeEmbedder(id=NAME)


def generator() -> FakeGenerator:
    """The `model = "fake"` preset."""
    return FakeGenerator(extractive=True, id=NAME)
