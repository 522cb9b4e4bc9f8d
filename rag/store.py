"""The index on disk: chunks and vectors in append-only segments, a manifest per generation,
all plain files.

    index/CURRENT                      name of the live generation, e.g. "gen-000007"
    index/gen-000007/manifest.json     format, embedder id and dim, chunking, files (sha256, date),
                                       segments (folder, chunks, deleted vector ids), the ANN index
    index/seg-000004/chunks.jsonl      one chunk per line, with its vector id
    index/seg-000004/vectors.faiss     FAISS IndexIDMap2 over inner product (normalised vectors)
    index/seg-000004/lexical/          the term frequencies of its chunks, for BM25 (rag/bm25.py)
    index/ann-000002/vectors.faiss     FAISS IVF index of the vectors below the manifest's ann.upto,
                                       once the index holds ann_threshold chunks or more

A commit writes the new chunks as one new segment, then a new generation folder whose manifest
lists the segments, then swaps CURRENT with os.replace: an interrupted write leaves the previous
generation loadable, and a change costs what changed. Removed chunks are recorded as deleted ids
of their segment; small segments, and segments mostly deleted, are merged now and then. Format 2
(the BM25 index of all chunks in the generation folder) and format 1 (one generation folder
holding chunks.jsonl and vectors.faiss, read as one segment) are read; their segments' lexical
files are built in memory when first searched, and written at the next commit."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from .bm25 import FORMAT as LEXICAL
from .config import NEW_INDEX_CHUNKING
from .errors import IndexMismatchError, MissingDependency, RagError
from .types import Chunk, IndexedFile

FORMAT = 3
READS = (1, 2, 3)
ANN_THRESHOLD = 50_000  # chunks from which dense search uses the IVF index
MERGE_SEGMENTS = 8  # more small segments than this are merged into one


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

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of everything held, in insertion order."""
        faiss = _faiss()
        n = self.index.ntotal
        ids = faiss.vector_to_array(self.index.id_map).astype("int64") if n else np.zeros(0, "int64")
        flat = faiss.downcast_index(self.index.index)
        vecs = faiss.rev_swig_ptr(flat.get_xb(), n * self.dim).reshape(n, self.dim).copy() if n else \
            np.zeros((0, self.dim), "float32")
        return ids, vecs

    def reconstruct(self, vid: int) -> np.ndarray:
        return self.index.reconstruct(int(vid))

    def save(self, path: Path):
        _faiss().write_index(self.index, str(path))

    def __len__(self):
        return int(self.index.ntotal)


class IvfIndex:
    """Approximate search for large indexes: IVF with flat lists, about sqrt(n) lists, of which
    nprobe are scanned (recall@10 against exact search is measured by `rag bench`)."""

    NPROBE = 96  # of about 316 lists at 100k chunks: recall@10 0.981 on rag bench's clustered vectors (16: 0.897)

    def __init__(self, index):
        self.index = index
        self.index.nprobe = self.NPROBE

    @classmethod
    def build(cls, dim: int, ids: np.ndarray, vectors: np.ndarray) -> "IvfIndex":
        faiss = _faiss()
        lists = max(16, int(len(ids) ** 0.5))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, lists, faiss.METRIC_INNER_PRODUCT)
        sample = vectors[np.random.default_rng(0).permutation(len(vectors))[:lists * 40]]
        index.train(np.ascontiguousarray(sample, dtype="float32"))
        index.add_with_ids(np.ascontiguousarray(vectors, dtype="float32"), ids.astype("int64"))
        return cls(index)

    @classmethod
    def load(cls, path: Path) -> "IvfIndex":
        return cls(_faiss().read_index(str(path)))

    def search(self, vector, k):
        scores, ids = self.index.search(np.ascontiguousarray(vector, dtype="float32").reshape(1, -1), k)
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
    segments: list[dict] = field(default_factory=list)  # {"dir", "chunks", "deleted": [vector ids], "lexical"}
    ann: dict | None = None  # {"dir", "upto": vector ids below it are in the IVF index}

    def check(self, embedder: str, dim: int, chunking: tuple[int, int] | None, where,
              remedy: str | None = None):
        """Raise IndexMismatchError when vectors of `embedder` and chunks of `chunking` (None: any)
        cannot join this index."""
        problems = []
        if self.format not in READS:
            problems.append(f"index format {self.format} (this version reads {READS[0]} to {READS[-1]})")
        if (self.embedder, self.dim) != (embedder, dim):
            problems.append(f"embedder {self.embedder} ({self.dim} dims), configured {embedder} ({dim} dims)")
        if chunking is not None and (self.chunk_tokens, self.chunk_overlap) != tuple(chunking):
            problems.append(f"chunking {self.chunk_tokens}/{self.chunk_overlap} tokens, "
                            f"configured {chunking[0]}/{chunking[1]}")
        if problems:
            hint = ""
            base, _, backend = self.embedder.partition("+")
            if base == embedder.partition("+")[0] and self.embedder != embedder:
                hint = (f" Its vectors came from another backend of the same model: set embedder_backend = "
                        f"\"{backend or 'torch'}\" to keep using it, or re-index to use the configured one.")
            remedy = remedy or (f"Re-index into a new folder (rag --index NEW_DIR ingest ...), or delete {where} "
                                f"and ingest again.")
            raise IndexMismatchError(
                f"The index at {where} was built with {'; '.join(problems)}; its vectors cannot be mixed with "
                f"new ones.{hint} {remedy}")


class Store:
    """Chunks, vectors and manifest of one index folder, loaded in memory; changes are kept in
    memory until commit() (a batch) or save() (the end of a change: merges and ANN)."""

    def __init__(self, root: Path, manifest: Manifest, chunks: dict[int, Chunk], vectors: FaissIndex,
                 ann_threshold: int = ANN_THRESHOLD):
        self.root = root
        self.manifest = manifest
        self.chunks = chunks  # vector id -> Chunk
        self.vectors = vectors  # every live vector, exact search
        self.ann_threshold = ann_threshold
        self._ann: IvfIndex | None = None
        self._recent: FaissIndex | None = None  # vectors at or above ann.upto, searched exactly
        self._bm25 = None  # BM25 over the segments' postings, made at the first lexical search after a change
        self._postings: dict = {}  # segment folder -> its bm25.Postings, once read or built
        self._texts: dict[str, str] = {}  # source -> its indexed text, filled on demand, dropped on change
        self._segment_of: dict[int, str] = {}  # vector id -> the folder of its segment, once committed
        self._placed: dict[int, str] = {}  # the same for the write under way
        self._removed_from_ann = 0
        self._by_source: dict[str, list[int]] = {}
        for vid, chunk in chunks.items():
            self._by_source.setdefault(chunk.source, []).append(vid)
        self._new: list[int] = []  # vector ids added since the last commit
        self._deleted: set[int] = set()  # vector ids of committed segments removed since the last commit
        self.generation: str | None = None  # the generation folder this was loaded from or saved to
        self.unsaved = False  # batches committed since the last save()

    # ---------- opening ----------
    @classmethod
    def open(cls, root, embedder: str, dim: int, chunking: tuple[int, int] | None,
             ann_threshold: int = ANN_THRESHOLD) -> "Store":
        """The index at `root`, checked against the embedder and chunking (None: the index's own),
        or an empty one (chunked by `chunking` or NEW_INDEX_CHUNKING) when there is none yet."""
        root = Path(root)
        check_folder(root)
        generation = current_generation(root)
        while generation is not None:
            try:
                store = cls._load(root, generation, dim, ann_threshold)
            except FileNotFoundError:
                newer = current_generation(root)
                if newer == generation:
                    raise RagError(f"The index at {root} is damaged ({generation} is incomplete). "
                                   f"Delete {root} and ingest again.") from None
                generation = newer  # a writer switched generations while this one was read
                continue
            store.manifest.check(embedder, dim, chunking, root)
            return store
        return cls(root, Manifest(embedder, dim, *(chunking or NEW_INDEX_CHUNKING)), {}, FaissIndex(dim),
                   ann_threshold)

    @classmethod
    def _load(cls, root: Path, generation: str, dim: int, ann_threshold: int) -> "Store":
        gen = root / generation
        try:
            saved = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
            saved.pop("bm25", None)  # format 2: the generation folder held a BM25 index of all chunks
            manifest = Manifest(**saved)
            if manifest.format == 1:
                manifest.segments = [{"dir": generation, "chunks": manifest.next_id, "deleted": []}]
            if manifest.format not in READS or manifest.dim != dim:
                return cls(root, manifest, {}, FaissIndex(dim), ann_threshold)  # check() says why
            chunks, vectors, segment_of = {}, FaissIndex(dim), {}
            for segment in manifest.segments:
                deleted = set(segment["deleted"])
                rows = 0
                with open(root / segment["dir"] / "chunks.jsonl", encoding="utf-8") as fh:
                    for line in fh:
                        row = json.loads(line)
                        vid = row.pop("vid")
                        rows += 1
                        if vid not in deleted:
                            chunks[vid] = Chunk(**row)
                            segment_of[vid] = segment["dir"]
                segment["chunks"] = rows
                ids, vecs = FaissIndex.load(root / segment["dir"] / "vectors.faiss", dim).arrays()
                live = ~np.isin(ids, np.fromiter(deleted, "int64", len(deleted)))
                vectors.add(ids[live], vecs[live])
            store = cls(root, manifest, chunks, vectors, ann_threshold)
            store._segment_of = segment_of
            if manifest.ann:
                store._ann = IvfIndex.load(root / manifest.ann["dir"] / "vectors.faiss")
        except FileNotFoundError:
            raise
        except (OSError, ValueError, TypeError, KeyError, RuntimeError) as e:  # faiss raises RuntimeError
            reason = str(e).splitlines()[0][:200] if str(e) else e.__class__.__name__
            raise RagError(f"The index at {root} is damaged ({reason}). Delete {root} and ingest again.") from None
        if len(vectors) != len(chunks):
            raise RagError(f"The index at {root} is damaged ({len(chunks)} chunks but {len(vectors)} vectors). "
                           f"Delete {root} and ingest again.")
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

    def search_kind(self) -> str:
        return "ivf" if self._ann is not None else "exact"

    def dense(self, vector, k: int) -> list[tuple[int, float]]:
        if self._ann is None:
            return [(i, s) for i, s in self.vectors.search(vector, k) if i in self.chunks]
        if self._recent is None:
            upto = self.manifest.ann["upto"]
            ids = np.array([i for i in self.chunks if i >= upto], dtype="int64")
            recent = FaissIndex(self.manifest.dim)
            if len(ids):
                recent.add(ids, np.stack([self.vectors.reconstruct(i) for i in ids]))
            # vectors deleted since the IVF index was built are found there, then dropped
            self._removed_from_ann = len(self._ann) - (len(self.chunks) - len(ids))
            self._recent = recent
        found = self._ann.search(vector, k + max(0, self._removed_from_ann)) + self._recent.search(vector, k)
        found = [(i, s) for i, s in found if i in self.chunks]
        return sorted(found, key=lambda x: -x[1])[:k]

    def lexical(self, query: str, k: int) -> list[tuple[int, float]]:
        if self._bm25 is None:
            from .bm25 import BM25, Postings
            parts = [(self._segment_postings(s), set(s["deleted"]) | self._in_segment(s))
                     for s in self.manifest.segments]
            if self._new:
                parts.append((Postings.build(self._new, [self.chunks[i].text for i in self._new]), ()))
            self._bm25 = BM25(parts)
        return self._bm25.search(query, k)

    def _segment_postings(self, segment: dict):
        """A committed segment's postings: its lexical files, or built from its chunks when it has none."""
        from .bm25 import Postings
        name = segment["dir"]
        if name not in self._postings:
            if segment.get("lexical"):
                try:
                    self._postings[name] = Postings.load(self.root / name / "lexical")
                except (OSError, ValueError, KeyError):
                    pass  # damaged or of another version: built from the chunks below
            if name not in self._postings:
                ids = [v for v, d in self._segment_of.items() if d == name and v in self.chunks]
                self._postings[name] = Postings.build(ids, [self.chunks[v].text for v in ids])
        return self._postings[name]

    def source_text(self, source: str) -> str:
        """The indexed text of one document: its chunks in order (overlaps repeated)."""
        if source not in self._texts:
            self._texts[source] = "\n".join(c.text for c in sorted(
                (self.chunks[i] for i in self._by_source.get(source, ())), key=lambda c: c.start))
        return self._texts[source]

    def vector(self, vid: int) -> np.ndarray:
        return self.vectors.reconstruct(vid)

    def chunk_list(self) -> list[Chunk]:
        return [self.chunks[i] for i in sorted(self.chunks)]

    # ---------- writing ----------
    def remove_source(self, source: str) -> int:
        ids = self._by_source.pop(source, [])
        self.vectors.remove(np.array(ids, dtype="int64"))
        new = set(self._new)
        for vid in ids:
            del self.chunks[vid]
            if vid not in new:
                self._deleted.add(vid)
        if new & set(ids):
            self._new = [v for v in self._new if v in self.chunks]
        self.manifest.files.pop(source, None)
        self._changed()
        return len(ids)

    def add_source(self, source: str, sha256: str, chunks: list[Chunk], vectors: np.ndarray, added: str,
                   title: str = "", reader: int = 1):
        if source in self._by_source:
            self.remove_source(source)
        ids = np.arange(self.manifest.next_id, self.manifest.next_id + len(chunks), dtype="int64")
        self.manifest.next_id += len(chunks)
        self.vectors.add(ids, vectors)
        for vid, chunk in zip(ids.tolist(), chunks):
            self.chunks[vid] = chunk
        self._by_source[source] = ids.tolist()
        self._new.extend(ids.tolist())
        self.manifest.files[source] = {"sha256": sha256, "chunks": len(chunks), "added": added, "title": title,
                                       "reader": reader}
        self._changed()

    def _changed(self):
        self._bm25, self._texts, self._recent = None, {}, None

    def commit(self) -> None:
        """Write what changed since the last commit: one new segment and a new generation."""
        self._write(final=False)

    def save(self) -> None:
        """Commit, merging small or mostly deleted segments and bringing the IVF index up to date."""
        self._write(final=True)

    def _write(self, final: bool) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        manifest = replace(self.manifest, files=dict(self.manifest.files),
                           segments=[dict(s) for s in self.manifest.segments])
        made: list[Path] = []
        self._placed: dict[int, str] = {}
        self._placed_postings: dict = {}
        try:
            if self._new:
                manifest.segments.append({"dir": self._write_segment(self._new, made), "chunks": len(self._new),
                                          "deleted": [], "lexical": LEXICAL})
            for segment in manifest.segments:  # the ids removed since the last commit, by segment
                if self._deleted:
                    segment["deleted"] = sorted(set(segment["deleted"]) | self._in_segment(segment))
            manifest.segments = [s for s in manifest.segments if len(s["deleted"]) < s["chunks"]]
            if final:
                manifest.segments = self._merged(manifest.segments, made)
                manifest.ann = self._ann_for(manifest, made)
            for segment in manifest.segments:
                if not segment.get("lexical"):
                    self._write_lexical(segment)
            manifest.format = FORMAT
            gen = Path(tempfile.mkdtemp(prefix=".new-", dir=self.root))
            made.append(gen)
            (gen / "manifest.json").write_text(json.dumps(vars(manifest)), encoding="utf-8")
            final_dir = self.root / f"gen-{_next_number(self.root, 'gen-'):06d}"
            os.replace(gen, final_dir)
            made[-1] = final_dir
            tmp = self.root / "CURRENT.tmp"
            tmp.write_text(final_dir.name)
            os.replace(tmp, self.root / "CURRENT")
        except BaseException:
            for folder in made:
                shutil.rmtree(folder, ignore_errors=True)
            raise
        self.manifest = manifest
        self.generation = final_dir.name
        for vid in self._deleted:
            self._segment_of.pop(vid, None)
        self._segment_of.update(self._placed)
        listed = {s["dir"] for s in manifest.segments}
        self._postings = {d: p for d, p in {**self._postings, **self._placed_postings}.items() if d in listed}
        self._new, self._deleted = [], set()
        self.unsaved = not final
        self._bm25 = None
        self._cleanup()

    def _in_segment(self, segment: dict) -> set[int]:
        return {v for v in self._deleted if self._segment_of.get(v) == segment["dir"]}

    def _write_segment(self, ids: list[int], made: list[Path]) -> str:
        from .bm25 import Postings
        folder = Path(tempfile.mkdtemp(prefix=".new-", dir=self.root))
        made.append(folder)
        postings = Postings.build(ids, [self.chunks[i].text for i in ids])
        postings.save(folder / "lexical")
        with open(folder / "chunks.jsonl", "w", encoding="utf-8") as fh:
            for vid in ids:
                fh.write(json.dumps({"vid": vid, **vars(self.chunks[vid])}, ensure_ascii=False) + "\n")
        part = FaissIndex(self.manifest.dim)
        part.add(np.array(ids, dtype="int64"), np.stack([self.vectors.reconstruct(i) for i in ids]))
        part.save(folder / "vectors.faiss")
        name = f"seg-{_next_number(self.root, 'seg-'):06d}"
        os.replace(folder, self.root / name)
        made[-1] = self.root / name
        self._placed.update(dict.fromkeys(ids, name))
        self._placed_postings[name] = postings
        return name

    def _write_lexical(self, segment: dict) -> None:
        """Lexical files for a segment written before they were kept per segment (formats 1 and 2);
        readers of the manifests that list it without "lexical" never look for them."""
        target = self.root / segment["dir"] / "lexical"
        folder = Path(tempfile.mkdtemp(prefix=".new-", dir=self.root))
        try:
            self._segment_postings(segment).save(folder)
            shutil.rmtree(target, ignore_errors=True)  # left by a write that did not finish
            os.replace(folder, target)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        segment["lexical"] = LEXICAL

    def _merged(self, segments: list[dict], made: list[Path]) -> list[dict]:
        """Segments small next to the index, or mostly deleted, rewritten as one."""
        total = sum(s["chunks"] - len(s["deleted"]) for s in segments)
        small = [s for s in segments if s["chunks"] < max(4096, total // 8) or len(s["deleted"]) > s["chunks"] // 3]
        if len(small) <= MERGE_SEGMENTS and not any(len(s["deleted"]) > s["chunks"] // 3 for s in small):
            return segments
        dirs = {s["dir"] for s in small}
        ids = sorted(v for v, d in {**self._segment_of, **self._placed}.items() if d in dirs and v in self.chunks)
        keep = [s for s in segments if s not in small]
        if ids:
            keep.append({"dir": self._write_segment(ids, made), "chunks": len(ids), "deleted": [], "lexical": LEXICAL})
        return keep

    def _ann_for(self, manifest: Manifest, made: list[Path]) -> dict | None:
        """The IVF index, rebuilt when a fifth of the vectors are newer than it or deleted from it."""
        live = len(self.chunks)
        if live < self.ann_threshold:
            self._ann = None
            return None
        ann = manifest.ann
        if ann and self._ann is not None:
            below = int((np.fromiter(self.chunks, "int64", live) < ann["upto"]).sum())
            if live - below <= live // 5 and len(self._ann) - below <= len(self._ann) // 5:
                return ann
        ids = np.array(sorted(self.chunks), dtype="int64")
        vectors = np.stack([self.vectors.reconstruct(i) for i in ids])
        index = IvfIndex.build(self.manifest.dim, ids, vectors)
        folder = Path(tempfile.mkdtemp(prefix=".new-", dir=self.root))
        made.append(folder)
        index.save(folder / "vectors.faiss")
        name = f"ann-{_next_number(self.root, 'ann-'):06d}"
        os.replace(folder, self.root / name)
        made[-1] = self.root / name
        self._ann = index
        return {"dir": name, "upto": int(self.manifest.next_id)}

    def _cleanup(self) -> None:
        """Old generations, and segments no generation of ours lists, go; so do leftovers of
        interrupted writes."""
        used = {self.generation, *(s["dir"] for s in self.manifest.segments)}
        if self.manifest.ann:
            used.add(self.manifest.ann["dir"])
        for folder in self.root.iterdir():
            if folder.name.startswith(("gen-", "seg-", "ann-", ".new-")) and folder.name not in used:
                shutil.rmtree(folder, ignore_errors=True)


def _next_number(root: Path, prefix: str) -> int:
    numbers = [int(p.name[len(prefix):]) for p in root.glob(f"{prefix}*") if p.name[len(prefix):].isdigit()]
    return max(numbers, default=0) + 1


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
    check_folder(Path(root))
    files = _from_manifest(root, "files")
    return indexed_files(files) if files is not None else []


def embedder_on_disk(root) -> str | None:
    """The embedder id an index was built with, from its manifest alone; None for no index."""
    return _from_manifest(root, "embedder") if Path(root).is_dir() else None


def chunking_on_disk(root) -> tuple[int, int] | None:
    """(chunk tokens, overlap) of an index, from its manifest alone; None for no index."""
    fields = _from_manifest(root, "chunk_tokens", "chunk_overlap") if Path(root).is_dir() else None
    return tuple(fields) if fields is not None else None


def _from_manifest(root, *keys: str):
    """Fields of the live generation's manifest (one key: its value; several: a list), read once;
    None for an index not written yet."""
    root = Path(root)
    generation = current_generation(root)
    if generation is None:
        return None
    try:
        manifest = json.loads((root / generation / "manifest.json").read_text(encoding="utf-8"))
        return manifest[keys[0]] if len(keys) == 1 else [manifest[k] for k in keys]
    except (OSError, ValueError, KeyError) as e:
        raise RagError(f"The index at {root} is damaged ({e.__class__.__name__}). Delete {root} and ingest again.") from None


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
