"""The Qdrant backend (vector_store = "qdrant") in qdrant-client's embedded local mode: ingest,
retrieval in Qdrant (dense and BM25 sparse vectors), remove, unchanged files, model-change
detection, interrupted commits, reopening from disk; with the fakes, then with real MiniLM."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

qdrant_client = pytest.importorskip("qdrant_client")

import rag  # noqa: E402
from rag import qdrant_store  # noqa: E402
from rag.bm25 import BM25, Postings  # noqa: E402
from rag.config import Settings, load_settings  # noqa: E402
from rag.errors import ConfigError, IndexMismatchError, RagError  # noqa: E402

from conftest import FakeEmbedder  # noqa: E402
from helpers import CORPUS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def closed_clients():
    """Each test starts and ends without open clients: the embedded store locks its folder."""
    qdrant_store.close_all()
    yield
    qdrant_store.close_all()


@pytest.fixture
def make_qdrant_bot(make_bot):
    def make(**overrides):
        return make_bot(vector_store="qdrant", **overrides)
    return make


def names(files) -> list[str]:
    return [Path(f.source).name for f in files]


# ---------- settings ----------
def test_the_store_is_chosen_by_settings_toml_and_environment(tmp_path):
    assert Settings().vector_store == "faiss"
    assert load_settings(env={"RAG_VECTOR_STORE": "qdrant", "RAG_QDRANT_URL": "http://10.0.0.5:6333"}).qdrant_url \
        == "http://10.0.0.5:6333"
    config = tmp_path / "rag.toml"
    config.write_text('vector_store = "qdrant"\nqdrant_collection = "team-docs"\n')
    assert load_settings(config, env={}).vector_store == "qdrant"
    with pytest.raises(ConfigError, match="vector_store.*faiss, qdrant"):
        Settings(vector_store="milvus")
    with pytest.raises(ConfigError, match="qdrant_url.*http"):
        Settings(qdrant_url="localhost:6333")
    with pytest.raises(ConfigError, match="qdrant_collection"):
        Settings(qdrant_collection="a/b")
    assert Settings(qdrant_api_key="secret").public()["qdrant_api_key"] == "***"


def test_the_collection_is_named_after_the_index_folder(tmp_path):
    assert qdrant_store.collection_name(Settings(index_dir=str(tmp_path / "my index"))) == "rag-my_index"
    assert qdrant_store.collection_name(Settings(index_dir="x", qdrant_collection="team")) == "team"


# ---------- the fakes: logic ----------
def test_ingest_retrieve_update_remove_and_reopen(make_qdrant_bot, docs_dir, fake_embedder):
    bot = make_qdrant_bot()
    assert bot.documents() == []
    report = bot.ingest([docs_dir])
    assert len(report.added) == 2 and report.chunks == 2
    for mode in ("dense", "bm25", "hybrid"):
        hits = bot.retrieve("When does the Moon orbit the Earth?", k=2, mode=mode)
        assert hits[0].chunk.name == "space.md", mode
    hit = bot.retrieve("moon", k=1, mode="hybrid")[0]
    assert hit.dense is not None and hit.lexical is not None
    assert "Mars has two moons" in bot.store.source_text(hit.chunk.source)

    calls = fake_embedder.calls
    assert len(bot.ingest([docs_dir]).unchanged) == 2 and fake_embedder.calls == calls  # nothing re-embedded

    (docs_dir / "fruit.txt").write_text("Apples are green. Plums are purple.\n")
    report = bot.ingest([docs_dir])
    assert [Path(s).name for s in report.updated] == ["fruit.txt"]
    assert fake_embedder.calls == calls + 1
    assert [h.chunk.text for h in bot.retrieve("plums purple", k=5, mode="bm25")] == \
        ["Apples are green. Plums are purple."]
    assert not bot.retrieve("bananas", k=5, mode="bm25")  # the old version is gone

    assert bot.remove("space.md") and not bot.remove("space.md")
    assert names(bot.documents()) == ["fruit.txt"]
    assert all(h.chunk.name == "fruit.txt" for h in bot.retrieve("moon orbits", k=5, mode="hybrid"))

    qdrant_store.close_all()  # reopened from disk by a new client
    again = make_qdrant_bot()
    assert names(again.documents()) == ["fruit.txt"] and len(again.store.chunks) == 1
    assert list(again.store.chunks.values())[0].text == "Apples are green. Plums are purple."
    assert again.retrieve("plums", k=1, mode="dense")[0].chunk.name == "fruit.txt"


def test_a_file_gone_from_an_ingested_folder_is_removed(make_qdrant_bot, docs_dir):
    bot = make_qdrant_bot()
    bot.ingest([docs_dir])
    (docs_dir / "space.md").unlink()
    report = bot.ingest([docs_dir])
    assert [Path(s).name for s in report.removed] == ["space.md"]
    assert names(make_qdrant_bot().documents()) == ["fruit.txt"]


def test_another_embedder_or_chunking_is_refused_plainly(make_qdrant_bot, docs_dir):
    bot = make_qdrant_bot()
    bot.ingest([docs_dir])
    with pytest.raises(IndexMismatchError, match=r"Qdrant collection rag-index.*embedder fake-words \(64 dims\), "
                                                 r"configured other \(32 dims\).*cannot be mixed.*Re-index"):
        rag.Bot(bot.settings, embedder=FakeEmbedder(dim=32, id="other")).store  # noqa: B018
    with pytest.raises(IndexMismatchError, match="chunking 40/8 tokens, configured 99/8"):
        make_qdrant_bot(chunk_tokens=99).retrieve("apples")
    assert names(make_qdrant_bot().documents()) == ["fruit.txt", "space.md"]  # nothing was mixed in


def test_the_file_store_and_qdrant_keep_separate_indexes(make_bot, make_qdrant_bot, docs_dir):
    make_qdrant_bot().ingest([docs_dir / "space.md"])
    assert make_bot().documents() == []
    make_bot().ingest([docs_dir / "fruit.txt"])
    assert names(make_qdrant_bot().documents()) == ["space.md"]


def test_qdrant_bm25_scores_equal_bm25s(make_qdrant_bot, tmp_path):
    """One commit: avgdl is the collection's, and Qdrant's IDF times the stored term weights
    gives bm25s's Lucene scores."""
    docs = tmp_path / "notes"
    docs.mkdir()
    words = ["moon", "orbit", "earth", "mars", "apple", "tax", "report", "vitamin", "d", "coin"]
    for i in range(40):
        text = " ".join(words[(i * j) % len(words)] for j in range(1, 4 + i % 9)) + f" item{i}."
        (docs / f"n{i:02d}.txt").write_text(text)
    bot = make_qdrant_bot(chunk_tokens=200, chunk_overlap=0)
    bot.ingest([docs])
    items = dict(bot.store.chunks.items())
    # the file store's BM25, which test_store.py checks against bm25s itself
    reference = BM25([(Postings.build(sorted(items), [items[i].text for i in sorted(items)]), ())])
    for query in ("moon orbit", "vitamin D report", "tax tax coin", "item7", "nothing known"):
        expected = dict(reference.search(query, 50))
        got = dict(bot.store.lexical(query, 50))
        assert got.keys() == expected.keys(), query
        for vid, score in expected.items():
            assert got[vid] == pytest.approx(score, rel=1e-4), query


def test_an_interrupted_commit_leaves_the_previous_index_and_is_cleaned_up(make_qdrant_bot, docs_dir, monkeypatch):
    bot = make_qdrant_bot()
    bot.ingest([docs_dir / "fruit.txt"])
    client = bot.store.client
    upsert = client.upsert

    def failing(collection, points, **kw):
        if collection.endswith("-files"):
            raise KeyboardInterrupt  # after the chunks were written, before the switch
        return upsert(collection, points, **kw)
    monkeypatch.setattr(client, "upsert", failing)
    with pytest.raises(KeyboardInterrupt):
        bot.ingest([docs_dir])
    monkeypatch.setattr(client, "upsert", upsert)
    assert names(bot.documents()) == ["fruit.txt"]
    assert client.count("rag-index").count == 2  # the orphan chunk of space.md is there, but not seen
    assert not bot.retrieve("moon", k=5, mode="bm25") and len(bot.retrieve("moon", k=5, mode="dense")) == 1
    report = bot.ingest([docs_dir])
    assert [Path(s).name for s in report.added] == ["space.md"]
    assert client.count("rag-index").count == 2 and names(bot.documents()) == ["fruit.txt", "space.md"]


def test_another_process_sees_the_embedded_store_locked_with_a_message(make_qdrant_bot, docs_dir):
    bot = make_qdrant_bot()
    bot.ingest([docs_dir])
    code = ("import sys; from rag.config import Settings; from rag.errors import RagError; "
            "from rag.qdrant_store import listed_files\n"
            "try:\n    listed_files(Settings(index_dir=sys.argv[1], vector_store='qdrant'))\n"
            "except RagError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code, bot.settings.index_dir], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert "open in another process" in out.stdout and "qdrant_url" in out.stdout, out.stderr


def test_a_server_that_is_down_is_a_message(tmp_path):
    settings = Settings(index_dir=str(tmp_path / "index"), vector_store="qdrant", qdrant_url="http://127.0.0.1:9")
    with pytest.raises(RagError, match=r"Qdrant at http://127.0.0.1:9 .*failed.*running and reachable"):
        rag.Bot(settings, embedder=FakeEmbedder()).documents()


# ---------- the real embedder ----------
@pytest.fixture(scope="module")
def qdrant_settings(tmp_path_factory):
    index = tmp_path_factory.mktemp("qdrant-real") / "index"
    qdrant_store.close_all()
    settings = Settings(index_dir=str(index), vector_store="qdrant", model="fake")
    report = rag.Bot(settings).ingest([CORPUS])
    assert len(report.added) == 5
    qdrant_store.close_all()
    return settings


@pytest.mark.slow
def test_real_retrieval_in_qdrant_finds_the_meta_capex_passage(qdrant_settings):
    bot = rag.Bot(qdrant_settings)
    for mode in ("dense", "bm25", "hybrid"):
        hits = bot.retrieve("How much will Meta spend on capital expenditures in 2025?", k=4, mode=mode)
        assert any("$60 billion" in h.chunk.text for h in hits), mode
    assert bot.store.manifest.embedder == "all-MiniLM-L6-v2+onnx-int8" and bot.store.manifest.dim == 384  # new: onnx


@pytest.mark.slow
def test_real_qdrant_and_faiss_rank_alike(qdrant_settings, tmp_path):
    faiss_bot = rag.Bot(qdrant_settings.replace(index_dir=str(tmp_path / "faiss"), vector_store="faiss"))
    faiss_bot.ingest([CORPUS])
    bot = rag.Bot(qdrant_settings)
    for question in ("What did Microsoft say about capex?", "DeepSeek efficiency on older NVIDIA GPUs",
                     "How much will Meta spend on capital expenditures in 2025?"):
        for mode in ("dense", "bm25", "hybrid"):
            ours = [(h.chunk.id, round(h.score, 3)) for h in bot.retrieve(question, k=4, mode=mode)]
            theirs = [(h.chunk.id, round(h.score, 3)) for h in faiss_bot.retrieve(question, k=4, mode=mode)]
            assert ours == theirs, (question, mode)


@pytest.mark.slow
def test_real_reingest_embeds_nothing_and_remove_takes_the_passages_away(qdrant_settings, tmp_path):
    settings = qdrant_settings.replace(index_dir=str(tmp_path / "index"))
    bot = rag.Bot(settings)
    bot.ingest([CORPUS])
    report = bot.ingest([CORPUS])
    assert len(report.unchanged) == 5 and report.chunks == 0
    meta = next(h.chunk.source for h in bot.retrieve("Meta capex 2025 $60 billion", k=1))
    assert bot.remove(meta)
    assert all(h.chunk.source != meta for h in bot.retrieve("Meta capex 2025 $60 billion", k=10))
    assert len(bot.documents()) == 4


@pytest.mark.slow
def test_real_model_change_is_refused(qdrant_settings):
    with pytest.raises(IndexMismatchError, match="chunking 160/32 tokens, configured 200/40.*Re-index"):
        rag.Bot(qdrant_settings.replace(chunk_tokens=200)).retrieve("capex")


@pytest.mark.slow
def test_real_index_reopens_from_disk_in_the_cli(qdrant_settings):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    base = [sys.executable, "-m", "rag.cli", "--index", qdrant_settings.index_dir, "--vector-store", "qdrant"]
    docs = subprocess.run([*base, "docs"], capture_output=True, text=True, env=env, timeout=300)
    assert docs.returncode == 0, docs.stderr
    assert sum(line.strip().endswith(".txt") for line in docs.stdout.splitlines()) == 5
    asked = subprocess.run([*base, "--model", "fake", "ask", "How much will Meta spend on capex in 2025?"],
                           capture_output=True, text=True, env=env, timeout=300)
    assert asked.returncode == 0, asked.stderr
    assert "000_1ca4f3479bd6524a.txt" in asked.stdout or "$60 billion" in asked.stdout
