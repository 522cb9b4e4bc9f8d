"""The one core every front end calls: retrieve, stream, ask, ingest, remove."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Iterator

from . import fakes, fusion, openai_generator, stages
from .config import Settings, load_settings
from .errors import ConfigError
from .embedder import CachedEmbedder, Embedder, backend_for, load_embedder
from .followup import History
from .generator import Generator, load_generator
from .ingest import IngestReport, apply, ingest
from .stages import Turn
from .store import WriteLock
from .stores import IndexStore, indexed_embedder, listed_files, open_store
from .streaming import CheckedText, Progress
from .types import Answer, Hit, IndexedFile, Timings


REWRITE_CTX = 2048  # the rewrite prompt holds the last three exchanges


def search(store: IndexStore, question: str, vector, s: Settings, k: int, mode: str) -> list[Hit]:
    """The k best chunks of the store for a question (its words) and its vector (None for bm25):
    dense and BM25 candidates, fused, copies of a better-ranked chunk left out (and MMR when
    set). What Bot.retrieve does once the question is embedded, and what `rag bench` times."""
    n = max(k, s.candidates)
    dense = store.dense(vector, n) if mode != "bm25" else []
    lexical = store.lexical(question, n) if mode != "dense" else []
    if mode == "dense":
        ranked = dense
    elif mode == "bm25":
        ranked = lexical
    elif s.fusion == "rrf":
        ranked = fusion.rrf([dense, lexical], k=s.rrf_k)
    else:
        ranked = fusion.weighted([dense, lexical], [s.dense_weight, 1 - s.dense_weight])
    if s.mmr_lambda < 1.0:  # copies out of all candidates first, so that MMR still gives k
        ranked = fusion.distinct(ranked[:n], store.vector, n, s.duplicate_cosine)
        ranked = fusion.mmr(ranked, {i: store.vector(i) for i, _ in ranked}, k, s.mmr_lambda)
    else:
        ranked = fusion.distinct(ranked[:n], store.vector, k, s.duplicate_cosine)
    dense_of, lexical_of = dict(dense), dict(lexical)
    return [Hit(chunk=store.chunks[i], score=score, rank=r, dense=dense_of.get(i), lexical=lexical_of.get(i))
            for r, (i, score) in enumerate(ranked[:k], start=1)]


class Bot:
    """A chatbot over one index. Models load on first use and are shared per process."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None,
                 generator: Generator | None = None):
        self.settings = settings
        self._embedder = embedder
        self._generator = generator
        self._rewriter = generator
        self._lock = threading.RLock()  # ingest/remove vs. retrieval
        self._store: IndexStore | None = None  # opened on first use: listing documents loads no model
        self._sentences: CachedEmbedder | None = None  # the compact context's sentence vectors

    @property
    def store(self) -> IndexStore:
        with self._lock:
            if self._store is None:
                self._store = self._open_store()
            return self._store

    def _open_store(self) -> IndexStore:
        return open_store(self.settings, self.embedder.id, self.embedder.dim)

    def _current(self) -> IndexStore:
        """The store as it is on disk now: reopened when another process has written the index."""
        with self._lock:
            if self.store.is_stale():
                self._store = self._open_store()
            return self._store

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            s = self.settings
            self._embedder = (fakes.embedder() if s.embedder == fakes.NAME
                              else load_embedder(s.embedder, self.embedder_backend))
        return self._embedder

    @property
    def embedder_backend(self) -> str:
        """torch or onnx-int8: the setting, or with "auto" the index's own (rag.embedder.backend_for)."""
        s = self.settings
        return backend_for(s.embedder_backend, indexed_embedder(s) if s.embedder_backend == "auto" else None)

    @property
    def generator(self) -> Generator:
        if self._generator is None:
            s = self.settings
            self._generator = (fakes.generator() if s.model == fakes.NAME
                               else openai_generator.load(s) if openai_generator.is_remote(s.model)
                               else load_generator(s.model, s.n_ctx, s.n_threads, s.seed))
        return self._generator

    @property
    def rewriter(self) -> Generator:
        """The model for follow-up rewrites: a second llama.cpp context on the same memory-mapped
        weights, so that a rewrite does not evict the answer prompt cached in the first. A model
        server keeps its own caches: the rewrite goes to the same server."""
        if self._rewriter is None:
            s = self.settings
            self._rewriter = (fakes.generator() if s.model == fakes.NAME
                              else self.generator if openai_generator.is_remote(s.model)
                              else load_generator(s.model, REWRITE_CTX, s.n_threads, s.seed))
        return self._rewriter

    @property
    def refusal(self) -> str:
        return stages.refusal(self.settings)

    # ---------- documents ----------
    def ingest(self, paths, progress=False, warn=None) -> IngestReport:
        """Add, update and remove documents (rag.ingest). progress: True for a bar in the
        terminal, or a callable told each FileProgress (reading, embedding, unchanged, failed)."""
        if isinstance(paths, (str, Path)):
            paths = [paths]
        s = self.settings
        with WriteLock(s.index_dir, warn):
            store = self._current()

            def commit(batch):
                with self._lock:
                    self._changing(store, lambda: apply(store, batch))
            m = store.manifest
            return ingest(store, self.embedder, list(paths), m.chunk_tokens, m.chunk_overlap, commit,
                          s.ingest_batch, progress=progress, warn=warn)

    def remove(self, source: str) -> bool:
        """Remove a document by its path (or file name, if unique). True if it was indexed."""
        with WriteLock(self.settings.index_dir), self._lock:
            store = self._current()
            match = self.find_source(source)
            if match is None:
                return False

            def change():
                store.remove_source(match)
                store.save()
            self._changing(store, change)
            return True

    def _changing(self, store: IndexStore, change) -> None:
        """Run a change of the store; if it fails, the store is read again from disk, where the
        previous index is intact, so that memory never holds half a change."""
        try:
            change()
        except BaseException:
            self._store = self._open_store()
            raise

    def find_source(self, source: str) -> str | None:
        files = self.store.manifest.files
        resolved = str(Path(source).resolve())
        if resolved in files:
            return resolved
        if source in files:
            return source
        by_name = [s for s in files if Path(s).name == source]
        return by_name[0] if len(by_name) == 1 else None

    def documents(self) -> list[IndexedFile]:
        return self._current().files() if self._store is not None else listed_files(self.settings)

    # ---------- questions ----------
    def retrieve(self, question: str, k: int | None = None, mode: str | None = None) -> list[Hit]:
        """The k best passages for a question; mode is dense, bm25 or hybrid (default: settings)."""
        s = self.settings
        k = k or s.top_k
        mode = mode or s.retriever
        if mode not in ("dense", "bm25", "hybrid"):
            raise ConfigError(f"Unknown retriever '{mode}': use dense, bm25 or hybrid")
        with self._lock:
            self._current()
            vector = self.embedder.embed_query(question) if mode != "bm25" else None
            return search(self.store, question, vector, s, k, mode)

    def rewrite(self, question: str, history: History) -> str:
        """A follow-up question made standalone with the chat history (one short model call);
        when the model's rewrite is not usable, the last exchange followed by the follow-up."""
        return stages.follow_up(question, history, self.settings, self._standalone)[0]

    def _standalone(self, question: str, history: History) -> str | None:
        return stages.standalone(question, history, self.settings, self.rewriter)

    def read(self, question: str, history: History = (), k: int | None = None) -> Turn:
        """The stages before generation (rag.stages): plan the question, retrieve for each of its
        parts, build the context."""
        start = time.perf_counter()
        turn = stages.plan(question, history, self.settings, self._standalone)
        return self._gather(dataclasses.replace(turn, start=start), k)

    def _gather(self, turn: Turn, k: int | None = None) -> Turn:
        """Retrieve for each part of a planned turn and build its context."""
        s = self.settings
        planned = time.perf_counter()
        turn = stages.retrieve(turn, s, search=lambda q: self.retrieve(q, k), naming=self._passages_naming,
                               source_text=lambda source: self.store.source_text(source))
        retrieved = time.perf_counter()
        turn = stages.build_context(turn, s, self.embedder, self._sentence_vectors())
        built = time.perf_counter()
        return dataclasses.replace(turn, timings=Timings(
            plan_s=planned - turn.start, retrieve_s=retrieved - planned, context_s=built - retrieved))

    def _sentence_vectors(self) -> CachedEmbedder:
        """The compact context's cache of sentence vectors, for the current embedder."""
        if self._sentences is None or self._sentences.inner is not self.embedder:
            self._sentences = CachedEmbedder(self.embedder)
        return self._sentences

    def _passages_naming(self, terms: list[str], query: str) -> list[list[Hit]]:
        """For each term, the passages among the BM25 candidates that name it, closest to the query first."""
        s = self.settings
        out = []
        with self._lock:
            store = self._current()
            vector = self.embedder.embed_query(query).reshape(-1)
            for term in terms:
                naming = [i for i, _ in store.lexical(term, s.candidates) if term in store.chunks[i].text.lower()]
                cosine = {i: float(store.vector(i) @ vector) for i in naming}
                out.append([Hit(chunk=store.chunks[i], score=cosine[i], rank=0, dense=cosine[i])
                            for i in sorted(naming, key=lambda i: -cosine[i])])
        return out

    def stream(self, question: str, history: History = (), k: int | None = None) -> Iterator[str | Answer]:
        """Yields the checked text in pieces as the model writes it, then the final Answer. The
        pieces add up to the Answer's text, except after a Correction (see `events`), which is
        left out here: then the Answer's text replaces what was sent."""
        for event in self.events(question, history, k):
            if isinstance(event, (str, Answer)):
                yield event

    def events(self, question: str, history: History = (), k: int | None = None) -> Iterator:
        """The whole course of one answer: Progress, the Turn (what was found, before the model
        writes), checked text pieces, a Correction if the final check changed what was sent, and
        the final Answer (rag.streaming)."""
        s = self.settings
        begun = time.perf_counter()
        yield Progress("searching", 0.0)
        turn = self.read(question, history, k)
        yield turn
        if turn.refusal_reason:
            yield self.refusal
            yield Answer(question=turn.question, text=self.refusal, passages=turn.hits, retrieved=turn.hits,
                         refused=True, query=turn.query, raw_text="", notices=turn.notices,
                         refusal_reason=turn.refusal_reason, refusal_stage="retrieve",
                         timings=dataclasses.replace(turn.timings, total_s=time.perf_counter() - turn.start))
            return
        yield Progress("reading", time.perf_counter() - begun, passages=len(turn.passages))
        turn = stages.lean(turn, s, self.generator)
        checked = CheckedText(len(turn.passages), lambda raw: stages.check(turn, raw, s), hold=bool(turn.compared))
        words = 0
        for piece in stages.generate(turn, s, self.generator):
            if isinstance(piece, stages.Draft):
                draft = piece
                break
            words += 1
            yield Progress("writing", time.perf_counter() - begun, words=words)
            if text := checked.feed(piece):
                yield text
        written = time.perf_counter()
        yield Progress("checking", written - begun)
        answer = stages.check(turn, draft.text, s)
        if stages.dates_unworked(turn, answer):  # answered as it would be without working out
            plain = self._gather(stages.as_asked(turn), k)
            answer = stages.asked_plainly(plain, answer, s, self.generator, turn.compared.kind == "interval")
        if stages.second_look_wanted(turn, answer, s):
            answer = stages.second_look(turn, answer, s, self.generator)
        done = time.perf_counter()
        answer = dataclasses.replace(answer, timings=dataclasses.replace(
            turn.timings, generate_s=draft.generate_s, check_s=done - written, total_s=done - turn.start,
            first_token_s=draft.first_token - turn.start if draft.first_token else None,
            prompt_tokens=draft.prompt_tokens, completion_tokens=draft.completion_tokens,
            cached_tokens=draft.cached_tokens))
        if rest := checked.end(answer.text):
            yield rest
        yield answer

    def ask(self, question: str, history: History = (), k: int | None = None) -> Answer:
        answer = None
        for part in self.stream(question, history, k):
            answer = part
        return answer

    def status(self) -> dict:
        files = self.documents()
        return {"documents": len(files), "chunks": sum(f.chunks for f in files),
                "model": self.settings.model, "embedder": self.settings.embedder,
                "index": str(self.settings.index_dir)}


def open(where: str | Path | Settings | None = None, **overrides) -> Bot:  # noqa: A001
    """rag.open("index/") or rag.open(settings): opens the index there, or an empty one."""
    if isinstance(where, Settings):
        settings = where.replace(**overrides) if overrides else where
    else:
        if where is not None:
            overrides["index_dir"] = str(where)
        settings = load_settings(**overrides)
    return Bot(settings)
