"""BM25 kept per segment against one bm25s index of the same live chunks, on an index that
`rag bench` saved (e.g. reports/bench-DATE/work/synthetic-100000), in one process, interleaved:
search p50 / p95, top-10 agreement up to ties, and the time to add one file and save.

    PYTHONPATH=. python benchmarks/bm25.py INDEX [--adds 3]

The adds change INDEX: point it at a copy."""

import argparse
import time

import numpy as np


def main() -> None:
    import bm25s

    from rag.bench import clustered_vectors, questions
    from rag.bm25 import STOPWORDS, TOKENS, tokenize
    from rag.store import Store
    from rag.types import Chunk
    p = argparse.ArgumentParser()
    p.add_argument("index")
    p.add_argument("--adds", type=int, default=3)
    args = p.parse_args()
    started = time.perf_counter()
    store = Store.open(args.index, "synthetic", 384, (160, 32))
    print(f"open {time.perf_counter() - started:.2f} s, format {store.manifest.format}, "
          f"{len(store.chunks)} chunks in {len(store.manifest.segments)} segments")
    started = time.perf_counter()
    store.lexical("warm up", 1)
    print(f"first search (lexical files loaded, or built for format 1 and 2) {time.perf_counter() - started:.2f} s")
    ids = sorted(store.chunks)
    reference = bm25s.BM25(k1=0.9, b=0.4)
    reference.index(bm25s.tokenize([store.chunks[i].text for i in ids], token_pattern=TOKENS, stopwords=STOPWORDS,
                                   show_progress=False), show_progress=False)
    ours, theirs, outside, worst = [], [], 0, 0.0
    for q in questions(60) * 3:
        t0 = time.perf_counter()
        found = store.lexical(q, 50)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        known = [t for t in tokenize([q], return_ids=False)[0] if t in reference.vocab_dict]
        scores = reference.get_scores(known)
        np.argpartition(-scores, 49)[:50]
        theirs.append(time.perf_counter() - t0)
        tenth = np.sort(scores)[-10]
        for vid, score in found[:10]:
            expected = scores[np.searchsorted(ids, vid)]
            worst = max(worst, abs(expected - score) / scores.max())
            outside += expected < tenth - 1e-5 * scores.max()
    for name, ms in (("per segment", ours), ("bm25s", theirs)):
        print(f"{name}: p50 {np.percentile(ms, 50) * 1000:.2f} ms, p95 {np.percentile(ms, 95) * 1000:.2f} ms")
    print(f"top 10 outside bm25s's top 10 beyond ties: {outside}; largest relative score difference {worst:.1e}")
    for n in range(args.adds):
        chunks = [Chunk(f"bench{n}:{j}", f"/synthetic/bench-{n}.txt", f"new text {j}", j, j + 1) for j in range(8)]
        vectors = clustered_vectors(8, 384, seed=3 + n)
        t0 = time.perf_counter()
        store.add_source(chunks[0].source, "f" * 64, chunks, vectors, "2026")
        store.save()
        print(f"add one file and save: {time.perf_counter() - t0:.3f} s")


if __name__ == "__main__":
    main()
