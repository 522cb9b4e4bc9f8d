"""The ingest's reader thread, measured from inside one process with one loaded embedder.

    PYTHONPATH=. python benchmarks/ingest_reader.py FOLDER [--rounds 3]

Ingests FOLDER into new indexes, alternating the reader thread (rag.ingest.Reader, as committed)
with the same reading done synchronously in the embedding thread (as before the reader), and
for the threaded runs times how long the reader was busy and how long the embedding thread
waited for it (what is left of reading on the critical path). Prints one JSON line a run and a
summary; nothing is written."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rag  # noqa: E402
import rag.ingest as ing  # noqa: E402
from rag.config import load_settings  # noqa: E402

Threaded = ing.Reader
busy, waited = [0.0], [0.0]


class Timed(Threaded):
    def _read(self, path):
        started = time.perf_counter()
        try:
            return super()._read(path)
        finally:
            busy[0] += time.perf_counter() - started

    def next(self):
        started = time.perf_counter()
        try:
            return super().next()
        finally:
            waited[0] += time.perf_counter() - started


class Sync(Threaded):
    """The same reading, in the caller's thread, one file when asked (no thread)."""

    def __init__(self, files, known, chunk, ahead):  # noqa: D107 - no thread is started
        self.files, self.known, self.chunk, self._stopped = iter(files), known, chunk, False

    def next(self):
        return self._read(next(self.files))

    def close(self):
        pass


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tmp = Path(tempfile.mkdtemp(prefix="ingest-reader-"))
    rows = {"sync": [], "thread": []}
    try:
        rag.Bot(load_settings(index_dir=str(tmp / "warm"))).embedder.embed_documents(["warm up"])
        for i in range(args.rounds):
            for kind in ("sync", "thread") if i % 2 == 0 else ("thread", "sync"):
                ing.Reader = Sync if kind == "sync" else Timed
                busy[0] = waited[0] = 0.0
                shutil.rmtree(tmp / "index", ignore_errors=True)
                bot = rag.Bot(load_settings(index_dir=str(tmp / "index")))
                bot.store  # noqa: B018 - opened before the clock starts
                started = time.perf_counter()
                report = bot.ingest([args.folder])
                seconds = time.perf_counter() - started
                row = {"kind": kind, "chunks": report.chunks, "seconds": round(seconds, 2),
                       "chunks_per_s": round(report.chunks / seconds, 2), "load": round(os.getloadavg()[0], 1)}
                if kind == "thread":
                    row.update(reader_busy_s=round(busy[0], 2), embedding_waited_s=round(waited[0], 2))
                rows[kind].append(row)
                print(json.dumps(row), flush=True)
    finally:
        ing.Reader = Threaded
        shutil.rmtree(tmp, ignore_errors=True)
    for kind, runs in rows.items():
        print(f"{kind}: median {statistics.median(r['chunks_per_s'] for r in runs)} chunks/s "
              f"({', '.join(str(r['chunks_per_s']) for r in runs)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
