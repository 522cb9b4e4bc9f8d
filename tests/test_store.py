"""The segmented index: batches committed as they are done, changes that cost what changed,
BM25 kept per segment (and scored as one BM25), merges, the IVF index for large indexes, and
reading formats 1 and 2."""

import json
import shutil

import numpy as np
import pytest

from rag.errors import IndexMismatchError
from rag.store import MERGE_SEGMENTS, FaissIndex, Manifest, Store, current_generation

from conftest import FakeEmbedder


def notes(folder, n, prefix="note"):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"{prefix}-{i:03d}.txt").write_text(f"Note {i} about {prefix} topic {i % 7}. Item {prefix}{i} "
                                                      f"costs {i * 3} coins.\n")
    return folder


def segment_dirs(root):
    return sorted(p.name for p in root.iterdir() if p.name.startswith("seg-"))


def manifest(root):
    return json.loads((root / current_generation(root) / "manifest.json").read_text())


class Interrupting(FakeEmbedder):
    """Stops the ingest (as Ctrl-C or a kill would) when the given batch is being embedded."""

    def __init__(self, stop_at_call):
        super().__init__()
        self.stop_at, self.batches = stop_at_call, 0

    def embed_documents(self, texts, progress=False):
        self.batches += 1
        if self.batches == self.stop_at:
            raise KeyboardInterrupt
        return super().embed_documents(texts)


def test_an_interrupted_ingest_keeps_its_finished_batches_and_the_rerun_carries_on(make_bot, tmp_path):
    import rag
    docs = notes(tmp_path / "many", 40)
    bot = make_bot(ingest_batch=10)
    interrupting = Interrupting(stop_at_call=3)
    bot = rag.Bot(bot.settings, embedder=interrupting, generator=None)
    with pytest.raises(KeyboardInterrupt):
        bot.ingest([docs])
    kept = manifest(bot.store.root)["files"]
    assert len(kept) == 20  # two batches of 10 files, one chunk each
    store = Store.open(bot.store.root, "fake-words", 64, (40, 8))
    assert len(store.chunks) == len(store.vectors) == 20
    fresh = FakeEmbedder()
    again = rag.Bot(bot.settings, embedder=fresh, generator=None).ingest([docs])
    assert len(again.unchanged) == 20 and len(again.added) == 20 and fresh.calls == 20
    clean = make_bot(index_dir=str(tmp_path / "clean"))
    clean.ingest([docs])
    resumed = Store.open(bot.store.root, "fake-words", 64, (40, 8))
    assert sorted((c.source, c.text) for c in resumed.chunks.values()) == \
        sorted((c.source, c.text) for c in clean.store.chunks.values())
    assert resumed.lexical("coins Note 33", 1)[0][0] in resumed.chunks


def test_adding_or_removing_one_file_writes_only_what_changed(make_bot, tmp_path):
    bot = make_bot()
    bot.ingest([notes(tmp_path / "docs", 30)])
    root = bot.store.root
    before = segment_dirs(root)
    stamps = {d: [(root / d / f).stat().st_mtime_ns for f in ("vectors.faiss", "lexical/tfs.npy")] for d in before}
    one = notes(tmp_path / "one", 1, prefix="single")
    bot.ingest([one])
    after = segment_dirs(root)
    assert len(after) == len(before) + 1 and set(before) <= set(after)
    assert all([(root / d / f).stat().st_mtime_ns for f in ("vectors.faiss", "lexical/tfs.npy")] == stamps[d]
               for d in before)
    assert bot.retrieve("Item single0", mode="bm25")[0].chunk.name == "single-000.txt"
    assert bot.remove("single-000.txt")
    assert segment_dirs(root) == before  # its segment held nothing else, so it went
    assert bot.remove("note-005.txt")
    assert segment_dirs(root) == before
    deleted = [v for s in manifest(root)["segments"] for v in s["deleted"]]
    assert len(deleted) == 1
    reopened = make_bot()
    assert "note-005.txt" not in [f.source.rsplit("/", 1)[-1] for f in reopened.documents()]
    assert all("Item note5 " not in c.text for c in reopened.store.chunks.values())
    assert not any(h.chunk.name == "note-005.txt" for h in reopened.retrieve("Item note5 costs 15 coins", k=5))


def counting_builds(monkeypatch) -> list[int]:
    import rag.bm25
    built = []
    original = rag.bm25.Postings.build.__func__

    def counting(cls, ids, texts):
        built.append(len(texts))
        return original(cls, ids, texts)
    monkeypatch.setattr(rag.bm25.Postings, "build", classmethod(counting))
    return built


def test_the_lexical_index_is_saved_and_loaded_not_rebuilt(make_bot, docs_dir, monkeypatch):
    make_bot().ingest([docs_dir])
    built = counting_builds(monkeypatch)
    hits = make_bot().retrieve("Moon orbits", mode="bm25")
    assert hits and hits[0].chunk.name == "space.md"
    assert built == []


def test_bm25_over_segments_scores_as_bm25s_over_the_live_chunks(tmp_path):
    """Three segments, chunks removed from two of them and uncommitted chunks: the same scores
    as one bm25s index (same tokens, k1, b) of the live chunks."""
    import random

    import bm25s

    from rag.bench import document, questions, vocabulary
    from rag.bm25 import STOPWORDS, TOKENS, tokenize
    from rag.types import Chunk
    rng, vocab = random.Random(0), vocabulary()
    store = Store.open(tmp_path / "ix", "synthetic", 8, (160, 32))
    vectors = np.eye(8, dtype="float32")[[0] * 4]
    for f in range(90):
        texts = document(rng, vocab, 16).split("\n")[:4]
        texts[-1] = "The of and to." if f == 7 else texts[-1]  # stop words only: a chunk of no tokens
        source = f"/s/{f}.txt"
        store.add_source(source, f"{f:064x}", [Chunk(f"{f}:{j}", source, t, j, j + 1) for j, t in enumerate(texts)],
                         vectors, "2026")
        if f in (30, 60):
            store.commit()
    for f in (3, 40, 41, 88):
        store.remove_source(f"/s/{f}.txt")
    assert len(store.manifest.segments) == 2 and store._new and store._deleted
    live = sorted(store.chunks)
    reference = bm25s.BM25(k1=0.9, b=0.4)
    reference.index(bm25s.tokenize([store.chunks[i].text for i in live], token_pattern=TOKENS,
                                   stopwords=STOPWORDS, show_progress=False), show_progress=False)
    for q in questions(20) + ["Vitamin D and d", "nothing-known-here zzz"]:
        known = [t for t in tokenize([q], return_ids=False)[0] if t in reference.vocab_dict]
        expected = reference.get_scores(known) if known else np.zeros(len(live))
        got = dict(store.lexical(q, len(live)))
        assert set(got) == {live[i] for i in np.flatnonzero(expected > 0)}
        assert np.allclose([got.get(v, 0.0) for v in live], expected, rtol=1e-5, atol=1e-6)
        top = [v for v, _ in store.lexical(q, 10)]
        assert top == [live[i] for i in np.argsort(-expected, kind="stable")[:len(top)]] or \
            np.allclose(sorted(expected, reverse=True)[:len(top)], [got[v] for v in top], rtol=1e-5)
    store.save()
    reopened = Store.open(tmp_path / "ix", "synthetic", 8, (160, 32))
    for q in questions(5):
        assert [v for v, _ in reopened.lexical(q, 10)] == [v for v, _ in store.lexical(q, 10)]


def test_a_format_2_index_is_searched_then_migrated_at_the_next_write(make_bot, docs_dir, tmp_path, monkeypatch):
    """Format 2 kept one bm25s index of all chunks in the generation folder and no lexical files in
    the segments: BM25 is built from the chunks until the next write gives every segment its own."""
    bot = make_bot()
    bot.ingest([docs_dir / "fruit.txt"])
    bot.ingest([docs_dir / "space.md"])
    root = bot.store.root
    expected = [(h.chunk.id, round(h.score, 5)) for h in bot.retrieve("Moon orbits bananas", mode="bm25")]
    m = manifest(root)
    for s in m["segments"]:
        shutil.rmtree(root / s["dir"] / "lexical")
        del s["lexical"]
    m["format"], m["bm25"] = 2, True
    gen = root / current_generation(root)
    (gen / "bm25").mkdir()
    (gen / "bm25" / "params.index.json").write_text("{}")
    (gen / "manifest.json").write_text(json.dumps(m))
    old = make_bot()
    assert [(h.chunk.id, round(h.score, 5)) for h in old.retrieve("Moon orbits bananas", mode="bm25")] == expected
    notes(tmp_path / "more", 1)
    old.ingest([tmp_path / "more"])
    expected = [(h.chunk.id, round(h.score, 5)) for h in old.retrieve("Moon orbits bananas Note", mode="bm25")]
    m = manifest(root)
    assert m["format"] == 3 and "bm25" not in m and len(m["segments"]) == 3
    assert all(s["lexical"] == 1 and (root / s["dir"] / "lexical" / "meta.json").exists() for s in m["segments"])
    built = counting_builds(monkeypatch)
    migrated = make_bot()
    assert [(h.chunk.id, round(h.score, 5)) for h in migrated.retrieve("Moon orbits bananas Note", mode="bm25")] \
        == expected and len(expected) == 3
    assert built == []


def test_many_small_ingests_are_merged_and_deleted_chunks_compacted(make_bot, tmp_path):
    bot = make_bot()
    for i in range(MERGE_SEGMENTS + 4):
        bot.ingest([notes(tmp_path / f"d{i}", 2, prefix=f"p{i}")])
    root = bot.store.root
    assert len(segment_dirs(root)) <= MERGE_SEGMENTS + 1
    assert len(make_bot().store.chunks) == 2 * (MERGE_SEGMENTS + 4)
    for i in range(MERGE_SEGMENTS + 2):
        bot.remove(f"p{i}-000.txt")
    m = manifest(root)
    live = sum(s["chunks"] - len(s["deleted"]) for s in m["segments"])
    assert live == len(make_bot().store.chunks) == MERGE_SEGMENTS + 6
    assert all(len(s["deleted"]) <= s["chunks"] // 3 for s in m["segments"])


def test_large_indexes_search_an_ivf_index_and_agree_with_exact_search(tmp_path):
    rng = np.random.default_rng(0)
    dim, n = 32, 3000
    centres = rng.standard_normal((40, dim))
    vectors = centres[rng.integers(0, 40, n)] + 0.3 * rng.standard_normal((n, dim))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype("float32")
    from rag.types import Chunk
    store = Store.open(tmp_path / "ix", "synthetic", dim, (160, 32), ann_threshold=1000)
    for f in range(n // 10):
        chunks = [Chunk(f"{f}:{j}", f"/s/{f}.txt", f"text {f} {j}", j, j + 1) for j in range(10)]
        store.add_source(f"/s/{f}.txt", f"{f:064x}", chunks, vectors[f * 10:(f + 1) * 10], "2026")
    store.save()
    reopened = Store.open(tmp_path / "ix", "synthetic", dim, (160, 32), ann_threshold=1000)
    assert reopened.search_kind() == "ivf"
    exact = FaissIndex(dim)
    exact.add(np.arange(n), vectors)
    queries = vectors[rng.integers(0, n, 50)] + 0.05 * rng.standard_normal((50, dim)).astype("float32")
    recall = np.mean([len({i for i, _ in reopened.dense(q, 10)} & {i for i, _ in exact.search(q, 10)}) / 10
                      for q in queries])
    assert recall >= 0.95
    # a removed file is never returned; a new one is found at once, without rebuilding the IVF index
    reopened.remove_source("/s/0.txt")
    new = rng.standard_normal((1, dim)).astype("float32")
    new /= np.linalg.norm(new)
    reopened.add_source("/s/new.txt", "e" * 64, [Chunk("n", "/s/new.txt", "new", 0, 1)], new, "2026")
    reopened.save()
    assert reopened.manifest.ann["dir"] == Store.open(tmp_path / "ix", "synthetic", dim, (160, 32), 1000).manifest.ann["dir"]
    assert reopened.search(vectors[0], 5)[0][0].source != "/s/0.txt"
    assert reopened.search(new[0], 1)[0][0].source == "/s/new.txt"
    small = Store.open(tmp_path / "ix", "synthetic", dim, (160, 32), ann_threshold=10**6)
    assert small.search_kind() == "ivf"  # as saved; the next save drops it
    small.save()
    assert small.search_kind() == "exact" and small.manifest.ann is None


def test_a_format_1_index_is_read_and_carried_on(make_bot, docs_dir, tmp_path):
    root = tmp_path / "index"
    gen = root / "gen-000001"
    gen.mkdir(parents=True)
    emb = FakeEmbedder()
    from rag.chunking import chunk_document
    from rag.loaders import load_file
    chunks = chunk_document(load_file(docs_dir / "fruit.txt"), 40, 8, emb.count_tokens)
    with open(gen / "chunks.jsonl", "w") as fh:
        for vid, c in enumerate(chunks):
            fh.write(json.dumps({"vid": vid, "id": c.id, "source": c.source, "text": c.text, "start": c.start,
                                 "end": c.end, "page": c.page}) + "\n")
    vectors = FaissIndex(64)
    vectors.add(np.arange(len(chunks)), emb.embed_documents([c.text for c in chunks]))
    vectors.save(gen / "vectors.faiss")
    source = str((docs_dir / "fruit.txt").resolve())
    from rag.ingest import file_sha256
    (gen / "manifest.json").write_text(json.dumps({
        "embedder": "fake-words", "dim": 64, "chunk_tokens": 40, "chunk_overlap": 8, "format": 1,
        "next_id": len(chunks), "files": {source: {"sha256": file_sha256(docs_dir / "fruit.txt"),
                                                   "chunks": len(chunks), "added": "2026-11-01"}}}))
    (root / "CURRENT").write_text("gen-000001")
    bot = make_bot()
    assert bot.retrieve("Bananas yellow")[0].chunk.name == "fruit.txt"
    report = bot.ingest([docs_dir])
    assert len(report.unchanged) == 1 and len(report.added) == 1
    m = manifest(root)
    assert m["format"] == 3 and m["segments"][0]["dir"] == "gen-000001"
    assert all((root / s["dir"] / "lexical" / "meta.json").exists() for s in m["segments"])
    assert sorted(f.source.rsplit("/", 1)[-1] for f in make_bot().documents()) == ["fruit.txt", "space.md"]


def test_vectors_of_another_backend_are_not_mixed(tmp_path):
    m = Manifest("all-MiniLM-L6-v2", 384, 160, 32)
    with pytest.raises(IndexMismatchError, match='embedder_backend = "torch" to keep using it'):
        m.check("all-MiniLM-L6-v2+onnx-int8", 384, (160, 32), tmp_path)
    m = Manifest("all-MiniLM-L6-v2+onnx-int8", 384, 160, 32)
    with pytest.raises(IndexMismatchError, match='embedder_backend = "onnx-int8"'):
        m.check("all-MiniLM-L6-v2", 384, (160, 32), tmp_path)
