"""Lexical retrieval with bm25s over the store's chunks: built when an index is saved, stored
with its generation (bm25s files plus the vector ids) and loaded, memory-mapped, when read."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import MissingDependency

STOPWORDS = "english"
TOKENS = r"(?u)\b\w+\b"  # one-character tokens count ("vitamin D")
K1, B = 0.9, 0.4


def _bm25s():
    try:
        import bm25s
    except ImportError:
        raise MissingDependency("bm25s", "bm25s") from None
    return bm25s


def terms(texts: list[str]) -> list[list[str]]:
    """The words BM25 counts in each text: lower-cased, stopwords left out (as BM25Index does)."""
    if not texts:
        return []
    return _bm25s().tokenize(texts, token_pattern=TOKENS, stopwords=STOPWORDS, show_progress=False,
                             return_ids=False)


class BM25Index:
    def __init__(self, ids: list[int], texts: list[str], k1: float = K1, b: float = B, model=None):
        bm25s = _bm25s()
        self._bm25s = bm25s
        self.ids = np.asarray(ids, dtype="int64")
        self.model = model
        if model is None:
            self.model = bm25s.BM25(k1=k1, b=b)
            if texts:
                tokens = bm25s.tokenize(texts, token_pattern=TOKENS, stopwords=STOPWORDS, show_progress=False)
                self.model.index(tokens, show_progress=False)
        self.empty = not len(self.ids)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "ids.npy", self.ids)
        if not self.empty:
            self.model.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> "BM25Index":
        ids = np.load(folder / "ids.npy")
        model = _bm25s().BM25.load(str(folder), mmap=True, show_progress=False) if len(ids) else None
        return cls(ids, [], model=model or _bm25s().BM25())

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        if self.empty or k <= 0:
            return []
        tokens = self._bm25s.tokenize([query], token_pattern=TOKENS, stopwords=STOPWORDS, show_progress=False,
                                     return_ids=False)[0]
        vocab = self.model.vocab_dict
        known = [t for t in tokens if t in vocab]
        if not known:
            return []
        scores = self.model.get_scores(known)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in top if scores[i] > 0]
