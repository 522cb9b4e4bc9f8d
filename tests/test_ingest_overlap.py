"""Files are read, loaded and chunked by a background thread while the batch before is embedded:
the overlap itself, and that every guarantee of an ingest holds with it (progress in order from
the calling thread, one warning per bad file, errors raised as before, Ctrl-C stops cleanly)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import rag
import rag.ingest
from rag.errors import LoadError
from rag.fakes import FakeEmbedder
from rag.store import Store, files_on_disk

ROOT = Path(__file__).resolve().parent.parent


def notes(folder: Path, n: int) -> Path:
    """n files of one short chunk each: note-000.txt ..."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"note-{i:03d}.txt").write_text(f"Note {i} says the code of item {i} is K{i * 7}.\n")
    return folder


def readers_alive() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "ingest-reader" and t.is_alive()]


def no_reader_left(timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while readers_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    return not readers_alive()


@pytest.fixture
def loads(monkeypatch):
    """load_file recorded: loads.events[name] is set once the file is loaded, loads.threads the
    threads that loaded; loads.hook(path) runs before each load (to slow it down or fail it)."""
    real = rag.ingest.load_file

    class Loads:
        events: dict[str, threading.Event] = {}
        threads: set[str] = set()
        hook = staticmethod(lambda path: None)

        def event(self, name: str) -> threading.Event:
            return self.events.setdefault(name, threading.Event())

    recorded = Loads()

    def load(path):
        recorded.hook(path)
        doc = real(path)
        recorded.threads.add(threading.current_thread().name)
        recorded.event(Path(path).name).set()
        return doc

    monkeypatch.setattr(rag.ingest, "load_file", load)
    return recorded


def bot_with(make_bot, embedder, **settings):
    return rag.Bot(make_bot(**settings).settings, embedder=embedder, generator=None)


def test_the_next_file_is_read_while_a_batch_is_embedded(make_bot, docs_dir, loads):
    """fruit.txt's batch cannot finish embedding until space.md is loaded: only a reader running
    beside the embedding lets it (one read and embedded after the other, the wait times out)."""
    waited = []

    class Waiting(FakeEmbedder):
        def embed_documents(self, texts, progress=False):
            if any("Apples" in t for t in texts):
                waited.append(loads.event("space.md").wait(10))
            return super().embed_documents(texts)

    bot = bot_with(make_bot, Waiting(), ingest_batch=1)
    report = bot.ingest([docs_dir])
    assert waited == [True]
    assert loads.threads == {"ingest-reader"}
    assert len(report.added) == 2 and {f.name for f in bot.documents()} == {"fruit.txt", "space.md"}
    assert no_reader_left()


def test_reading_ahead_is_bounded_by_about_one_batch(make_bot, tmp_path, loads, monkeypatch):
    docs = notes(tmp_path / "docs", 12)
    seen = []

    class Slow(FakeEmbedder):
        def embed_documents(self, texts, progress=False):
            if not seen:
                time.sleep(0.3)  # the reader has all the time it wants to read ahead
            seen.append(len(loads.events))
            return super().embed_documents(texts)

    bot = bot_with(make_bot, Slow(), ingest_batch=2)
    report = bot.ingest([docs])
    # while files 1-2 are embedded, files 3-4 (two chunks, one batch) are read ahead, and no more
    assert seen[0] == 4 and all(n <= 2 * (i + 2) for i, n in enumerate(seen))
    assert len(report.added) == 12
    monkeypatch.setattr(rag.ingest, "READ_AHEAD_FILES", 1)
    seen.clear()
    loads.events.clear()
    bot_with(make_bot, Slow(), ingest_batch=4, index_dir=str(tmp_path / "other")).ingest([docs])
    assert seen[0] == 5  # one file ahead at most


def test_progress_and_warnings_come_in_order_from_the_calling_thread(make_bot, tmp_path, loads):
    docs = notes(tmp_path / "docs", 5)
    (docs / "note-002.txt").write_text("")  # no text: failed
    bot = bot_with(make_bot, FakeEmbedder(), ingest_batch=1)
    bot.ingest([docs / "note-000.txt"])
    loads.hook = lambda path: time.sleep(0.05)  # the reader is the slower one
    steps, threads, warnings = [], set(), []

    def tell(step):
        steps.append((step.number, step.stage))
        threads.add(threading.current_thread().name)

    report = bot.ingest([docs], progress=tell, warn=warnings.append)
    assert steps == [(1, "reading"), (1, "unchanged"), (2, "reading"), (2, "embedding"), (3, "reading"),
                     (3, "failed"), (4, "reading"), (4, "embedding"), (5, "reading"), (5, "embedding")]
    assert threads == {threading.current_thread().name}
    assert len(warnings) == 1 and "note-002.txt" in warnings[0] and "no text" in warnings[0]
    assert len(report.added) == 3 and len(report.unchanged) == 1 and len(report.skipped) == 1


def test_a_file_that_cannot_be_read_is_told_once_and_the_others_are_indexed(make_bot, tmp_path, loads):
    docs = notes(tmp_path / "docs", 6)

    def hook(path):
        if path.name == "note-002.txt":
            raise LoadError("not a readable file (test)")
        time.sleep(0.02)

    loads.hook = hook
    warnings, failed = [], []
    bot = bot_with(make_bot, FakeEmbedder(), ingest_batch=2)
    report = bot.ingest([docs], warn=warnings.append,
                        progress=lambda s: s.stage == "failed" and failed.append((s.number, s.reason)))
    assert warnings == [f"skipped {docs / 'note-002.txt'}: not a readable file (test)"]
    assert failed == [(3, "not a readable file (test)")]
    assert [s.path for s in report.skipped] == [str(docs / "note-002.txt")] and len(report.added) == 5
    assert sorted(f.name for f in bot_with(make_bot, FakeEmbedder()).documents()) == \
        [f"note-{i:03d}.txt" for i in (0, 1, 3, 4, 5)]


def test_an_unexpected_error_in_the_reader_stops_the_ingest_as_before(make_bot, tmp_path, loads):
    """Not a LoadError (a bug, a missing package): raised by ingest itself, in the caller's thread,
    once the files before it are taken; the batches committed before it are kept."""
    docs = notes(tmp_path / "docs", 6)

    def hook(path):
        if path.name == "note-003.txt":
            raise RuntimeError("the disk is on fire")

    loads.hook = hook
    bot = bot_with(make_bot, FakeEmbedder(), ingest_batch=2)
    with pytest.raises(RuntimeError, match="the disk is on fire"):
        bot.ingest([docs])
    assert no_reader_left()
    store = Store.open(bot.settings.index_dir, "fake-words", 64, (40, 8))
    assert sorted(Path(c.source).name for c in store.chunks.values()) == ["note-000.txt", "note-001.txt"]
    assert len(store.vectors) == len(store.chunks)
    loads.hook = lambda path: None
    again = bot_with(make_bot, FakeEmbedder()).ingest([docs])
    assert len(again.unchanged) == 2 and len(again.added) == 4


class Interrupting(FakeEmbedder):
    """Ctrl-C (KeyboardInterrupt) while the given embedding call runs."""

    def __init__(self, at_call: int):
        super().__init__()
        self.at, self.n = at_call, 0

    def embed_documents(self, texts, progress=False):
        self.n += 1
        if self.n == self.at:
            raise KeyboardInterrupt
        return super().embed_documents(texts)


def test_ctrl_c_while_embedding_keeps_the_finished_batches_and_stops_the_reader(make_bot, tmp_path, loads):
    docs = notes(tmp_path / "docs", 30)
    loads.hook = lambda path: time.sleep(0.01)
    bot = bot_with(make_bot, Interrupting(at_call=3), ingest_batch=4)
    with pytest.raises(KeyboardInterrupt):
        bot.ingest([docs])
    assert no_reader_left()
    store = Store.open(bot.settings.index_dir, "fake-words", 64, (40, 8))
    assert sorted(Path(c.source).name for c in store.chunks.values()) == [f"note-{i:03d}.txt" for i in range(8)]
    assert len(store.vectors) == len(store.chunks) == sum(f.chunks for f in store.files())
    fresh = FakeEmbedder()
    again = bot_with(make_bot, fresh, ingest_batch=4).ingest([docs])
    assert len(again.unchanged) == 8 and len(again.added) == 22 and fresh.calls == 22


def test_a_failed_commit_stops_the_reader(make_bot, tmp_path, loads):
    docs = notes(tmp_path / "docs", 30)
    loads.hook = lambda path: time.sleep(0.01)
    bot = make_bot(ingest_batch=2)
    store = bot.store

    def commit(batch):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rag.ingest.ingest(store, bot.embedder, [docs], 40, 8, commit, batch_chunks=2)
    assert no_reader_left()


def test_ctrl_c_does_not_wait_for_a_file_that_never_finishes_reading(tmp_path):
    """The reader is stuck in a read (a hung network share, say) while the calling thread waits
    for that file: SIGINT ends the process at once, with the batch before it committed."""
    docs = notes(tmp_path / "docs", 3)
    index = tmp_path / "index"
    script = textwrap.dedent(f"""
        import faulthandler, signal, sys, threading
        from pathlib import Path
        import rag, rag.ingest
        faulthandler.register(signal.SIGUSR1)  # the test asks for every thread's stack if it hangs
        # Ctrl-C as in a terminal, even when this test runs where SIGINT is ignored (a background job)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        real = rag.ingest.load_file
        def load(path):
            if path.name == "note-001.txt":
                print("stuck", flush=True)
                threading.Event().wait()  # forever
            return real(path)
        rag.ingest.load_file = load
        bot = rag.Bot(rag.Settings(index_dir={str(index)!r}, ingest_batch=1, chunk_tokens=40, chunk_overlap=8),
                      embedder=rag.fakes.embedder(), generator=None)
        bot.ingest([{str(docs)!r}])
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "stuck"
        deadline = time.monotonic() + 30
        while not files_on_disk(index) and time.monotonic() < deadline:
            time.sleep(0.05)  # until note-000's batch is committed; then the calling thread waits for note-001
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGUSR1)
            time.sleep(1)
            proc.kill()
            pytest.fail("the ingest did not end on SIGINT; its threads:\n" + proc.communicate()[1])
    finally:
        proc.kill()
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    store = Store.open(index, "fake", 64, (40, 8))
    assert [Path(c.source).name for c in store.chunks.values()] == ["note-000.txt"]


@pytest.mark.slow
def test_the_real_embedders_reader_counts_tokens_as_it_does_without_waiting_for_its_lock():
    from helpers import CORPUS
    from rag.embedder import load_embedder, token_counter
    embedder = load_embedder("all-MiniLM-L6-v2")
    count = token_counter(embedder)
    assert token_counter(embedder) is count  # one copy of the tokenizer per embedder
    texts = [p.read_text() for p in sorted(CORPUS.glob("*.txt"))]
    assert [count(t) for t in texts] == [embedder.count_tokens(t) for t in texts]
    counted = []
    with embedder.lock:  # as while a batch is embedded
        worker = threading.Thread(target=lambda: counted.extend(count(t) for t in texts))
        worker.start()
        worker.join(30)
    assert counted == [embedder.count_tokens(t) for t in texts]
    errors = []

    def hammer():
        try:
            for t in texts * 20:
                count(t[:3000])
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    worker = threading.Thread(target=hammer)
    worker.start()
    for t in texts:
        embedder.embed_documents([t[:2000]] * 8)
    worker.join(60)
    assert errors == []
