"""Lexical retrieval with bm25s over the store's chunks, built in memory on first use
(cheap next to embedding) and rebuilt after the index changes."""

from __future__ import annotations

import numpy as np

from .errors import MissingDependency

STOPWORDS = "english"
TOKENS = r"(?u)\b\w+\b"  # one-character tokens count ("vitamin D")


class BM25Index:
    def __init__(self, ids: list[int], texts: list[str], k1: float = 0.9, b: float = 0.4):
        try:
            import bm25s
        except ImportError:
            raise MissingDependency("bm25s", "bm25s") from None
        self._bm25s = bm25s
        self.ids = np.asarray(ids, dtype="int64")
        self.model = bm25s.BM25(k1=k1, b=b)
        if texts:
            tokens = bm25s.tokenize(texts, token_pattern=TOKENS, stopwords=STOPWORDS, show_progress=False)
            self.model.index(tokens, show_progress=False)
        self.empty = not texts

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
