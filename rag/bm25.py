"""Lexical retrieval: BM25 kept per segment of the store. Each segment holds the term frequencies
of its chunks (a sparse matrix in plain .npy files); a query is scored with the statistics of the
whole live collection (document frequencies summed over the segments with deleted chunks left
out, the average length of the live chunks), so that the scores are those of one BM25 over every
live chunk: bm25s's default "lucene" variant on bm25s's tokens (a test compares them).

    seg-000004/lexical/meta.json     {"format", "docs", "terms", "token_pattern", "stopwords"}
    seg-000004/lexical/terms.json    the segment's terms, in column order
    seg-000004/lexical/ids.npy       the vector id of each row (int64)
    seg-000004/lexical/lengths.npy   the tokens of each row (int32)
    seg-000004/lexical/indptr.npy    column pointers, one column per term (int64)
    seg-000004/lexical/rows.npy      the row of each posting, column after column (int32)
    seg-000004/lexical/tfs.npy       the term frequency of each posting (int32)

Adding a file writes its own segment's files only; removing one changes nothing here (the
manifest lists the deleted ids)."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np

from .errors import MissingDependency

FORMAT = 1  # of a segment's lexical files
STOPWORDS = "english"
TOKENS = r"(?u)\b\w+\b"  # one-character tokens count ("vitamin D")
K1, B = 0.9, 0.4
ARRAYS = ("ids", "lengths", "indptr", "rows", "tfs")


def _bm25s():
    try:
        import bm25s
    except ImportError:
        raise MissingDependency("bm25s", "bm25s") from None
    return bm25s


def tokenize(texts: list[str], return_ids: bool = True):
    """bm25s's tokenizer: lower case, words of TOKENS, English stop words left out."""
    return _bm25s().tokenize(texts, token_pattern=TOKENS, stopwords=STOPWORDS, show_progress=False,
                             return_ids=return_ids)


def terms(texts: list[str]) -> list[list[str]]:
    """The words BM25 counts in each text, as tokenize gives them."""
    return tokenize(texts, return_ids=False) if texts else []


class Postings:
    """The term frequencies of one segment's chunks: for each term, the rows holding it."""

    def __init__(self, ids, lengths, indptr, rows, tfs, terms: list[str]):
        self.ids, self.lengths, self.indptr, self.rows, self.tfs = ids, lengths, indptr, rows, tfs
        self.terms = terms
        self.vocab = {t: i for i, t in enumerate(terms)}

    @classmethod
    def build(cls, ids, texts: list[str]) -> "Postings":
        from itertools import chain

        from scipy.sparse import csc_matrix
        ids = np.asarray(ids, dtype="int64")
        if not len(ids):
            return cls(ids, np.zeros(0, "int32"), np.zeros(1, "int64"), np.zeros(0, "int32"), np.zeros(0, "int32"), [])
        tokens = tokenize(list(texts))
        lengths = np.fromiter((len(t) for t in tokens.ids), "int32", len(ids))
        cols = np.fromiter(chain.from_iterable(tokens.ids), "int64", int(lengths.sum()))
        rows = np.repeat(np.arange(len(ids), dtype="int64"), lengths)
        matrix = csc_matrix((np.ones(len(cols), "int32"), (rows, cols)), shape=(len(ids), len(tokens.vocab)))
        matrix.sum_duplicates()
        return cls(ids, lengths, matrix.indptr.astype("int64"), matrix.indices.astype("int32"),
                   matrix.data.astype("int32"), list(tokens.vocab))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in ARRAYS:
            np.save(folder / f"{name}.npy", getattr(self, name))
        (folder / "terms.json").write_text(json.dumps(self.terms, ensure_ascii=False), encoding="utf-8")
        (folder / "meta.json").write_text(json.dumps({
            "format": FORMAT, "docs": len(self.ids), "terms": len(self.terms), "token_pattern": TOKENS,
            "stopwords": STOPWORDS}), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "Postings":
        """Raises ValueError (or OSError) for files not written this way; arrays are memory-mapped."""
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if (meta.get("format"), meta.get("token_pattern"), meta.get("stopwords")) != (FORMAT, TOKENS, STOPWORDS):
            raise ValueError(f"lexical files of format {meta.get('format')} with other tokens")
        arrays = {name: np.asarray(np.load(folder / f"{name}.npy", mmap_mode="r")) for name in ARRAYS}
        terms = json.loads((folder / "terms.json").read_text(encoding="utf-8"))
        if not (len(arrays["ids"]) == len(arrays["lengths"]) == meta["docs"] and len(terms) == meta["terms"]
                and len(arrays["indptr"]) == len(terms) + 1 and len(arrays["rows"]) == len(arrays["tfs"])):
            raise ValueError(f"lexical files in {folder} do not agree")
        return cls(**arrays, terms=terms)

    def column(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(rows, term frequencies) of the chunks holding the term."""
        col = self.vocab.get(term)
        if col is None:
            return None
        start, end = int(self.indptr[col]), int(self.indptr[col + 1])
        return self.rows[start:end], self.tfs[start:end]

    def __len__(self) -> int:
        return len(self.ids)


class BM25:
    """Segments' postings searched as one collection; deleted vector ids count nowhere."""

    def __init__(self, parts: list[tuple[Postings, object]], k1: float = K1, b: float = B):
        """parts: (postings, the vector ids deleted from them)."""
        self.parts = []
        total_length, self.n = 0, 0
        for postings, deleted in parts:
            deleted = np.fromiter(deleted, "int64")
            live = ~np.isin(postings.ids, deleted) if len(deleted) and len(postings) else None
            lengths = np.asarray(postings.lengths)
            self.n += len(postings) if live is None else int(live.sum())
            total_length += int(lengths.sum() if live is None else lengths[live].sum())
            self.parts.append((postings, live))
        self.avgdl = total_length / self.n if self.n else 0.0
        self.k1 = k1
        self.offsets = np.cumsum([0] + [len(p) for p, _ in self.parts])
        whole = [np.asarray(p.lengths, "float64") for p, _ in self.parts]
        self.norm = k1 * (1 - b + b * np.concatenate(whole) / (self.avgdl or 1.0)) if whole else np.zeros(0)
        self.ids = np.concatenate([np.asarray(p.ids) for p, _ in self.parts]) if self.parts else np.zeros(0, "int64")

    def scores(self, query: str) -> np.ndarray:
        """One score per row of every part, in order (0 for deleted rows)."""
        scores = np.zeros(int(self.offsets[-1]), dtype="float32")
        for term, count in Counter(tokenize([query], return_ids=False)[0]).items():
            rows, tfs = [], []
            for (postings, live), offset in zip(self.parts, self.offsets):
                column = postings.column(term)
                if column is not None:
                    if live is not None:
                        keep = live[column[0]]
                        column = column[0][keep], column[1][keep]
                    rows.append(column[0] + offset)
                    tfs.append(column[1])
            if not rows:
                continue
            rows = np.concatenate(rows)
            if not len(rows):
                continue
            tfs = np.concatenate(tfs).astype("float64")
            idf = math.log(1 + (self.n - len(rows) + 0.5) / (len(rows) + 0.5))
            scores[rows] += count * idf * tfs / (tfs + self.norm[rows])
        return scores

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        if not self.n or k <= 0:
            return []
        scores = self.scores(query)
        found = np.flatnonzero(scores > 0)
        if len(found) > k:
            found = found[np.argpartition(-scores[found], k - 1)[:k]]
        top = found[np.argsort(-scores[found], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in top]
