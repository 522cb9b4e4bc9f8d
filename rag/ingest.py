"""Add, update and remove documents in a Store. Unchanged files (same sha256) cost nothing.
Files are read, chunked and embedded in batches of about `batch_chunks` chunks, and each batch is
committed to the index as it is done: an interrupted ingest keeps the batches it finished, and
the next run carries on from there (the files it committed are unchanged then)."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .chunking import chunk_document
from .embedder import Embedder
from .errors import LoadError
from .loaders import Skipped, expand, load_file
from .stores import IndexStore
from .types import Chunk

BATCH_CHUNKS = 256


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # files gone from a folder that was ingested
    skipped: list[Skipped] = field(default_factory=list)
    chunks: int = 0  # chunks embedded in this run

    def summary(self) -> str:
        return (f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
                f"{len(self.removed)} removed, {len(self.skipped)} skipped; {self.chunks} chunks embedded")


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Batch:
    """Files read, chunked and embedded, not yet applied to the store."""
    pending: list[tuple[str, str, list[Chunk], str]]  # (source, sha256, chunks, title)
    vectors: np.ndarray | None
    removed: list[str] = field(default_factory=list)
    final: bool = False  # the last batch of the ingest: the store is saved (merges, BM25)


def batches(store: IndexStore, embedder: Embedder, paths, chunk_tokens: int, chunk_overlap: int,
            report: IngestReport, batch_chunks: int = BATCH_CHUNKS, progress: bool = False,
            warn=None) -> Iterator[Batch]:
    """The batches of an ingest, the last one marked final; the store is only read."""
    warn = warn or (lambda msg: print(f"warning: {msg}", file=sys.stderr))
    files, report.skipped = expand(paths)
    for s in report.skipped:
        warn(str(s))
    bar = None
    if progress and len(files) > 1:
        from tqdm import tqdm
        bar = tqdm(total=len(files), desc="ingesting", unit="file", leave=False)
    pending: list[tuple[str, str, list[Chunk], str]] = []
    size = 0
    for path in files:
        if bar is not None:
            bar.update(1)
        source = str(path.resolve())
        try:
            sha = file_sha256(path)
        except OSError as e:
            report.skipped.append(Skipped(str(path), f"cannot read it ({e.strerror})"))
            warn(str(report.skipped[-1]))
            continue
        known = store.manifest.files.get(source)
        if known and known["sha256"] == sha:
            report.unchanged.append(source)
            continue
        try:
            doc = load_file(path)
        except LoadError as e:
            report.skipped.append(Skipped(str(path), str(e)))
            warn(str(report.skipped[-1]) + (" (the indexed version is kept)" if known else ""))
            continue
        chunks = chunk_document(doc, chunk_tokens, chunk_overlap, embedder.count_tokens)
        pending.append((source, sha, chunks, doc.title))
        (report.updated if known else report.added).append(source)
        size += len(chunks)
        if size >= batch_chunks:
            yield _embedded(embedder, pending, report)
            pending, size = [], 0
    if bar is not None:
        bar.close()
    seen = {str(f.resolve()) for f in files}
    for folder in (Path(p).resolve() for p in paths if Path(p).is_dir()):
        for source in store.manifest.files:
            if Path(source).is_relative_to(folder) and source not in seen and not Path(source).exists():
                report.removed.append(source)
    last = _embedded(embedder, pending, report)
    last.removed, last.final = list(report.removed), True
    yield last


def _embedded(embedder: Embedder, pending, report: IngestReport) -> Batch:
    texts = [c.text for _, _, chunks, _ in pending for c in chunks]
    report.chunks += len(texts)
    return Batch(pending, embedder.embed_documents(texts) if texts else None)


def apply(store: IndexStore, batch: Batch) -> None:
    """Change the store as the batch says and commit it; the final batch saves the store."""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    offset = 0
    for source, sha, chunks, title in batch.pending:
        store.remove_source(source)
        store.add_source(source, sha, chunks, batch.vectors[offset:offset + len(chunks)], now, title=title)
        offset += len(chunks)
    for source in batch.removed:
        store.remove_source(source)
    if batch.final:
        if batch.pending or batch.removed or store.unsaved:
            store.save()
    elif batch.pending:
        store.commit()


def ingest(store: IndexStore, embedder: Embedder, paths, chunk_tokens: int, chunk_overlap: int,
           commit: Callable[[Batch], None], batch_chunks: int = BATCH_CHUNKS, progress: bool = False,
           warn=None) -> IngestReport:
    """Read, embed and commit batch after batch; commit(batch) applies one (see apply)."""
    report = IngestReport()
    for batch in batches(store, embedder, paths, chunk_tokens, chunk_overlap, report, batch_chunks,
                         progress, warn):
        commit(batch)
    return report
