"""SciFact nDCG@10 and retrieval latency of the Qdrant backend against the FAISS file store, in one
process, on the same documents and the same query vectors.

    PYTHONPATH=. python benchmarks/qdrant_vs_faiss.py --data /tmp/scifact-1500 [--retrievers hybrid,dense,bm25]

Both indexes are the ones `rag eval --bench scifact` builds (each abstract one chunk, under
$RAG_BENCH_DIR or ~/.cache/rag/bench/scifact). The Qdrant index is ingested with the vectors the
FAISS index already holds for the same texts (the same model gives the same vectors; this saves
embedding the corpus twice). Each query is embedded once (timed apart), then retrieved from both
stores in turn, alternating which goes first: the latency is Bot.retrieve without the query's
embedding, so the two stores meet the same machine load."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rag  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.eval import bench, metrics as m  # noqa: E402


class Reusing:
    """The embedder, with query vectors computed once and document vectors taken from an index."""

    def __init__(self, inner, known: dict[str, object] | None = None):
        self.inner, self.known, self.queries, self.embed_s = inner, known or {}, {}, []
        self.id, self.dim = inner.id, inner.dim

    def count_tokens(self, text):
        return self.inner.count_tokens(text)

    def embed_documents(self, texts, progress=False):
        import numpy as np
        if all(t in self.known for t in texts):
            return np.stack([self.known[t] for t in texts]) if texts else np.zeros((0, self.dim), "float32")
        return self.inner.embed_documents(texts, progress)

    def embed_query(self, text):
        if text not in self.queries:
            started = time.perf_counter()
            self.queries[text] = self.inner.embed_query(text)
            self.embed_s.append(time.perf_counter() - started)
        return self.queries[text]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="a BEIR SciFact folder (e.g. the 1,500-abstract subset)")
    p.add_argument("--retrievers", default="hybrid,dense,bm25")
    p.add_argument("--depth", type=int, default=100, help="passages retrieved per query, as rag eval --bench")
    p.add_argument("--out", help="write the figures as JSON here")
    args = p.parse_args(argv)

    corpus, queries, qrels = bench.load_beir(args.data)
    folder = bench.cache_root() / "scifact"
    docs = bench.write_documents(folder / "docs", {i: bench.document_text(*d) for i, d in corpus.items()})
    settings = {"chunk_tokens": bench.WHOLE_DOCUMENT, "chunk_overlap": 0}

    faiss = bench.bench_bot(lambda **kw: rag.Bot(load_settings(vector_store="faiss", **kw)), folder, **settings)
    started = time.perf_counter()
    faiss.ingest([docs])
    faiss_build = time.perf_counter() - started
    embedder = Reusing(faiss.embedder)
    faiss._embedder = embedder
    store = faiss.store
    embedder.known = {store.chunks[i].text: store.vector(i) for i in store.chunks}
    qdrant = bench.bench_bot(lambda **kw: rag.Bot(load_settings(vector_store="qdrant", **kw), embedder=embedder),
                             folder, **settings)
    started = time.perf_counter()
    qdrant.ingest([docs])
    qdrant_build = time.perf_counter() - started

    ids = [q for q in queries if q in qrels]
    bots = {"faiss": faiss, "qdrant": qdrant}
    results = {"data": str(Path(args.data).resolve()), "queries": len(ids), "documents": len(corpus),
               "depth": args.depth, "build_s": {"faiss": round(faiss_build, 1), "qdrant": round(qdrant_build, 1)},
               "retrievers": {}}
    for retriever in args.retrievers.split(","):
        for bot in bots.values():
            bot.retrieve("warm up", k=1, mode=retriever)
        ndcg = {name: [] for name in bots}
        ms = {name: [] for name in bots}
        for n, qid in enumerate(ids):
            embedder.embed_query(queries[qid])
            for name in (list(bots) if n % 2 == 0 else list(bots)[::-1]):
                t0 = time.perf_counter()
                hits = bots[name].retrieve(queries[qid], k=args.depth, mode=retriever)
                ms[name].append((time.perf_counter() - t0) * 1000)
                ranked = m.first_ranks(Path(h.chunk.source).stem for h in hits)
                ndcg[name].append(m.ndcg_at_k(ranked, qrels[qid], 10))
        results["retrievers"][retriever] = {
            name: {"ndcg@10": round(sum(ndcg[name]) / len(ndcg[name]), 4),
                   "retrieve_ms_p50": round(m.percentile(ms[name], 50), 2),
                   "retrieve_ms_p95": round(m.percentile(ms[name], 95), 2)} for name in bots}
        print(retriever, json.dumps(results["retrievers"][retriever]), flush=True)
    if embedder.embed_s:
        results["query_embedding_ms_p50"] = round(m.percentile([s * 1000 for s in embedder.embed_s], 50), 1)
    print("| retriever | FAISS nDCG@10 | Qdrant nDCG@10 | FAISS p50 / p95 ms | Qdrant p50 / p95 ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for retriever, r in results["retrievers"].items():
        f, q = r["faiss"], r["qdrant"]
        print(f"| {retriever} | {f['ndcg@10']:.4f} | {q['ndcg@10']:.4f} | {f['retrieve_ms_p50']} / "
              f"{f['retrieve_ms_p95']} | {q['retrieve_ms_p50']} / {q['retrieve_ms_p95']} |")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
