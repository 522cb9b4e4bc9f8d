"""What a vector index costs as it grows: memory and one-query search time of FAISS exact search
(IndexFlatIP, the file index's) and of an HNSW graph (what Qdrant and most vector databases use),
on random unit vectors of the embedder's 384 dimensions, with HNSW's recall@10 against exact.

    python benchmarks/vectors.py --flat 1000000 --hnsw 200000

Random vectors are a worst case for HNSW recall (real embeddings cluster); search times scale
about linearly with the count for exact search, about logarithmically for HNSW."""

from __future__ import annotations

import argparse
import time

import numpy as np

DIM = 384


def unit(n: int, rng) -> np.ndarray:
    x = rng.standard_normal((n, DIM), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def timed(index, queries, k=10) -> tuple[float, np.ndarray]:
    found, start = [], time.perf_counter()
    for q in queries:
        found.append(index.search(q[None, :], k)[1][0])
    return (time.perf_counter() - start) / len(queries) * 1000, np.array(found)


def main(argv=None) -> int:
    import faiss
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flat", type=int, default=1_000_000)
    parser.add_argument("--hnsw", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    faiss.omp_set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    queries = unit(args.queries, rng)
    print("| index | vectors | memory MB | build s | search ms/query | recall@10 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    flat = faiss.IndexFlatIP(DIM)
    vectors = unit(args.flat, rng)
    flat.add(vectors)
    ms, _ = timed(flat, queries)
    print(f"| flat (exact) | {args.flat:,} | {vectors.nbytes / 1e6:.0f} | 0 | {ms:.1f} | 1 |")
    sub = vectors[:args.hnsw]
    exact = faiss.IndexFlatIP(DIM)
    exact.add(sub)
    _, truth = timed(exact, queries)
    hnsw = faiss.IndexHNSWFlat(DIM, 16, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 100
    start = time.perf_counter()
    hnsw.add(sub)
    build = time.perf_counter() - start
    for ef in (64, 256):
        hnsw.hnsw.efSearch = ef
        ms, found = timed(hnsw, queries)
        recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)])
        links = hnsw.hnsw.neighbors.size() * 4
        print(f"| HNSW m=16, ef_construct=100, ef={ef} | {args.hnsw:,} | {(sub.nbytes + links) / 1e6:.0f} "
              f"| {build:.1f} | {ms:.2f} | {recall:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
