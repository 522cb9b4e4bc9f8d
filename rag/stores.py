"""Where an index lives, chosen by the setting vector_store: "faiss" (files in the index folder,
rag/store.py) or "qdrant" (a Qdrant collection, rag/qdrant_store.py). Both offer IndexStore."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np

from .config import NEW_INDEX_CHUNKING
from .store import Manifest, Store, chunking_on_disk, embedder_on_disk, files_on_disk
from .types import Chunk, IndexedFile


class IndexStore(Protocol):
    """What the core (rag.pipeline, rag.ingest) asks of an index."""
    manifest: Manifest  # embedder, chunking, next_id and files: source -> {sha256, chunks, added, title}
    chunks: Mapping[int, Chunk]  # vector id -> chunk
    unsaved: bool  # batches committed since the last save()

    def files(self) -> list[IndexedFile]: ...
    def dense(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]: ...  # (vector id, cosine)
    def lexical(self, query: str, k: int) -> list[tuple[int, float]]: ...  # (vector id, BM25 score)
    def vector(self, vid: int) -> np.ndarray: ...
    def source_text(self, source: str) -> str: ...
    def add_source(self, source: str, sha256: str, chunks: list[Chunk], vectors: np.ndarray, added: str,
                   title: str = "", reader: int = 1) -> None: ...
    def remove_source(self, source: str) -> int: ...
    def commit(self) -> None: ...
    def save(self) -> None: ...
    def is_stale(self) -> bool: ...


def open_store(settings, embedder: str, dim: int) -> IndexStore:
    """The index of these settings, checked against the embedder and chunking (an empty one if new)."""
    if settings.vector_store == "qdrant":
        from .qdrant_store import QdrantStore
        return QdrantStore.open(settings, embedder, dim)
    return Store.open(settings.index_dir, embedder, dim, settings.chunking,
                      settings.ann_threshold)


def listed_files(settings) -> list[IndexedFile]:
    """The documents of the index, from its manifest alone (no vectors, no model)."""
    if settings.vector_store == "qdrant":
        from .qdrant_store import listed_files as qdrant_files
        return qdrant_files(settings)
    return files_on_disk(settings.index_dir)


def indexed_embedder(settings) -> str | None:
    """The embedder id the index was built with ("all-MiniLM-L6-v2", "all-MiniLM-L6-v2+onnx-int8"),
    without loading it; None when there is no index yet."""
    if settings.vector_store == "qdrant":
        from .qdrant_store import indexed_embedder as qdrant_embedder
        return qdrant_embedder(settings)
    return embedder_on_disk(settings.index_dir)


def indexed_chunking(settings) -> tuple[int, int]:
    """(chunk tokens, overlap) that ingest uses: the index's own, or for an index not built yet
    the setting or NEW_INDEX_CHUNKING. Loads no model."""
    if settings.vector_store == "qdrant":
        from .qdrant_store import indexed_chunking as qdrant_chunking
        on_disk = qdrant_chunking(settings)
    else:
        on_disk = chunking_on_disk(settings.index_dir)
    return on_disk or settings.chunking or NEW_INDEX_CHUNKING
