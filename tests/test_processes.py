"""Real processes on a real index: two writers at once, an ingest killed with SIGKILL, concurrent
first questions in a fresh process, and a 30 MB single-line file. Real MiniLM and FAISS."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rag.store import Store, current_generation

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent

NEW_INDEX_EMBEDDER = "all-MiniLM-L6-v2+onnx-int8"  # what a new index is built with (embedder_backend = "auto")


def rag_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "rag.cli", *args]


def env() -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", "PYTHONPATH": str(ROOT)}


def notes(folder: Path, prefix: str, n: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"{prefix}-{i:02d}.txt").write_text(
            f"Note {i} of the {prefix} folder. The {prefix} code for item {i} is {prefix.upper()}-{i * 7}. "
            f"It was filed on day {i} and reviewed twice.\n")
    return folder


def indexed(index: Path) -> list[str]:
    manifest = json.loads((index / current_generation(index) / "manifest.json").read_text())
    return sorted(Path(s).name for s in manifest["files"])


def test_two_ingests_into_one_index_keep_every_file(tmp_path):
    """Both writers start while a third holds the lock; each waits, says so, and adds its 40 files."""
    a, b = notes(tmp_path / "a", "alpha", 40), notes(tmp_path / "b", "beta", 40)
    index = tmp_path / "index"
    index.mkdir()
    holder = open(index / "LOCK", "a+")
    fcntl.flock(holder, fcntl.LOCK_EX)
    logs = [tmp_path / "a.err", tmp_path / "b.err"]
    writers = [subprocess.Popen(rag_cmd("--index", str(index), "ingest", str(folder)), env=env(),
                                stdout=subprocess.PIPE, stderr=open(log, "w"), text=True)
               for folder, log in zip((a, b), logs)]
    deadline = time.monotonic() + 120
    while not all("Another process is writing to the index" in log.read_text() for log in logs):
        assert all(w.poll() is None for w in writers) and time.monotonic() < deadline, \
            [log.read_text()[-500:] for log in logs]
        time.sleep(0.1)
    fcntl.flock(holder, fcntl.LOCK_UN)
    holder.close()
    outs = [w.communicate(timeout=300)[0] for w in writers]
    assert [w.returncode for w in writers] == [0, 0], [log.read_text()[-1000:] for log in logs]
    assert all("40 added" in out for out in outs)
    assert indexed(index) == sorted([f"alpha-{i:02d}.txt" for i in range(40)] + [f"beta-{i:02d}.txt" for i in range(40)])


def test_an_ingest_killed_at_any_point_keeps_finished_batches_and_the_rerun_equals_a_clean_ingest(tmp_path):
    index = tmp_path / "index"
    first, more = notes(tmp_path / "first", "first", 5), notes(tmp_path / "more", "more", 60)
    batched = {**env(), "RAG_INGEST_BATCH": "8"}  # one chunk per file: a commit every 8 files
    subprocess.run(rag_cmd("--index", str(index), "ingest", str(first)), env=env(), check=True,
                   capture_output=True, timeout=300)
    before = indexed(index)
    started = time.monotonic()
    subprocess.run(rag_cmd("--index", str(tmp_path / "clean"), "ingest", str(first), str(more)), env=batched,
                   check=True, capture_output=True, timeout=300)
    whole = time.monotonic() - started
    clean = Store.open(tmp_path / "clean", NEW_INDEX_EMBEDDER, 384, (160, 32))
    everything = sorted(before + [f"more-{i:02d}.txt" for i in range(60)])
    kept = before
    for fraction in (0.3, 0.6, 0.85, 0.95, 0.99):
        run = subprocess.Popen(rag_cmd("--index", str(index), "ingest", str(first), str(more)), env=batched,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(whole * fraction)
        run.send_signal(signal.SIGKILL)
        run.wait()
        after = indexed(index)
        # what an earlier run committed stays; what is listed is whole
        assert set(kept) <= set(after) <= set(everything), fraction
        store = Store.open(index, NEW_INDEX_EMBEDDER, 384, (160, 32))  # opens, vectors and chunks agree
        assert len(store.vectors) == len(store.chunks) == sum(f.chunks for f in store.files())
        kept = after
        if after == everything:
            break
    done = subprocess.run(rag_cmd("--index", str(index), "ingest", str(first), str(more)), env=batched,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    store = Store.open(index, NEW_INDEX_EMBEDDER, 384, (160, 32))
    assert sorted(c.text for c in store.chunks.values()) == sorted(c.text for c in clean.chunks.values())
    assert [p.name for p in index.iterdir() if p.name.startswith(("gen-", ".new-"))] == [store.generation]
    listed = {s["dir"] for s in json.loads((index / store.generation / "manifest.json").read_text())["segments"]}
    assert {p.name for p in index.iterdir() if p.name.startswith("seg-")} == listed


def test_concurrent_first_questions_load_each_model_once_and_logging_survives(tmp_path):
    docs = notes(tmp_path / "docs", "gamma", 3)
    script = textwrap.dedent(f"""
        import sys, threading
        import rag
        from rag import embedder, generator
        loads = []
        for cls in (generator.LlamaGenerator, embedder.OnnxEmbedder):
            def counted(self, *a, __init=cls.__init__, __name=cls.__name__, **k):
                loads.append(__name)
                __init(self, *a, **k)
            cls.__init__ = counted
        bot = rag.Bot(rag.Settings(index_dir={str(tmp_path / 'index')!r}, model="smollm2-135m",
                                   n_threads=2, max_tokens=24))
        bot.ingest([{str(docs)!r}])
        fresh = rag.Bot(bot.settings)
        answers, errors = [], []
        def ask(q):
            try:
                answers.append(fresh.ask(q))
            except Exception as e:
                errors.append(repr(e))
        threads = [threading.Thread(target=ask, args=(f"What is the gamma code for item {{i}}?",)) for i in range(3)]
        for t in threads: t.start()
        for t in threads: t.join()
        print("loads", sorted(loads), "answers", len(answers), "errors", errors)
        print("stdout still works")
        print("stderr still works", file=sys.stderr)
        """)
    run = subprocess.run([sys.executable, "-c", script], env=env(), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "loads ['LlamaGenerator', 'OnnxEmbedder'] answers 3 errors []" in run.stdout  # a new index: onnx
    assert "stdout still works" in run.stdout and "stderr still works" in run.stderr


def test_a_30_mb_single_line_file_is_chunked_in_bounded_memory(tmp_path):
    big = tmp_path / "big.txt"
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    with open(big, "w") as fh:
        written, i = 0, 0
        while written < 30 << 20:
            piece = " ".join(words[(i + j) % 12] + str((i * 31 + j) % 5003) for j in range(40)) + " "
            fh.write(piece)
            written += len(piece)
            i += 1
    script = textwrap.dedent(f"""
        import time
        from rag.chunking import chunk_document
        from rag.embedder import load_embedder
        from rag.loaders import load_file
        count = load_embedder("all-MiniLM-L6-v2").count_tokens
        start = time.perf_counter()
        doc = load_file({str(big)!r})
        chunks = chunk_document(doc, 160, 32, count)
        assert all(doc.text[c.start:c.end] == c.text for c in chunks[:1000])
        # VmHWM: this process's peak (ru_maxrss would include the pytest process it was forked from)
        peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
        print(len(chunks), round(time.perf_counter() - start, 1), peak // 1024)
        """)
    run = subprocess.run([sys.executable, "-c", script], env=env(), capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    chunks, seconds, peak_mb = run.stdout.split()
    print(f"30 MB single line: {chunks} chunks in {seconds} s, peak RSS {peak_mb} MB")
    assert int(chunks) > 30_000 and int(peak_mb) < 1024
