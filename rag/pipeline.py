"""The one core every front end calls: retrieve, stream, ask, ingest, remove."""

from __future__ import annotations

import dataclasses
import itertools
import re
from dataclasses import dataclass
import threading
import time
from pathlib import Path
from typing import Iterator

from . import (arithmetic, citations, context, conjunction, fakes, followup, fusion, injection, openai_generator,
               verify, years, yesno)
from .config import Settings, load_settings
from .errors import ConfigError
from .embedder import CachedEmbedder, Embedder, load_embedder
from .followup import History
from .generator import Generator, load_generator
from .ingest import IngestReport, apply, ingest
from .prompts import answer_messages, example_answers, template
from .store import WriteLock
from .stores import IndexStore, listed_files, open_store
from .streaming import CheckedText, Progress
from .types import Answer, Hit, IndexedFile, SentenceCheck, Timings


REWRITE_CTX = 2048  # the rewrite prompt holds the last three exchanges


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
                              else load_embedder(s.embedder, s.embedder_backend))
        return self._embedder

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
        return template(self.settings.prompts_dir, "refusal")

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
            return ingest(store, self.embedder, list(paths), s.chunk_tokens, s.chunk_overlap, commit,
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
        n = max(k, s.candidates)
        with self._lock:
            self._current()
            dense = self.store.dense(self.embedder.embed_query(question), n) if mode != "bm25" else []
            lexical = self.store.lexical(question, n) if mode != "dense" else []
            if mode == "dense":
                ranked = dense
            elif mode == "bm25":
                ranked = lexical
            elif s.fusion == "rrf":
                ranked = fusion.rrf([dense, lexical], k=s.rrf_k)
            else:
                ranked = fusion.weighted([dense, lexical], [s.dense_weight, 1 - s.dense_weight])
            if s.mmr_lambda < 1.0:
                ranked = fusion.mmr(ranked[:n], {i: self.store.vector(i) for i, _ in ranked[:n]}, k, s.mmr_lambda)
            dense_of, lexical_of = dict(dense), dict(lexical)
            return [Hit(chunk=self.store.chunks[i], score=score, rank=r, dense=dense_of.get(i),
                        lexical=lexical_of.get(i))
                    for r, (i, score) in enumerate(ranked[:k], start=1)]

    def rewrite(self, question: str, history: History) -> str:
        """A follow-up question made standalone with the chat history (one short model call);
        when the model's rewrite is not usable, the last exchange followed by the follow-up."""
        return self._query(question, history)[0]

    def _query(self, question: str, history: History) -> tuple[str, str | None]:
        """The retrieval query, and the standalone question (None when there is none)."""
        if not history or not self.settings.rewrite:
            return question, None
        if not followup.needs_context(question):
            return question, question
        standalone = self._standalone(question, history)
        return standalone or followup.combined(question, history, self.refusal), standalone

    def _standalone(self, question: str, history: History) -> str | None:
        lines = [f"User: {q}\nAssistant: {a}" for q, a in history[-followup.HISTORY_TURNS:]]
        prompt = template(self.settings.prompts_dir, "rewrite").format(history="\n".join(lines), question=question)
        out = "".join(self.rewriter.stream([{"role": "user", "content": prompt}], 64, 0.0))
        out = out.strip().splitlines()[0].strip().strip('"') if out.strip() else ""
        return out if followup.acceptable(out, question, history) else None

    def read(self, question: str, history: History = (), k: int | None = None) -> Turn:
        """The stages before generation: plan the question (follow-up rewrite, the parts of a
        comparison or a "both" question), retrieve for each part, leave out instructions to the
        assistant, decide whether anything relevant was found, and build the context."""
        s = self.settings
        start = time.perf_counter()
        question, history, notices = within_limits(question, history, s.max_question_chars)
        query, standalone = self._query(question, history)
        compared = arithmetic.comparison(query) if s.verify else None
        # "A is how many times B?" and "named both as A and as B" retrieve for A and for B:
        # one query may miss one
        shared = None if compared else conjunction.parts(query)
        queries = (compared.first, compared.second) if compared else shared or (query,)
        rankings = [self.retrieve(q, k) for q in queries]
        if s.verify:
            rankings, cut = zip(*(injection.without_instructions(r) for r in rankings))
            if sum(cut):
                notices += (f"{sum(cut)} sentence(s) of your documents that give orders to an assistant "
                            f"were left out of what the model read.",)
        hits = _in_turn(rankings)
        best = max((h.dense for h in hits if h.dense is not None), default=None)
        documents = {h.chunk.source: self.store.source_text(h.chunk.source) for h in hits}
        reason = ("no-passages" if not hits else "no-relevant-passages" if best is not None and best < s.min_score
                  else "")
        if s.verify and not reason and (missing := self._missing(query, question, documents)):
            rankings = self._with_passages_naming(missing, query, queries, rankings)
            hits = _in_turn(rankings)
            documents = {h.chunk.source: self.store.source_text(h.chunk.source) for h in hits}
            reason = "unknown-terms" if self._missing(query, question, documents) else ""
        passages = hits
        if s.compact and not reason:
            # a side of a comparison ("Microsoft's capex in Q1") says nothing of the amount it wants;
            # a "how much" question does, and a bonus there only brought in other amounts (SQuAD)
            if self._sentences is None or self._sentences.inner is not self.embedder:
                self._sentences = CachedEmbedder(self.embedder)
            passages = _in_turn([context.select(q, self.embedder.embed_query(q), ranking, self._sentences,
                                                s.context_tokens // len(queries), wants_amount=bool(compared))
                                 for q, ranking in zip(queries, rankings)])
        return Turn(question=question, history=tuple(history), query=query, standalone=standalone,
                    compared=compared, several_parts=bool(compared or shared), hits=tuple(hits),
                    passages=tuple(passages), documents=documents, refusal_reason=reason, notices=notices,
                    start=start, read_s=time.perf_counter() - start)

    def _missing(self, query: str, question: str, documents: dict) -> list[str]:
        return _asked_terms(verify.unknown_terms(query, "\n".join(documents.values())), question)

    def _with_passages_naming(self, terms: list[str], query: str, queries, rankings) -> list[list[Hit]]:
        """The rankings, each followed by the passages closest to the query among those that name
        an asked term the retrieved documents never mention. A question joining two documents
        often retrieves only one of them; a term the index never holds stays missing."""
        s = self.settings
        rankings = [list(r) for r in rankings]
        with self._lock:
            store = self._current()
            vector = self.embedder.embed_query(query).reshape(-1)
            for term in terms:
                naming = [i for i, _ in store.lexical(term, s.candidates) if term in store.chunks[i].text.lower()]
                cosine = {i: float(store.vector(i) @ vector) for i in naming}
                closest = sorted(naming, key=lambda i: -cosine[i])[:MISSING_PASSAGES]
                extra = [Hit(chunk=store.chunks[i], score=cosine[i], rank=0, dense=cosine[i]) for i in closest]
                asking = [n for n, q in enumerate(queries) if term in q.lower()] or [0]
                for n in asking:
                    rankings[n] += extra
        return rankings

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
        question, query, hits, passages, documents, compared = (turn.question, turn.query, list(turn.hits),
                                                                list(turn.passages), turn.documents, turn.compared)
        start = turn.start
        if turn.refusal_reason:
            yield self.refusal
            yield Answer(question=question, text=self.refusal, passages=turn.hits, retrieved=turn.hits,
                         refused=True, query=query, raw_text="", notices=turn.notices,
                         refusal_reason=turn.refusal_reason,
                         timings=Timings(retrieve_s=turn.read_s, first_token_s=None,
                                         total_s=time.perf_counter() - start))
            return
        yield Progress("reading", time.perf_counter() - begun, passages=len(passages))
        # without a standalone question the model reads the conversation and the follow-up itself
        in_chat = bool(turn.history) and turn.standalone is None
        history = turn.history if in_chat else ()
        asked = question if in_chat else query
        if compared:  # the model gives the two amounts; _finish works out the comparison
            asked = template(s.prompts_dir, "compare").format(first=compared.first, second=compared.second)
        messages = answer_messages(s.prompts_dir, asked, passages, history)
        parts, first = [], None
        checked = CheckedText(len(passages), lambda raw: self._finish(question, query, raw, passages, hits,
                                                                      Timings(), documents, compared),
                              hold=bool(compared))
        writing = time.perf_counter()
        for piece in self.generator.stream(messages, s.max_tokens, s.temperature):
            if first is None:
                first = time.perf_counter()
            parts.append(piece)
            yield Progress("writing", time.perf_counter() - begun, words=len(parts))
            if text := checked.feed(piece):
                yield text
        written = time.perf_counter()
        yield Progress("checking", written - begun)
        timings = Timings(retrieve_s=turn.read_s, first_token_s=(first - start) if first else None,
                          total_s=written - start, completion_tokens=len(parts), generate_s=written - writing,
                          prompt_tokens=getattr(self.generator, "last_usage", (0, 0))[0])
        answer = self._finish(question, query, "".join(parts), passages, hits, timings, documents, compared)
        if self._second_look_wanted(answer, passages, turn.several_parts):
            answer = self._second_look(answer, passages[0], hits, documents, asked, history)
        done = time.perf_counter()
        answer = dataclasses.replace(answer, notices=turn.notices, timings=dataclasses.replace(
            answer.timings, check_s=done - written, total_s=done - start))
        if rest := checked.end(answer.text):
            yield rest
        yield answer

    def _second_look_wanted(self, answer: Answer, passages: list[Hit], several_parts) -> bool:
        """Reading several passages, a small model sometimes copies the prompt's worked example;
        when verification withheld such a draft, the model gets one more try on the best passage
        alone. Not when the question needs a passage for each of its parts."""
        s = self.settings
        return (s.verify and s.second_look and answer.refused and bool(answer.raw_text.strip())
                and len(passages) > 1 and not several_parts
                and verify.copies_example(answer.raw_text, example_answers(s.prompts_dir),
                                          "\n".join(h.chunk.text for h in passages), answer.query))

    def _second_look(self, first: Answer, best: Hit, hits, documents, asked, history) -> Answer:
        """The model asked again with the best passage alone; the first answer's refusal stands
        when this one is refused too. (The caller adds the time it took to check_s.)"""
        s = self.settings
        messages = answer_messages(s.prompts_dir, asked, [best], history)
        raw = "".join(self.generator.stream(messages, s.max_tokens, s.temperature))
        answer = self._finish(first.question, first.query, raw, [best], hits, first.timings, documents, None)
        return first if answer.refused else dataclasses.replace(answer, second_look=True)

    def ask(self, question: str, history: History = (), k: int | None = None) -> Answer:
        answer = None
        for part in self.stream(question, history, k):
            answer = part
        return answer

    def _finish(self, question, query, raw, passages, hits, timings, documents, compared) -> Answer:
        s = self.settings
        common = dict(question=question, passages=tuple(passages), retrieved=tuple(hits), timings=timings,
                      query=query, raw_text=raw)
        if citations.is_refusal(raw, self.refusal) or not raw.strip():
            return Answer(text=self.refusal, refused=True, refusal_reason="model-refused", **common)
        text = citations.clean_markers(raw, len(passages))
        if s.verify and verify.is_yes_no(query) and (said := yesno.draft_says(query, text)):
            decision = yesno.decide(query, said, {h.rank: h.chunk.text for h in passages}, s.min_overlap)
            if decision is None:
                return Answer(text=self.refusal, refused=True, refusal_reason="yes-no-undecided", **common)
            check = SentenceCheck(decision.text, (decision.passage,), True)
            text = verify.render([check])
            return Answer(text=text, citations=citations.extract(text, passages), refused=False,
                          sentences=(check,), **common)
        checks: list = []
        supported: set[int] = set()
        if s.verify:
            # each side of a comparison may be of its own year: only a year both name is checked
            asked = years.years(compared.first) & years.years(compared.second) if compared else None
            checks = verify.check(text, {h.rank: h.chunk.text for h in passages}, s.min_overlap, query,
                                  {h.rank: documents.get(h.chunk.source, "") for h in passages}, asked)
            if compared:
                checks = _with_comparison(checks, compared.kind)
            supported = {n for c in checks if c.supported for n in c.cited}
            cited_documents = "\n".join(documents.get(source, "") for source in
                                        {h.chunk.source for h in passages if h.rank in supported})
            cited_passages = "\n".join(h.chunk.text for h in passages if h.rank in supported)
            reason = ("unsupported" if not supported
                      else verify.failed_check(query, verify.render(checks), cited_documents, cited_passages)
                      or ("incomplete-comparison" if compared and not any(c.computed for c in checks)
                          else ""))  # one amount compares nothing
            if reason:
                return Answer(text=self.refusal, refused=True, sentences=tuple(checks), refusal_reason=reason,
                              **common)
            text = verify.render(checks, keep_unsupported=s.keep_unsupported)
        cites = tuple(dataclasses.replace(c, supported=c.n in supported) if s.verify else c
                      for c in citations.extract(text, passages))
        return Answer(text=text, citations=cites, refused=False, sentences=tuple(checks), **common)

    def status(self) -> dict:
        files = self.documents()
        return {"documents": len(files), "chunks": sum(f.chunks for f in files),
                "model": self.settings.model, "embedder": self.settings.embedder,
                "index": str(self.settings.index_dir)}


@dataclass(frozen=True)
class Turn:
    """A question as read before generation: what was searched, found and will be shown."""
    question: str
    history: tuple
    query: str  # what was searched (a follow-up made standalone)
    standalone: str | None  # the rewritten follow-up, None when the model reads the chat itself
    compared: object  # arithmetic.Comparison of a "how many times / which is larger" question, or None
    several_parts: bool  # a comparison or a "both A and B" question: a passage is needed for each part
    hits: tuple[Hit, ...]  # the chunks retrieved, numbered
    passages: tuple[Hit, ...]  # what the model reads (parts of the hits in the compact context)
    documents: dict  # source -> the indexed text of each retrieved document
    refusal_reason: str  # set when nothing relevant was found: no generation follows
    notices: tuple[str, ...]
    start: float
    read_s: float


MISSING_PASSAGES = 2  # passages added for each asked term the retrieved documents never mention


def within_limits(question: str, history: History, limit: int) -> tuple[str, History, tuple[str, ...]]:
    """The question and each turn of the history cut to `limit` characters, so that a prompt fits
    the model's context; what was cut is said in a notice."""
    notices = []
    if len(question) > limit:
        question = question[:limit].rstrip()
        notices.append(f"The question was cut to its first {limit} characters.")
    cut = [(q[:limit], a[:limit]) for q, a in history]
    if any(len(q) > limit or len(a) > limit for q, a in history):
        notices.append(f"Earlier messages were cut to {limit} characters each.")
    return question, cut, tuple(notices)


def _asked_terms(terms: list[str], question: str) -> list[str]:
    """The terms the user wrote. A follow-up made standalone names what the conversation named, in
    its spelling ("Jamal Reid" for "he"), which the documents that answer may write otherwise."""
    return [t for t in terms if re.search(rf"(?<!\w){re.escape(t)}(?!\w)", question, re.I)]


def _in_turn(rankings: list[list[Hit]]) -> list[Hit]:
    """Hits from several rankings taken in turn (first of each, then second...), without
    repeating a passage or one whose text an earlier passage holds, numbered again from 1."""
    out: list[Hit] = []
    for hit in itertools.chain.from_iterable(itertools.zip_longest(*rankings)):
        if hit is not None and not any(_within(hit.chunk, h.chunk) for h in out):
            out.append(hit)
    return [dataclasses.replace(h, rank=n) for n, h in enumerate(out, start=1)]


def _within(inner, outer) -> bool:
    return inner.id == outer.id or (inner.source == outer.source and outer.start <= inner.start
                                    and inner.end <= outer.end)


def _with_comparison(checks: list, kind: str) -> list:
    """The verified sentences, then the comparison (a ratio, or which is larger) of the amounts
    the first two of them state."""
    stating = [c for c in checks if c.supported and arithmetic.amounts(c.text)]
    if len(stating) < 2:
        return checks
    first, second = stating[:2]
    sentence = arithmetic.computed_sentence(kind, first.text, second.text)
    if sentence is None:
        return checks
    cited = tuple(dict.fromkeys(first.cited + second.cited))
    return [*checks, SentenceCheck(sentence, cited, True, computed=True)]


def open(where: str | Path | Settings | None = None, **overrides) -> Bot:  # noqa: A001
    """rag.open("index/") or rag.open(settings): opens the index there, or an empty one."""
    if isinstance(where, Settings):
        settings = where.replace(**overrides) if overrides else where
    else:
        if where is not None:
            overrides["index_dir"] = str(where)
        settings = load_settings(**overrides)
    return Bot(settings)
