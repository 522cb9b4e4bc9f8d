"""The index in Qdrant (vector_store = "qdrant"): the documents, manifest and retrieval of the file
index (rag/store.py), held by a Qdrant server or cluster (qdrant_url), or by qdrant-client's
embedded local mode in INDEX/qdrant (then one process at a time opens it).

    collection NAME          one point per chunk: id = its vector id; vectors "dense" (the embedder's,
                             normalised: dot product = cosine) and "bm25" (sparse, Modifier.IDF);
                             payload: the chunk's fields and its vid
    collection NAME-files    one point per indexed file (source, sha256, chunks, added, title, first:
                             its chunks are the ids first .. first + chunks - 1), and the state point:
                             format, embedder, dim, chunking, BM25's avgdl, next_id, generation and the
                             ids of replaced versions still to delete

NAME is the setting qdrant_collection, or "rag-" and the index folder's name ("rag-index" for
index/). Dense and lexical search both run in Qdrant; the core fuses them as it does for FAISS.

BM25 inside Qdrant: a chunk's sparse vector holds, per word (rag/bm25.py's words, hashed to 32
bits with crc32), Lucene's term weight tf / (tf + k1 (1 - b + b dl / avgdl)), and Qdrant's IDF
modifier multiplies it by ln(1 + (N - df + 0.5) / (df + 0.5)) over the collection: the scores of
bm25s's Lucene variant (rag/bm25.py), with avgdl fixed by the first commit (the mean length of its
chunks) instead of following the collection.

A commit writes the new chunks, then in one request the file entries and the state (the switch),
then deletes the chunks of replaced and removed versions. A point counts only while its file's
entry covers its id, so readers see the last switch they read, never half a commit; the next
commit deletes what an interrupted one left behind."""

from __future__ import annotations

import atexit
import functools
import re
import uuid
import zlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np

from .bm25 import B, K1, terms
from .config import NEW_INDEX_CHUNKING
from .errors import IndexMismatchError, MissingDependency, RagError
from .store import Manifest, check_folder, indexed_files
from .types import Chunk, IndexedFile

FORMAT = 1
STATE = str(uuid.uuid5(uuid.NAMESPACE_URL, "rag:index-state"))
UPSERT = 256  # points per request
CACHE = 100_000  # chunks kept in memory, from search results
CHUNK_FIELDS = tuple(f.name for f in fields(Chunk))
_clients: dict[str, object] = {}  # one client per server or folder and process (local mode locks its folder)


def _models():
    try:
        from qdrant_client import models
    except ImportError:
        raise MissingDependency("qdrant_client", "rag[qdrant]") from None
    return models


def collection_name(settings) -> str:
    if settings.qdrant_collection:
        return settings.qdrant_collection
    folder = Path(settings.index_dir).resolve().name or "index"
    return "rag-" + (re.sub(r"[^A-Za-z0-9_-]+", "_", folder).strip("_")[:80] or "index")


def local_folder(settings) -> Path:
    return Path(settings.index_dir) / "qdrant"


def describe(settings) -> str:
    name = collection_name(settings)
    if settings.qdrant_url:
        return f"{settings.qdrant_url} (Qdrant collection {name})"
    return f"{settings.index_dir} (Qdrant collection {name}, embedded)"


def connect(settings):
    """The process's client for the configured server, or for the embedded store in the index folder."""
    _models()
    from qdrant_client import QdrantClient
    if not _clients:
        atexit.register(close_all)
    if settings.qdrant_url:
        key = "url:" + settings.qdrant_url
        if key not in _clients:
            _clients[key] = QdrantClient(url=settings.qdrant_url, api_key=settings.qdrant_api_key or None,
                                         timeout=30, check_compatibility=False)
        return _clients[key]
    folder = local_folder(settings).resolve()
    key = "path:" + str(folder)
    if key not in _clients:
        check_folder(folder)
        folder.mkdir(parents=True, exist_ok=True)
        try:
            _clients[key] = QdrantClient(path=str(folder))
        except RuntimeError as e:
            if "already accessed" not in str(e):
                raise
            raise RagError(f"The embedded Qdrant store {folder} is open in another process (it allows one at a "
                           f"time). To share an index between processes, run a Qdrant server and set "
                           f"qdrant_url.") from None
    return _clients[key]


def close_all() -> None:
    """Close the process's clients (the embedded store releases its folder)."""
    while _clients:
        _clients.popitem()[1].close()


def _guarded(method):
    """Errors of the Qdrant server (down, refusing, unexpected answers) as messages."""
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        from qdrant_client.http.exceptions import ApiException
        try:
            return method(self, *args, **kwargs)
        except ApiException as e:
            raise server_error(self.where, e) from None
    return call


def server_error(where: str, e: Exception) -> RagError:
    source = getattr(e, "source", None) or e
    reason = str(source).splitlines()[0][:200] if str(source) else source.__class__.__name__
    return RagError(f"Qdrant at {where} failed: {reason}. Check that the server is running and reachable "
                    f"(qdrant_url), and its API key (RAG_QDRANT_API_KEY).")


def listed_files(settings) -> list[IndexedFile]:
    """The documents an index holds, from its file entries alone (no vectors, no model)."""
    if not settings.qdrant_url and not local_folder(settings).exists():
        return []
    return indexed_files(_read_explained(connect(settings), settings)[1])


def indexed_embedder(settings) -> str | None:
    """The embedder id an index was built with, from its committed state; None for no index."""
    state = _committed_state(settings)
    return state["embedder"] if state else None


def indexed_chunking(settings) -> tuple[int, int] | None:
    """(chunk tokens, overlap) of an index, from its committed state; None for no index."""
    state = _committed_state(settings)
    return (state["chunk_tokens"], state["chunk_overlap"]) if state else None


def _committed_state(settings) -> dict | None:
    """The index's committed state, without creating an embedded index where there is none."""
    if not settings.qdrant_url and not local_folder(settings).exists():
        return None
    return _read_explained(connect(settings), settings)[0]


def _read_explained(client, settings) -> tuple[dict | None, dict[str, dict]]:
    """_read, with a server's error told in plain words."""
    try:
        return _read(client, collection_name(settings))
    except Exception as e:
        from qdrant_client.http.exceptions import ApiException
        if isinstance(e, ApiException):
            raise server_error(describe(settings), e) from None
        raise


def _read(client, name: str) -> tuple[dict | None, dict[str, dict]]:
    """The committed state and file entries of an index; (None, {}) for one never written."""
    files_name = f"{name}-files"
    if not client.collection_exists(files_name):
        return None, {}
    state, files, offset = None, {}, None
    while True:
        points, offset = client.scroll(files_name, limit=1000, offset=offset, with_payload=True, with_vectors=False)
        for p in points:
            if str(p.id) == STATE:
                state = dict(p.payload)
            elif not p.payload.get("removed"):
                files[p.payload["source"]] = {k: p.payload[k] for k in ("sha256", "chunks", "added", "title", "first")} \
                    | {"reader": p.payload.get("reader", 1)}
        if offset is None:
            break
    return state, files


def _file_id(source: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "rag:file:" + source))


def sparse_weights(words: list[str], avgdl: float) -> tuple[list[int], list[float]]:
    """The BM25 term weights of one chunk, without the IDF (which Qdrant applies)."""
    counts = Counter(zlib.crc32(w.encode("utf-8")) for w in words)
    norm = K1 * (1 - B + B * len(words) / avgdl)
    return list(counts), [tf / (tf + norm) for tf in counts.values()]


class QdrantStore:
    """One index in Qdrant, with the interface of rag.store.Store. Changes are kept in memory
    until commit() (save() is the same: Qdrant merges and indexes by itself)."""

    def __init__(self, client, settings, manifest: Manifest, state: dict | None):
        self.client = client
        self.name = collection_name(settings)
        self.files_name = f"{self.name}-files"
        self.root = Path(settings.index_dir)
        self.where = describe(settings)
        self.remote = bool(settings.qdrant_url)
        self.manifest = manifest
        self.chunks = Chunks(self)
        self.unsaved = False
        self._state = state  # as committed; None before the first commit
        self._committed = {s: dict(f) for s, f in manifest.files.items()}
        self._pending: dict[str, tuple[list[int], list[Chunk], np.ndarray]] = {}  # source -> new version
        self._dropped: dict[str, list[int]] = {}  # source -> [first, count] of its committed version
        self._cache: dict[int, Chunk] = {}
        self._texts: dict[str, str] = {}

    @property
    def generation(self) -> int | None:
        return self._state["generation"] if self._state else None

    # ---------- opening ----------
    @classmethod
    def open(cls, settings, embedder: str, dim: int) -> "QdrantStore":
        client, where = connect(settings), describe(settings)
        state, files = _read_explained(client, settings)
        manifest = Manifest(embedder, dim, *(settings.chunking or NEW_INDEX_CHUNKING))
        if state is not None:
            remedy = cls._remedy(settings)
            if state.get("format") != FORMAT:
                raise IndexMismatchError(f"The index at {where} has format {state.get('format')} (this version "
                                         f"reads {FORMAT}). {remedy}")
            manifest = Manifest(state["embedder"], state["dim"], state["chunk_tokens"], state["chunk_overlap"],
                                next_id=state["next_id"], files=files)
            manifest.check(embedder, dim, settings.chunking, where, remedy)
        return cls(client, settings, manifest, state)

    @staticmethod
    def _remedy(settings) -> str:
        name = collection_name(settings)
        if settings.qdrant_url:
            return (f"Re-index into another collection (set qdrant_collection, or rag --index NEW_DIR ingest ...), "
                    f"or delete the collections {name} and {name}-files on the server and ingest again.")
        return (f"Re-index into a new folder (rag --index NEW_DIR ingest ...), or delete "
                f"{local_folder(settings)} and ingest again.")

    @_guarded
    def is_stale(self) -> bool:
        """True when another process has committed a change since this one read the index."""
        try:
            points = self.client.retrieve(self.files_name, [STATE], with_payload=["generation"])
        except ValueError:  # local mode: the collection does not exist yet
            return False
        except Exception as e:
            from qdrant_client.http.exceptions import UnexpectedResponse
            if isinstance(e, UnexpectedResponse) and e.status_code == 404:
                return False
            raise
        return (points[0].payload["generation"] if points else None) != self.generation

    # ---------- reading ----------
    def files(self) -> list[IndexedFile]:
        return indexed_files(self.manifest.files)

    def search_kind(self) -> str:
        return "qdrant"

    def _live(self, vid: int, source: str) -> bool:
        entry = self.manifest.files.get(source)
        return entry is not None and entry["first"] <= vid < entry["first"] + entry["chunks"]

    def _scored(self, points) -> list[tuple[int, float]]:
        out = []
        for p in points:
            vid, chunk = int(p.id), _chunk(p.payload)
            if self._live(vid, chunk.source):
                self._remember(vid, chunk)
                out.append((vid, float(p.score)))
        return out

    def _remember(self, vid: int, chunk: Chunk) -> None:
        if len(self._cache) >= CACHE:
            self._cache.clear()
        self._cache[vid] = chunk

    @_guarded
    def dense(self, vector, k: int) -> list[tuple[int, float]]:
        if self._state is None or k <= 0:
            return []
        query = np.asarray(vector, dtype="float32").reshape(-1).tolist()
        return self._scored(self.client.query_points(self.name, query=query, using="dense", limit=k,
                                                     with_payload=True).points)

    @_guarded
    def lexical(self, query: str, k: int) -> list[tuple[int, float]]:
        counts = Counter(zlib.crc32(w.encode("utf-8")) for w in terms([query])[0])
        if self._state is None or k <= 0 or not counts:
            return []
        sparse = _models().SparseVector(indices=list(counts), values=[float(c) for c in counts.values()])
        found = self.client.query_points(self.name, query=sparse, using="bm25", limit=k, with_payload=True).points
        return [(i, s) for i, s in self._scored(found) if s > 0]

    @_guarded
    def chunk(self, vid: int) -> Chunk | None:
        if vid in self._cache:
            return self._cache[vid]
        for ids, chunks, _ in self._pending.values():
            if ids and ids[0] <= vid <= ids[-1]:
                return chunks[vid - ids[0]]
        if self._state is None:
            return None
        points = self.client.retrieve(self.name, [int(vid)], with_payload=True)
        if not points or not self._live(vid, points[0].payload["source"]):
            return None
        self._remember(vid, _chunk(points[0].payload))
        return self._cache[vid]

    @_guarded
    def source_chunks(self, source: str) -> list[tuple[int, Chunk]]:
        """(vector id, chunk) of one document, in the order of its ids."""
        if source in self._pending:
            ids, chunks, _ = self._pending[source]
            return list(zip(ids, chunks))
        entry = self.manifest.files.get(source)
        if entry is None or self._state is None:
            return []
        ids = list(range(entry["first"], entry["first"] + entry["chunks"]))
        found = []
        for start in range(0, len(ids), 1000):
            found += [(int(p.id), _chunk(p.payload))
                      for p in self.client.retrieve(self.name, ids[start:start + 1000], with_payload=True)]
        return sorted(found, key=lambda x: x[0])

    def source_text(self, source: str) -> str:
        """The indexed text of one document: its chunks in order (overlaps repeated)."""
        if source not in self._texts:
            chunks = sorted((c for _, c in self.source_chunks(source)), key=lambda c: c.start)
            self._texts[source] = "\n".join(c.text for c in chunks)
        return self._texts[source]

    @_guarded
    def vector(self, vid: int) -> np.ndarray:
        for ids, _, vectors in self._pending.values():
            if ids and ids[0] <= vid <= ids[-1]:
                return vectors[vid - ids[0]]
        points = self.client.retrieve(self.name, [int(vid)], with_vectors=["dense"])
        if not points:
            raise KeyError(vid)
        return np.asarray(points[0].vector["dense"], dtype="float32")

    def chunk_list(self) -> list[Chunk]:
        return [c for _, c in sorted(self.chunks.items(), key=lambda x: x[0])]

    # ---------- writing ----------
    def remove_source(self, source: str) -> int:
        removed = 0
        if source in self._pending:
            removed = len(self._pending.pop(source)[0])
        elif source in self.manifest.files:
            removed = self.manifest.files[source]["chunks"]
        self.manifest.files.pop(source, None)
        if source in self._committed and source not in self._dropped:
            entry = self._committed[source]
            self._dropped[source] = [entry["first"], entry["chunks"]]
        self._cache = {v: c for v, c in self._cache.items() if c.source != source}
        self._texts.pop(source, None)
        return removed

    def add_source(self, source: str, sha256: str, chunks: list[Chunk], vectors: np.ndarray, added: str,
                   title: str = "", reader: int = 1):
        if source in self._pending or source in self.manifest.files:
            self.remove_source(source)
        first = self.manifest.next_id
        ids = list(range(first, first + len(chunks)))
        self.manifest.next_id += len(chunks)
        self._pending[source] = (ids, list(chunks), np.asarray(vectors, dtype="float32"))
        self.manifest.files[source] = {"sha256": sha256, "chunks": len(chunks), "added": added, "title": title,
                                       "first": first, "reader": reader}
        self._texts.pop(source, None)

    def commit(self) -> None:
        """Write what changed since the last commit (see the module's docstring for the order)."""
        self._write()

    def save(self) -> None:
        self._write()

    @_guarded
    def _write(self) -> None:
        models = _models()
        self._create()
        state = self._state or {}
        self._delete_leftovers(state.get("next_id", 0), state.get("dropping", []))
        avgdl = state.get("avgdl")
        if avgdl is None:
            lengths = [len(w) for _, chunks, _ in self._pending.values() for w in terms([c.text for c in chunks])]
            avgdl = max(1.0, sum(lengths) / len(lengths)) if lengths else None
        points = []
        for ids, chunks, vectors in self._pending.values():
            for vid, chunk, words, vec in zip(ids, chunks, terms([c.text for c in chunks]), vectors):
                vector = {"dense": vec.tolist()}
                if words:
                    indices, values = sparse_weights(words, avgdl)
                    vector["bm25"] = models.SparseVector(indices=indices, values=values)
                points.append(models.PointStruct(id=vid, vector=vector, payload={"vid": vid, **asdict(chunk)}))
        for start in range(0, len(points), UPSERT):
            self.client.upsert(self.name, points[start:start + UPSERT])
        m = self.manifest
        new_state = {"format": FORMAT, "embedder": m.embedder, "dim": m.dim, "chunk_tokens": m.chunk_tokens,
                     "chunk_overlap": m.chunk_overlap, "avgdl": avgdl, "next_id": m.next_id,
                     "generation": state.get("generation", 0) + 1, "dropping": list(self._dropped.values())}
        gone = [s for s in self._dropped if s not in m.files]
        entries = ([models.PointStruct(id=_file_id(s), vector={}, payload={"source": s, **m.files[s]})
                    for s in self._pending]
                   + [models.PointStruct(id=_file_id(s), vector={}, payload={"source": s, "removed": True})
                      for s in gone]
                   + [models.PointStruct(id=STATE, vector={}, payload=new_state)])
        self.client.upsert(self.files_name, entries)
        self._state = new_state
        self._committed = {s: dict(f) for s, f in m.files.items()}
        self._pending, self._dropped = {}, {}
        self._delete_ranges(new_state["dropping"])
        if gone:
            self.client.delete(self.files_name, models.PointIdsList(points=[_file_id(s) for s in gone]))

    def _create(self) -> None:
        """The two collections, when this index has none yet."""
        if self._state is not None:
            return
        models = _models()
        if self.client.collection_exists(self.name):
            config = self.client.get_collection(self.name).config.params
            dense = (config.vectors or {}).get("dense") if isinstance(config.vectors, dict) else None
            if dense is None or dense.size != self.manifest.dim or "bm25" not in (config.sparse_vectors or {}):
                raise RagError(f"The Qdrant collection {self.name} at {self.where} exists but is not an index of "
                               f"this chatbot with {self.manifest.dim}-dimensional vectors. Choose another "
                               f"collection (qdrant_collection) or delete it.")
        else:
            self.client.create_collection(
                self.name, vectors_config={"dense": models.VectorParams(size=self.manifest.dim,
                                                                        distance=models.Distance.DOT)},
                sparse_vectors_config={"bm25": models.SparseVectorParams(modifier=models.Modifier.IDF)})
            if self.remote:  # local mode has no payload indexes
                self.client.create_payload_index(self.name, "vid", models.PayloadSchemaType.INTEGER)
        if not self.client.collection_exists(self.files_name):
            self.client.create_collection(self.files_name, vectors_config={})

    def _delete_leftovers(self, next_id: int, dropping: list[list[int]]) -> None:
        """What an interrupted commit left: chunks at or above the committed next_id, and the
        replaced versions the last commit was deleting."""
        models = _models()
        self.client.delete(self.name, models.FilterSelector(filter=models.Filter(must=[
            models.FieldCondition(key="vid", range=models.Range(gte=next_id))])))
        self._delete_ranges(dropping)

    def _delete_ranges(self, ranges: list[list[int]]) -> None:
        ids = [v for first, count in ranges for v in range(first, first + count)]
        for start in range(0, len(ids), 10_000):
            self.client.delete(self.name, _models().PointIdsList(points=ids[start:start + 10_000]))


class Chunks(Mapping):
    """vector id -> Chunk of the live chunks, read from Qdrant on demand (search results are cached)."""

    def __init__(self, store: QdrantStore):
        self.store = store

    def __getitem__(self, vid) -> Chunk:
        chunk = self.store.chunk(vid)
        if chunk is None:
            raise KeyError(vid)
        return chunk

    def __contains__(self, vid) -> bool:
        return self.store.chunk(vid) is not None

    def __len__(self) -> int:
        return sum(f["chunks"] for f in self.store.manifest.files.values())

    def __iter__(self):
        for vid, _ in self.items():
            yield vid

    def items(self):
        for source in list(self.store.manifest.files):
            yield from self.store.source_chunks(source)

    def values(self):
        for _, chunk in self.items():
            yield chunk


def _chunk(payload: dict) -> Chunk:
    return Chunk(**{k: payload.get(k) for k in CHUNK_FIELDS})
