"""Add, update and remove documents in a Store. Unchanged files (same sha256) cost nothing;
the index is saved once at the end, atomically. prepare() reads and embeds; apply() changes
the store, so that readers wait only for the short second step."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .chunking import chunk_document
from .embedder import Embedder
from .errors import LoadError
from .loaders import Skipped, expand, load_file
from .store import Store
from .types import Chunk


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
class Plan:
    """What an ingest will change: read, chunked and embedded, not yet applied to the store."""
    report: IngestReport
    pending: list[tuple[str, str, list[Chunk], str]]  # (source, sha256, chunks, title)
    vectors: np.ndarray | None


def prepare(store: Store, embedder: Embedder, paths, chunk_tokens: int, chunk_overlap: int,
            progress: bool = False, warn=None) -> Plan:
    """Read, chunk and embed what changed; the store is only read."""
    warn = warn or (lambda msg: print(f"warning: {msg}", file=sys.stderr))
    report = IngestReport()
    files, report.skipped = expand(paths)
    for s in report.skipped:
        warn(str(s))
    pending = []  # (source, sha, chunks)
    if progress and len(files) > 1:
        from tqdm import tqdm
        files_iter = tqdm(files, desc="reading", unit="file", leave=False)
    else:
        files_iter = files
    for path in files_iter:
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

    all_chunks = [c for _, _, chunks, _ in pending for c in chunks]
    vectors = embedder.embed_documents([c.text for c in all_chunks], progress=progress) if all_chunks else None
    report.chunks = len(all_chunks)
    seen = {str(f.resolve()) for f in files}
    for folder in (Path(p).resolve() for p in paths if Path(p).is_dir()):
        for source in store.manifest.files:
            if Path(source).is_relative_to(folder) and source not in seen and not Path(source).exists():
                report.removed.append(source)
    return Plan(report, pending, vectors)


def apply(store: Store, plan: Plan) -> None:
    """Change the store as planned and save it (one new generation)."""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    offset = 0
    for source, sha, chunks, title in plan.pending:
        store.remove_source(source)
        store.add_source(source, sha, chunks, plan.vectors[offset:offset + len(chunks)], now, title=title)
        offset += len(chunks)
    for source in plan.report.removed:
        store.remove_source(source)
    if plan.pending or plan.report.removed:
        store.save()
