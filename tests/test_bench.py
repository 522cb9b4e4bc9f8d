"""`rag bench`'s synthetic index: the hybrid search it times is Bot.retrieve's."""

import numpy as np

from rag.bench import child_synthetic, clustered_vectors, markdown
from rag.config import Settings
from rag.pipeline import search
from rag.store import Store


def test_the_synthetic_bench_times_the_search_bot_retrieve_runs(tmp_path):
    out = child_synthetic(str(tmp_path / "ix"), 256)
    assert out["chunks"] == 256 and out["recall_at_10"] == 1.0
    assert 0 < out["hybrid_ms"]["p50"] <= out["hybrid_ms"]["p95"]
    report = {"date": "today", "git": None, "cpus": 2, "backend": "onnx-int8", "real": {},
              "synthetic": {"256": out}}
    row = next(line for line in markdown(report).splitlines() if line.startswith("| 256 |"))
    assert f"| {out['hybrid_ms']['p50']} / {out['hybrid_ms']['p95']} |" in row


def test_search_gives_the_k_best_chunks_fused_and_ranked(tmp_path):
    child_synthetic(str(tmp_path / "ix"), 64)
    store = Store.open(tmp_path / "ix", "synthetic", 384, (160, 32))
    query = clustered_vectors(1, 384, seed=5)[0]
    hits = search(store, "report budget", query, Settings(), 4, "hybrid")
    assert [h.rank for h in hits] == [1, 2, 3, 4] and len({h.chunk.id for h in hits}) == 4
    dense = search(store, "", query, Settings(), 4, "dense")
    best = max(store.chunks, key=lambda v: float(np.dot(store.vector(v), query)))
    assert dense[0].chunk.id == store.chunks[best].id and dense[0].lexical is None
