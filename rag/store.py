"""The index on disk: FAISS vectors, the chunk store and a manifest, as plain files.

    index/CURRENT              name of the live generation, e.g. "gen-000003"
    index/gen-000003/manifest.json   format, embedder id and dim, chunking, files (sha256, date)
    index/gen-000003/chunks.jsonl    one chunk per line, with its vector id
    index/gen-000003/vectors.faiss   FAISS IndexIDMap2 over inner product (normalised vectors)

Each write builds a new generation folder and then swaps CURRENT with os.replace, so an
interrupted ingest leaves the previous index loadable."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from .errors import IndexMismatchError, MissingDependency, RagError
from .types import Chunk, IndexedFile

FORMAT = 1


class VectorIndex(Protocol):
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...
    def remove(self, ids: np.ndarray) -> None: ...
    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]: ...
    def save(self, path: Path) -> None: ...
    def __len__(self) -> int: ...


def _faiss():
    try:
        import faiss
    except ImportError:
        raise MissingDependency("faiss", "faiss-cpu") from None
    return faiss


class FaissIndex:
    """Exact inner-product search; vectors are normalised, so scores are cosines."""

    def __init__(self, dim: int, index=None):
        faiss = _faiss()
        self.dim = dim
        self.index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @classmethod
    def load(cls, path: Path, dim: int) -> "FaissIndex":
        index = _faiss().read_index(str(path))
        if index.d != dim:
            raise IndexMismatchError(f"{path} holds {index.d}-dimensional vectors, expected {dim}. Re-index.")
        return cls(dim, index)

    def add(self, ids, vectors):
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype="float32"), np.asarray(ids, dtype="int64"))

    def remove(self, ids):
        if len(ids):
            self.index.remove_ids(np.asarray(ids, dtype="int64"))

    def search(self, vector, k):
        if self.index.ntotal == 0 or k <= 0:
            return []
        scores, ids = self.index.search(np.ascontiguousarray(vector, dtype="float32").reshape(1, -1),
                                        min(k, self.index.ntotal))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i != -1]

    def save(self, path: Path):
        _faiss().write_index(self.index, str(path))

    def __len__(self):
        return int(self.index.ntotal)


@dataclass
class Manifest:
    embedder: str
    dim: int
    chunk_tokens: int
    chunk_overlap: int
    format: int = FORMAT
    next_id: int = 0
    files: dict[str, dict] = field(default_factory=dict)  # source -> {sha256, chunks, added}

    def check(self, embedder: str, dim: int, chunk_tokens: int, chunk_overlap: int, where: Path):
        problems = []
        if self.format != FORMAT:
            problems.append(f"index format {self.format} (this version reads {FORMAT})")
        if (self.embedder, self.dim) != (embedder, dim):
            problems.append(f"embedder {self.embedder} ({self.dim} dims), configured {embedder} ({dim} dims)")
        if (self.chunk_tokens, self.chunk_overlap) != (chunk_tokens, chunk_overlap):
            problems.append(f"chunking {self.chunk_tokens}/{self.chunk_overlap} tokens, "
                            f"configured {chunk_tokens}/{chunk_overlap}")
        if problems:
            raise IndexMismatchError(
                f"The index at {where} was built with {'; '.join(problems)}. "
                f"Re-index into a new folder (rag --index NEW_DIR ingest ...), or delete {where} and ingest again.")


class Store:
    """Chunks, vectors and manifest of one index folder, loaded in memory."""

    def __init__(self, root: Path, manifest: Manifest, chunks: dict[int, Chunk], vectors: VectorIndex):
        self.root = root
        self.manifest = manifest
        self.chunks = chunks  # vector id -> Chunk
        self.vectors = vectors
        self._bm25 = None  # built on first lexical search, dropped on every change
        self._texts: dict[str, str] = {}  # source -> its indexed text, filled on demand, dropped on change
        self.generation: str | None = None  # the generation folder this was loaded from or saved to

    # ---------- opening ----------
    @classmethod
    def open(cls, root, embedder: str, dim: int, chunk_tokens: int, chunk_overlap: int) -> "Store":
        root = Path(root)
        check_folder(root)
        generation = current_generation(root)
        while generation is not None:
            try:
                store = cls._load(root, generation, dim)
            except FileNotFoundError:
                newer = current_generation(root)
                if newer == generation:
                    raise RagError(f"The index at {root} is damaged ({generation} is incomplete). "
                                   f"Delete {root} and ingest again.") from None
                generation = newer  # a writer switched generations while this one was read
                continue
            store.manifest.check(embedder, dim, chunk_tokens, chunk_overlap, root)
            return store
        return cls(root, Manifest(embedder, dim, chunk_tokens, chunk_overlap), {}, FaissIndex(dim))

    @classmethod
    def _load(cls, root: Path, generation: str, dim: int) -> "Store":
        gen = root / generation
        try:
            manifest = Manifest(**json.loads((gen / "manifest.json").read_text(encoding="utf-8")))
            chunks = {}
            with open(gen / "chunks.jsonl", encoding="utf-8") as fh:
                for line in fh:
                    row = json.loads(line)
                    vid = row.pop("vid")
                    chunks[vid] = Chunk(**row)
            vectors = FaissIndex.load(gen / "vectors.faiss", dim)
        except FileNotFoundError:
            raise
        except (OSError, ValueError, TypeError, KeyError, RuntimeError) as e:  # faiss raises RuntimeError
            reason = str(e).splitlines()[0][:200] if str(e) else e.__class__.__name__
            raise RagError(f"The index at {root} is damaged ({reason}). Delete {root} and ingest again.") from None
        if len(vectors) != len(chunks):
            raise RagError(f"The index at {root} is damaged ({len(chunks)} chunks but {len(vectors)} vectors). "
                           f"Delete {root} and ingest again.")
        store = cls(root, manifest, chunks, vectors)
        store.generation = generation
        return store

    def is_stale(self) -> bool:
        """True when another writer (a CLI ingest, another server) has switched the index on disk."""
        try:
            return current_generation(self.root) != self.generation
        except RagError:
            return False

    # ---------- reading ----------
    def files(self) -> list[IndexedFile]:
        return indexed_files(self.manifest.files)

    def search(self, vector, k: int) -> list[tuple[Chunk, float]]:
        return [(self.chunks[i], s) for i, s in self.dense(vector, k)]

    def dense(self, vector, k: int) -> list[tuple[int, float]]:
        return [(i, s) for i, s in self.vectors.search(vector, k) if i in self.chunks]

    def lexical(self, query: str, k: int) -> list[tuple[int, float]]:
        if self._bm25 is None:
            from .bm25 import BM25Index
            ids = sorted(self.chunks)
            self._bm25 = BM25Index(ids, [self.chunks[i].text for i in ids])
        return self._bm25.search(query, k)

    def source_text(self, source: str) -> str:
        """The indexed text of one document: its chunks in order (overlaps repeated)."""
        if source not in self._texts:
            self._texts[source] = "\n".join(c.text for c in sorted(
                (c for c in self.chunks.values() if c.source == source), key=lambda c: c.start))
        return self._texts[source]

    def vector(self, vid: int) -> np.ndarray:
        return self.vectors.index.reconstruct(int(vid))

    def chunk_list(self) -> list[Chunk]:
        return [self.chunks[i] for i in sorted(self.chunks)]

    # ---------- writing ----------
    def remove_source(self, source: str) -> int:
        ids = [vid for vid, c in self.chunks.items() if c.source == source]
        self.vectors.remove(np.array(ids, dtype="int64"))
        for vid in ids:
            del self.chunks[vid]
        self.manifest.files.pop(source, None)
        self._bm25, self._texts = None, {}
        return len(ids)

    def add_source(self, source: str, sha256: str, chunks: list[Chunk], vectors: np.ndarray, added: str,
                   title: str = ""):
        ids = np.arange(self.manifest.next_id, self.manifest.next_id + len(chunks), dtype="int64")
        self.manifest.next_id += len(chunks)
        self.vectors.add(ids, vectors)
        for vid, chunk in zip(ids.tolist(), chunks):
            self.chunks[vid] = chunk
        self.manifest.files[source] = {"sha256": sha256, "chunks": len(chunks), "added": added, "title": title}
        self._bm25, self._texts = None, {}

    def save(self) -> None:
        """Write a new generation, then point CURRENT at it; old generations are removed."""
        self.root.mkdir(parents=True, exist_ok=True)
        gen = Path(tempfile.mkdtemp(prefix=".new-", dir=self.root))
        try:
            (gen / "manifest.json").write_text(json.dumps(asdict(self.manifest), indent=1), encoding="utf-8")
            with open(gen / "chunks.jsonl", "w", encoding="utf-8") as fh:
                for vid in sorted(self.chunks):
                    fh.write(json.dumps({"vid": vid, **asdict(self.chunks[vid])}, ensure_ascii=False) + "\n")
            self.vectors.save(gen / "vectors.faiss")
            existing = sorted(p.name for p in self.root.glob("gen-*"))
            number = int(existing[-1][4:]) + 1 if existing else 1
            final = self.root / f"gen-{number:06d}"
            os.replace(gen, final)
            tmp = self.root / "CURRENT.tmp"
            tmp.write_text(final.name)
            os.replace(tmp, self.root / "CURRENT")
            self.generation = final.name
        except BaseException:
            shutil.rmtree(gen, ignore_errors=True)
            raise
        for old in self.root.glob("gen-*"):
            if old.name != final.name:
                shutil.rmtree(old, ignore_errors=True)
        for stale in self.root.glob(".new-*"):
            shutil.rmtree(stale, ignore_errors=True)


def check_folder(root: Path) -> None:
    """A clear error when the index folder cannot be one (a file, or under a file)."""
    for folder in (root, *root.parents):
        if folder.exists():
            if not folder.is_dir():
                what = "is a file" if folder == root else f"lies under {folder}, which is a file"
                raise RagError(f"The index folder {root} {what}. Choose a folder with --index DIR.")
            return


def files_on_disk(root) -> list[IndexedFile]:
    """The documents an index holds, from its manifest alone (no vectors, no model)."""
    root = Path(root)
    check_folder(root)
    generation = current_generation(root)
    if generation is None:
        return []
    try:
        files = json.loads((root / generation / "manifest.json").read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError) as e:
        raise RagError(f"The index at {root} is damaged ({e.__class__.__name__}). Delete {root} and ingest again.") from None
    return indexed_files(files)


def indexed_files(files: dict[str, dict]) -> list[IndexedFile]:
    return [IndexedFile(source=s, sha256=f["sha256"], chunks=f["chunks"], added=f["added"], title=f.get("title", ""))
            for s, f in sorted(files.items())]


def current_generation(root: Path) -> str | None:
    """The name of the live generation folder, or None for an index not written yet."""
    try:
        name = (root / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise RagError(f"Cannot read the index at {root} ({e.strerror}).") from None
    if not name.startswith("gen-") or "/" in name or "\\" in name:
        raise RagError(f"The index at {root} is damaged (CURRENT names '{name[:40]}'). "
                       f"Delete {root} and ingest again.")
    return name


class WriteLock:
    """One writer per index folder at a time, across processes: an exclusive lock on INDEX/LOCK,
    released when the holder finishes or dies. A second writer waits, and is told why."""

    def __init__(self, root: Path, notify=None):
        self.root = Path(root)
        self.notify = notify or (lambda msg: print(msg, file=sys.stderr))
        self._file = None

    def __enter__(self) -> "WriteLock":
        import fcntl
        check_folder(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._file = open(self.root / "LOCK", "a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.notify(f"Another process is writing to the index at {self.root}; waiting for it to finish...")
            fcntl.flock(self._file, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        import fcntl
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()
        self._file = None
