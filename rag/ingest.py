"""Add, update and remove documents in a Store. Unchanged files (same sha256) cost nothing.
Files are read, chunked and embedded in batches of about `batch_chunks` chunks, and each batch is
committed to the index as it is done: an interrupted ingest keeps the batches it finished, and
the next run carries on from there (the files it committed are unchanged then).

A background thread (Reader) reads, loads and chunks the files in order, up to about one batch
ahead, while the calling thread embeds and commits; everything the caller sees (progress,
warnings, the report, errors) is told by the calling thread, in the files' order, as before."""

from __future__ import annotations

import hashlib
import sys
import threading
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .chunking import chunk_document
from .embedder import Embedder, token_counter
from .errors import LoadError
from .loaders import Skipped, expand, load_file, reader_version
from .stores import IndexStore
from .types import Chunk

BATCH_CHUNKS = 256
EMBED_SLICE = 64  # chunks embedded at a time, so that progress can be told within a large file
READ_AHEAD_FILES = 64  # files the reader may have read that the embedding has not taken yet


@dataclass(frozen=True)
class FileProgress:
    """One step of an ingest, for whoever shows progress (the terminal's bar, the browser)."""
    number: int  # the file's place among the files of this ingest, from 1
    files: int
    path: str
    stage: str  # "reading", "embedding", "unchanged" or "failed"
    done: int = 0  # embedding: the file's chunks embedded so far
    chunks: int = 0  # embedding: the file's chunks
    reason: str = ""  # failed: why, in plain words


class ProgressBar:
    """Progress for a terminal: a bar of files read (only when there are several)."""

    def __init__(self):
        self.bar = None

    def __call__(self, step: FileProgress) -> None:
        if step.stage == "embedding" or step.files < 2:
            return
        if self.bar is None:
            from tqdm import tqdm
            self.bar = tqdm(total=step.files, desc="ingesting", unit="file", leave=False)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


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


@dataclass
class ReadFile:
    """One file as the reader left it: chunked, unchanged, failed (skipped), or an error to raise."""
    source: str
    sha: str = ""
    known: bool = False  # indexed before this ingest
    unchanged: bool = False
    chunks: list[Chunk] = field(default_factory=list)
    title: str = ""
    skipped: Skipped | None = None
    note: str = ""  # appended to the skipped file's warning
    error: BaseException | None = None  # not a LoadError: the ingest stops with it, as it would have


class Reader:
    """A daemon thread reading, loading and chunking `files` in order, at most `ahead` chunks and
    READ_AHEAD_FILES files ahead of next(). close() stops it; a file it is still reading then
    is dropped, and the thread never keeps the process from exiting."""

    def __init__(self, files: list[Path], known: dict[str, str], chunk: Callable, ahead: int):
        self.files, self.known, self.chunk, self.ahead = files, known, chunk, max(1, ahead)
        self._ready: deque[ReadFile] = deque()
        self._chunks = 0  # chunks in _ready
        self._stopped = False
        self._cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, name="ingest-reader", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for path in self.files:
            with self._cond:
                while not self._stopped and (len(self._ready) >= READ_AHEAD_FILES or self._chunks >= self.ahead):
                    self._cond.wait()
                if self._stopped:
                    return
            item = self._read(path)
            with self._cond:
                if self._stopped:
                    return
                self._ready.append(item)
                self._chunks += len(item.chunks)
                self._cond.notify_all()
            if item.error is not None:
                return

    def _read(self, path: Path) -> ReadFile:
        try:
            item = ReadFile(str(path.resolve()))
            try:
                item.sha = file_sha256(path)
            except OSError as e:
                item.skipped = Skipped(str(path), f"cannot read it ({e.strerror})")
                return item
            known = self.known.get(item.source)
            item.known = known is not None
            if known == (item.sha, reader_version(path)):  # a file its format's reader has changed for is read again
                item.unchanged = True
                return item
            if self._stopped:
                return item
            try:
                doc = load_file(path)
            except LoadError as e:
                item.skipped = Skipped(str(path), str(e))
                item.note = " (the indexed version is kept)" if item.known else ""
                return item
            item.chunks, item.title = self.chunk(doc), doc.title
            return item
        except BaseException as e:  # noqa: BLE001 - raised again by next(), in the caller's thread
            return ReadFile(str(path), error=e)

    def next(self) -> ReadFile:
        """The next file, as soon as it is read."""
        with self._cond:
            while not self._ready:
                if not self.thread.is_alive():
                    raise RuntimeError("the ingest's reader thread stopped before its last file")
                self._cond.wait(0.5)
            item = self._ready.popleft()
            self._chunks -= len(item.chunks)
            self._cond.notify_all()
        return item

    def close(self) -> None:
        with self._cond:
            self._stopped = True
            self._ready.clear()
            self._chunks = 0
            self._cond.notify_all()


def batches(store: IndexStore, embedder: Embedder, paths, chunk_tokens: int, chunk_overlap: int,
            report: IngestReport, batch_chunks: int = BATCH_CHUNKS, progress=None,
            warn=None) -> Iterator[Batch]:
    """The batches of an ingest, the last one marked final; the store is only read.
    progress(FileProgress) is told of each file as it is read and embedded. Files are read
    ahead by a Reader while a batch is embedded; closing this generator stops it."""
    warn = warn or (lambda msg: print(f"warning: {msg}", file=sys.stderr))
    tell = progress or (lambda step: None)
    files, report.skipped = expand(paths)
    for s in report.skipped:
        warn(str(s))
    pending: list[tuple[str, str, list[Chunk], str]] = []
    numbers: dict[str, int] = {}  # source -> its number, for the files pending
    size = 0
    known = {source: (f["sha256"], f.get("reader", 1)) for source, f in store.manifest.files.items()}
    count = token_counter(embedder)
    reader = Reader(files, known, lambda doc: chunk_document(doc, chunk_tokens, chunk_overlap, count),
                    batch_chunks)
    try:
        for number, path in enumerate(files, start=1):
            step = FileProgress(number, len(files), str(path), "reading")
            tell(step)
            read = reader.next()
            if read.error is not None:
                raise read.error
            if read.skipped is not None:
                _failed(report, read.skipped, step, tell, warn, read.note)
                continue
            if read.unchanged:
                report.unchanged.append(read.source)
                tell(replace(step, stage="unchanged"))
                continue
            pending.append((read.source, read.sha, read.chunks, read.title))
            numbers[read.source] = number
            (report.updated if read.known else report.added).append(read.source)
            size += len(read.chunks)
            if size >= batch_chunks:
                yield _embedded(embedder, pending, report, numbers, len(files), tell)
                pending, size = [], 0
    finally:
        reader.close()
    seen = {str(f.resolve()) for f in files}
    for folder in (Path(p).resolve() for p in paths if Path(p).is_dir()):
        for source in store.manifest.files:
            if Path(source).is_relative_to(folder) and source not in seen and not Path(source).exists():
                report.removed.append(source)
    last = _embedded(embedder, pending, report, numbers, len(files), tell)
    last.removed, last.final = list(report.removed), True
    yield last


def _failed(report: IngestReport, skipped: Skipped, step: FileProgress, tell, warn, note: str = "") -> None:
    report.skipped.append(skipped)
    warn(str(skipped) + note)
    tell(replace(step, stage="failed", reason=skipped.reason))


def _embedded(embedder: Embedder, pending, report: IngestReport, numbers=None, files: int = 0,
              tell=None) -> Batch:
    """The pending files embedded, EMBED_SLICE chunks at a time; tell(FileProgress) after each."""
    texts = [c.text for _, _, chunks, _ in pending for c in chunks]
    report.chunks += len(texts)
    if not texts:
        return Batch(pending, None)
    ends, total = [], 0  # where each file's chunks end in texts
    for _, _, chunks, _ in pending:
        total += len(chunks)
        ends.append(total)
    parts = []
    for at in range(0, len(texts), EMBED_SLICE):
        parts.append(embedder.embed_documents(texts[at:at + EMBED_SLICE]))
        done = min(at + EMBED_SLICE, len(texts))
        for (source, _, chunks, _), end in zip(pending, ends):
            start = end - len(chunks)
            if tell and chunks and start < done and end > at:
                tell(FileProgress((numbers or {}).get(source, 0), files, source, "embedding",
                                  min(done, end) - start, len(chunks)))
    return Batch(pending, np.concatenate(parts))


def apply(store: IndexStore, batch: Batch) -> None:
    """Change the store as the batch says and commit it; the final batch saves the store."""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    offset = 0
    for source, sha, chunks, title in batch.pending:
        store.remove_source(source)
        store.add_source(source, sha, chunks, batch.vectors[offset:offset + len(chunks)], now, title=title,
                         reader=reader_version(source))
        offset += len(chunks)
    for source in batch.removed:
        store.remove_source(source)
    if batch.final:
        if batch.pending or batch.removed or store.unsaved:
            store.save()
    elif batch.pending:
        store.commit()


def ingest(store: IndexStore, embedder: Embedder, paths, chunk_tokens: int, chunk_overlap: int,
           commit: Callable[[Batch], None], batch_chunks: int = BATCH_CHUNKS, progress=False,
           warn=None) -> IngestReport:
    """Read, embed and commit batch after batch; commit(batch) applies one (see apply).
    progress: True for a bar in the terminal, or a callable told each FileProgress."""
    report = IngestReport()
    tell = ProgressBar() if progress is True else progress or None
    steps = batches(store, embedder, paths, chunk_tokens, chunk_overlap, report, batch_chunks, tell, warn)
    try:
        for batch in steps:
            commit(batch)
    finally:
        steps.close()  # a commit that failed (or Ctrl-C in it) stops the reader now
        if isinstance(tell, ProgressBar):
            tell.close()
    return report
