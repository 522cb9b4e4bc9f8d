import json

import pytest

import rag
from rag.config import NEW_INDEX_CHUNKING
from rag.errors import IndexMismatchError
from rag.fakes import FakeEmbedder
from rag.store import Store


def test_second_ingest_of_unchanged_files_embeds_nothing(make_bot, docs_dir, fake_embedder):
    bot = make_bot()
    first = bot.ingest([docs_dir])
    assert len(first.added) == 2 and first.chunks > 0
    calls = fake_embedder.calls
    again = make_bot().ingest([docs_dir])  # a new process would reopen from disk the same way
    assert len(again.unchanged) == 2 and again.chunks == 0
    assert fake_embedder.calls == calls


def test_a_file_whose_formats_reader_changed_is_read_again(make_bot, tmp_path, monkeypatch):
    from rag import loaders
    docs = tmp_path / "mixed"
    docs.mkdir()
    (docs / "page.html").write_text("<p>Momentum is <em>not</em> new.</p>")
    (docs / "note.txt").write_text("Plain notes.\n")
    bot = make_bot()
    assert len(bot.ingest([docs]).added) == 2
    monkeypatch.setitem(loaders.READERS, ".html", loaders.READERS[".html"] + 1)
    report = make_bot().ingest([docs])
    assert [p.rsplit("/", 1)[-1] for p in report.updated] == ["page.html"]
    assert [p.rsplit("/", 1)[-1] for p in report.unchanged] == ["note.txt"]
    report = make_bot().ingest([docs])
    assert len(report.unchanged) == 2 and not report.updated


def test_changed_file_is_reembedded_and_old_chunks_go(make_bot, docs_dir):
    bot = make_bot()
    bot.ingest([docs_dir])
    fruit = str((docs_dir / "fruit.txt").resolve())
    assert "Bananas" in bot.store.source_text(fruit)
    (docs_dir / "fruit.txt").write_text("Grapes are purple and grow in bunches.")
    report = bot.ingest([docs_dir])
    assert bot.store.source_text(fruit) == "Grapes are purple and grow in bunches."
    assert [p.rsplit("/", 1)[-1] for p in report.updated] == ["fruit.txt"]
    texts = " ".join(c.text for c in bot.store.chunks.values())
    assert "Grapes" in texts and "Bananas" not in texts
    reopened = make_bot()
    assert {c.text for c in reopened.store.chunks.values()} == {c.text for c in bot.store.chunks.values()}


def test_deleted_file_in_ingested_folder_is_removed(make_bot, docs_dir):
    bot = make_bot()
    bot.ingest([docs_dir])
    (docs_dir / "space.md").unlink()
    report = bot.ingest([docs_dir])
    assert len(report.removed) == 1
    assert [f.source.rsplit("/", 1)[-1] for f in bot.documents()] == ["fruit.txt"]
    assert not bot.retrieve("Moon orbits Earth", mode="bm25")


def test_bad_files_warn_and_the_rest_goes_in(make_bot, docs_dir):
    (docs_dir / "empty.txt").write_text("")
    (docs_dir / "prog.exe").write_bytes(b"MZ")
    warnings = []
    report = make_bot().ingest([docs_dir, docs_dir / "missing.pdf"], warn=warnings.append)
    assert len(report.added) == 2
    assert sorted(s.path.rsplit("/", 1)[-1] for s in report.skipped) == ["empty.txt", "missing.pdf", "prog.exe"]
    assert any("empty.txt" in w and "no text" in w for w in warnings)


def test_bad_update_keeps_indexed_version(make_bot, docs_dir):
    bot = make_bot()
    bot.ingest([docs_dir])
    (docs_dir / "fruit.txt").write_text("")
    warnings = []
    bot.ingest([docs_dir / "fruit.txt"], warn=warnings.append)
    assert "kept" in warnings[0]
    assert any("Bananas" in c.text for c in make_bot().store.chunks.values())


def test_remove_by_file_name(make_bot, docs_dir):
    bot = make_bot()
    bot.ingest([docs_dir])
    assert bot.remove("space.md")
    assert not bot.remove("space.md")
    assert [f.source.rsplit("/", 1)[-1] for f in make_bot().documents()] == ["fruit.txt"]


def test_other_embedder_or_chunking_is_a_clear_error(make_bot, docs_dir, tmp_path):
    make_bot().ingest([docs_dir])
    settings = make_bot().settings
    with pytest.raises(IndexMismatchError, match="embedder fake-words.*re-index|Re-index"):
        rag.Bot(settings, embedder=FakeEmbedder(dim=32, id="other"), generator=None).store  # noqa: B018
    with pytest.raises(IndexMismatchError, match="chunking"):
        make_bot(chunk_tokens=99).retrieve("apples")


def test_an_index_keeps_its_own_chunking_unless_chunking_is_set(make_bot, docs_dir, tmp_path):
    make_bot(chunk_tokens=20, chunk_overlap=4).ingest([docs_dir])
    auto = make_bot(chunk_tokens=0, chunk_overlap=-1)  # the defaults
    (docs_dir / "more.txt").write_text("Pears are green. " * 30)
    auto.ingest([docs_dir])  # no mismatch: the new file is chunked as the index is
    assert (auto.store.manifest.chunk_tokens, auto.store.manifest.chunk_overlap) == (20, 4)
    assert max(auto.embedder.count_tokens(c.text) for c in auto.store.chunks.values()) <= 20
    with pytest.raises(IndexMismatchError, match="chunking 20/4 tokens, configured 30/6"):
        make_bot(chunk_tokens=30, chunk_overlap=-1).retrieve("apples")  # the overlap is a fifth unless set


def test_a_new_index_gets_the_new_index_chunking(make_bot, docs_dir):
    bot = make_bot(chunk_tokens=0, chunk_overlap=-1)
    bot.ingest([docs_dir])
    assert (bot.store.manifest.chunk_tokens, bot.store.manifest.chunk_overlap) == NEW_INDEX_CHUNKING


def test_newer_format_is_refused(make_bot, docs_dir, tmp_path):
    bot = make_bot()
    bot.ingest([docs_dir])
    gen = bot.store.root / (bot.store.root / "CURRENT").read_text()
    manifest = json.loads((gen / "manifest.json").read_text())
    manifest["format"] = 99
    (gen / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="format 99"):
        make_bot().ingest([docs_dir])


def test_interrupted_save_leaves_previous_index(make_bot, docs_dir, monkeypatch):
    bot = make_bot()
    bot.ingest([docs_dir / "fruit.txt"])

    def crash(self, path):
        raise KeyboardInterrupt

    monkeypatch.setattr(type(bot.store.vectors), "save", crash)
    with pytest.raises(KeyboardInterrupt):
        bot.ingest([docs_dir / "space.md"])
    monkeypatch.undo()
    again = make_bot()
    assert [f.source.rsplit("/", 1)[-1] for f in again.documents()] == ["fruit.txt"]
    assert len(again.store.vectors) == len(again.store.chunks)
    assert not list(again.store.root.glob(".new-*"))


def test_store_files_are_plain_and_readable(make_bot, docs_dir):
    bot = make_bot()
    bot.ingest([docs_dir])
    gen = bot.store.root / (bot.store.root / "CURRENT").read_text()
    assert sorted(p.name for p in gen.iterdir()) == ["manifest.json"]
    manifest = json.loads((gen / "manifest.json").read_text())
    assert manifest["embedder"] == "fake-words" and manifest["dim"] == 64 and manifest["format"] == 3
    segments = [bot.store.root / s["dir"] for s in manifest["segments"]]
    assert all(sorted(p.name for p in seg.iterdir()) == ["chunks.jsonl", "lexical", "vectors.faiss"]
               for seg in segments)
    assert all(json.loads((seg / "lexical" / "meta.json").read_text())["format"] == 1 for seg in segments)
    rows = [json.loads(line) for seg in segments for line in (seg / "chunks.jsonl").read_text().splitlines()]
    assert all(r["text"] for r in rows) and len(rows) == len(Store.open(
        bot.store.root, "fake-words", 64, (40, 8)).chunks)


def test_progress_tells_each_file_read_and_its_chunks_embedded(make_bot, docs_dir, monkeypatch):
    import rag.ingest
    monkeypatch.setattr(rag.ingest, "EMBED_SLICE", 4)
    long = " ".join(f"Sentence number {i} is about kiwis and their green flesh." for i in range(60))
    (docs_dir / "long.txt").write_text(long)
    (docs_dir / "empty.txt").write_text("")
    bot = make_bot(chunk_tokens=20, chunk_overlap=0)
    bot.ingest([docs_dir / "fruit.txt"])
    steps = []
    report = bot.ingest([docs_dir / n for n in ("fruit.txt", "long.txt", "empty.txt", "space.md")],
                        progress=steps.append, warn=lambda msg: None)
    named = [(s.number, s.files, s.path.rsplit("/", 1)[-1], s.stage) for s in steps]
    assert named[:3] == [(1, 4, "fruit.txt", "reading"), (1, 4, "fruit.txt", "unchanged"), (2, 4, "long.txt", "reading")]
    assert (3, 4, "empty.txt", "failed") in named
    assert ["no text" in s.reason for s in steps if s.stage == "failed"] == [True]
    embedded = [(s.done, s.chunks) for s in steps if s.stage == "embedding" and s.path.endswith("long.txt")]
    chunks = next(f.chunks for f in bot.documents() if f.name == "long.txt")
    assert len(embedded) > 2 and embedded[-1] == (chunks, chunks)
    assert [d for d, _ in embedded] == sorted(d for d, _ in embedded)
    assert all(s.number == 2 for s in steps if s.stage == "embedding" and s.path.endswith("long.txt"))
    assert len(report.added) == 2 and len(report.unchanged) == 1 and len(report.skipped) == 1


def test_vectors_are_the_same_embedded_in_slices(make_bot, docs_dir, monkeypatch, tmp_path):
    import rag.ingest
    whole = make_bot()
    whole.ingest([docs_dir])
    monkeypatch.setattr(rag.ingest, "EMBED_SLICE", 1)
    sliced = rag.Bot(whole.settings.replace(index_dir=str(tmp_path / "sliced")), embedder=whole.embedder,
                     generator=whole.generator)
    sliced.ingest([docs_dir])
    first, second = (whole.retrieve("Moon orbits", k=3), sliced.retrieve("Moon orbits", k=3))
    assert [(h.chunk.text, round(h.score, 5)) for h in first] == [(h.chunk.text, round(h.score, 5)) for h in second]
