"""Public benchmarks, read from their files (never copied into the repo):

- SciFact (BEIR layout): retrieval only, the 300 test queries, nDCG@10 and friends at document
  level. Each abstract (title + newline + text) is one document and one chunk, so the embedder
  sees it as BEIR/MTEB do (truncated at its 256-token limit).
- SQuAD 2.0 dev subset: end to end on a seeded sample, half answerable and half unanswerable.
  Each of the 646 paragraphs is one document; a question's gold source is its paragraph.

Documents are written as .txt files, and indexed, under a cache folder ($RAG_BENCH_DIR or
~/.cache/rag/bench); both are reused by later runs (ingest skips unchanged files)."""

from __future__ import annotations

import csv
import json
import os
import random
import re
import sys
import time
from pathlib import Path

from ..config import NEW_INDEX_CHUNKING
from ..embedder import backend_for
from ..errors import RagError
from . import metrics as m
from .cases import Case
from .harness import Report, describe, evaluate, peak_rss_mb, retrieval_metrics, retrieval_verdict, warm_up

WHOLE_DOCUMENT = 100_000  # chunk_tokens that keep every benchmark document in one chunk
SCIFACT_KS = (1, 3, 5, 10, 20, 50, 100)


def cache_root() -> Path:
    return Path(os.environ.get("RAG_BENCH_DIR") or Path.home() / ".cache" / "rag" / "bench")


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:80] or "x"


def write_documents(folder: Path, docs: dict[str, str]) -> Path:
    """One <name>.txt per document; files already holding the same text are left alone."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in docs.items():
        path = folder / f"{name}.txt"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return folder


def bench_bot(bot_factory, folder: Path, **settings):
    """A Bot over an index under `folder` named by embedder, chunking and vector store, so that
    changing any builds another index instead of failing on the old one."""
    probe = bot_factory(index_dir=str(folder / "probe-never-written"), **settings)
    s = probe.settings
    chosen = backend_for(getattr(s, "embedder_backend", "torch"), None)  # "auto": what a new index gets
    backend = "" if chosen == "torch" else f"+{chosen}"
    store = "" if getattr(s, "vector_store", "faiss") == "faiss" else f"-{s.vector_store}"
    tokens, overlap = getattr(s, "chunking", None) or NEW_INDEX_CHUNKING
    index = folder / f"index-{slug(s.embedder + backend)}-{tokens}-{overlap}{store}"
    return bot_factory(index_dir=str(index), data_dir=str(folder / "uploads"), **settings)


def build_index(bot, docs_dir: Path, progress: bool) -> dict:
    started = time.perf_counter()
    result = bot.ingest([docs_dir], progress=progress)
    return {"index_build_s": round(time.perf_counter() - started, 2),
            "index_reused": not (result.added or result.updated),
            "index_documents": len(bot.documents())}


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise RagError(f"{path} not found: {what}")
    return path


# ---------- SciFact (BEIR) ----------


def load_beir(data_dir, split: str = "test"):
    """(corpus {id: (title, text)}, queries {id: text}, qrels {query id: {doc ids}}) from BEIR files."""
    data = Path(data_dir)
    hint = "expected a BEIR folder with corpus.jsonl, queries.jsonl and qrels/<split>.tsv"
    corpus, queries, qrels = {}, {}, {}
    with open(_need(data / "corpus.jsonl", hint), encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                doc = json.loads(line)
                corpus[str(doc["_id"])] = (doc.get("title") or "", doc.get("text") or "")
    with open(_need(data / "queries.jsonl", hint), encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                q = json.loads(line)
                queries[str(q["_id"])] = q["text"]
    with open(_need(data / "qrels" / f"{split}.tsv", hint), encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if int(row["score"]) > 0:
                qrels.setdefault(row["query-id"], set()).add(row["corpus-id"])
    missing = [q for q in qrels if q not in queries]
    if missing:
        raise RagError(f"{data}: {len(missing)} qrels queries are not in queries.jsonl (e.g. {missing[0]})")
    return corpus, queries, qrels


def document_text(title: str, text: str) -> str:
    return f"{title.strip()}\n{text.strip()}".strip()


def scifact(bot_factory, data_dir, retriever: str = "dense", limit: int | None = None, seed: int = 0,
            progress: bool = True, cache: Path | None = None, depth: int = 100) -> Report:
    """Retrieval over the SciFact corpus for the test queries; metrics per BEIR."""
    started = time.perf_counter()
    corpus, queries, qrels = load_beir(data_dir)
    folder = (cache or cache_root()) / "scifact"
    docs_dir = write_documents(folder / "docs", {doc_id: document_text(*doc) for doc_id, doc in corpus.items()})
    bot = bench_bot(bot_factory, folder, chunk_tokens=WHOLE_DOCUMENT, chunk_overlap=0)
    build = build_index(bot, docs_dir, progress)
    warm_up(bot, generation=False, mode=retriever)

    query_ids = [q for q in queries if q in qrels][:limit]
    records, partial = [], False
    from tqdm import tqdm
    bar = tqdm(query_ids, desc=f"scifact {retriever}", unit="q", disable=not progress, file=sys.stderr)
    try:
        for qid in bar:
            t0 = time.perf_counter()
            hits = bot.retrieve(queries[qid], k=depth, mode=retriever)
            elapsed = time.perf_counter() - t0
            ranked = m.first_ranks(Path(h.chunk.source).stem for h in hits)
            records.append({"id": qid, "question": queries[qid], "relevant": sorted(qrels[qid]),
                            "retrieved": ranked[:10], "timings": {"retrieve_s": elapsed},
                            "verdict": {"retrieval": retrieval_verdict(ranked, qrels[qid], SCIFACT_KS)}})
    except KeyboardInterrupt:
        partial = True
    finally:
        bar.close()

    ms = [r["timings"]["retrieve_s"] * 1000 for r in records]
    retrieval = retrieval_metrics(records, seed, SCIFACT_KS)
    retrieval.pop("answer_in_passages")
    speed = {"retrieval_ms_p50": m.bootstrap_stat(ms, lambda v: m.percentile(v, 50), len(ms), seed, 300),
             "retrieval_ms_p95": m.bootstrap_stat(ms, lambda v: m.percentile(v, 95), len(ms), seed, 300),
             "index_build_s": m.stat(build["index_build_s"], build["index_documents"], None),
             "peak_rss_mb": m.stat(peak_rss_mb(), 1, None)}
    info = describe(bot, generation=False)
    info.update(bench="scifact", data=str(Path(data_dir).resolve()), retriever=retriever, split="test",
                corpus_documents=len(corpus), questions=len(query_ids), done=len(records), depth=depth,
                seed=seed, elapsed_s=round(time.perf_counter() - started, 2), **build)
    return Report(name=f"scifact-{retriever}", metrics={"retrieval": retrieval, "speed": speed,
                                                       "counts": {"queries": m.stat(len(records), len(records), None)}},
                  cases=records, info=info, partial=partial)


# ---------- SQuAD 2.0 ----------


def load_squad(data_dir) -> list[dict]:
    """Paragraphs as {"name", "title", "context", "qas"}; name is the document's file stem."""
    path = Path(data_dir)
    path = path / "dev-v2.0.json" if path.is_dir() else path
    try:
        data = json.loads(_need(path, "expected a SQuAD 2.0 JSON file (dev-v2.0.json)").read_text(encoding="utf-8"))
        articles = data["data"]
    except (ValueError, KeyError, TypeError) as e:
        raise RagError(f"{path} is not SQuAD 2.0 JSON ({e})") from None
    paragraphs = []
    for article in articles:
        for i, p in enumerate(article["paragraphs"]):
            paragraphs.append({"name": f"{slug(article['title'])}-{i:03d}", "title": article["title"],
                               "context": p["context"], "qas": p["qas"]})
    return paragraphs


def squad_cases(paragraphs: list[dict], sample: int, seed: int = 0) -> list[Case]:
    """A seeded sample: half answerable, half unanswerable (the odd one answerable), shuffled."""
    answerable, unanswerable = [], []
    for p in paragraphs:
        for qa in p["qas"]:
            (unanswerable if qa.get("is_impossible") else answerable).append((qa, p))
    n_unanswerable = sample // 2
    n_answerable = sample - n_unanswerable
    if n_answerable > len(answerable) or n_unanswerable > len(unanswerable):
        raise RagError(f"--sample {sample} is more than the data holds ({len(answerable)} answerable, "
                       f"{len(unanswerable)} unanswerable)")
    rng = random.Random(seed)
    picked = rng.sample(answerable, n_answerable) + rng.sample(unanswerable, n_unanswerable)
    rng.shuffle(picked)
    cases = []
    for qa, p in picked:
        golds = tuple(dict.fromkeys(a["text"] for a in qa["answers"] if a["text"].strip()))
        cases.append(Case(question=qa["question"], answers=golds, sources=(f"{p['name']}.txt",),
                          answerable=not qa.get("is_impossible"), id=qa["id"],
                          tags=(p["title"], "unanswerable" if qa.get("is_impossible") else "answerable")))
    return cases


def squad2(bot_factory, data_dir, sample: int = 200, seed: int = 0, limit: int | None = None,
           progress: bool = True, cache: Path | None = None) -> Report:
    """End to end over the SQuAD paragraphs, each ingested as one document."""
    started = time.perf_counter()
    paragraphs = load_squad(data_dir)
    folder = (cache or cache_root()) / "squad2"
    docs_dir = write_documents(folder / "docs", {p["name"]: p["context"] for p in paragraphs})
    bot = bench_bot(bot_factory, folder)
    build = build_index(bot, docs_dir, progress)
    cases = squad_cases(paragraphs, sample, seed)[:limit]
    report = evaluate(bot, cases, seed=seed, progress=progress, name="squad2")
    report.info.update(bench="squad2", data=str(Path(data_dir).resolve()), sample=sample, limit=limit,
                       paragraphs=len(paragraphs), elapsed_s=round(time.perf_counter() - started, 2), **build)
    report.metrics["speed"]["index_build_s"] = m.stat(build["index_build_s"], build["index_documents"], None)
    return report
