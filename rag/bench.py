"""`rag bench`: ingest and retrieval at 1k, 10k (real MiniLM) and 100k chunks (synthetic vectors),
side by side with plain SentenceTransformer.encode on the same chunks. Each measurement runs
in a child process, so that its peak memory (VmHWM) is its own. The corpus is generated here,
deterministically, under the output folder; nothing of it is committed.

    rag bench [--sizes 1000,10000] [--synthetic 100000] [--out reports/bench-DATE]

writes report.md, report.json and plots (PNG) to the output folder."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

CHUNKS_PER_FILE = 8
QUERIES = 60
SYLLABLES = ("ka", "lo", "mi", "ren", "tor", "vi", "sa", "pel", "dun", "ar", "is", "ob", "ne", "fu", "gra", "hol",
             "jin", "qua", "zo", "bet", "cor", "den", "lam", "mor", "pia", "ros", "tel", "ul", "yen", "wex")
COMMON = ("the", "of", "and", "a", "to", "in", "is", "was", "for", "on", "that", "with", "by", "as", "it", "from",
          "report", "year", "team", "project", "system", "plan", "price", "note", "meeting", "budget")


# ---------- the generated corpus ----------

def vocabulary(n: int = 6000, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))))
    return sorted(words)


def document(rng: random.Random, vocab: list[str], n_sentences: int) -> str:
    """Sentences of Zipf-distributed words with a few numbers, in paragraphs of four."""
    weights = [1 / (r + 1) for r in range(len(vocab))]
    sentences = []
    for i in range(n_sentences):
        words = rng.choices(vocab, weights, k=rng.randint(8, 18))
        words = [rng.choice(COMMON) if rng.random() < 0.35 else w for w in words]
        if rng.random() < 0.3:
            words.insert(rng.randint(0, len(words)), str(rng.randint(2, 9999)))
        sentence = " ".join(words)
        sentences.append(sentence[0].upper() + sentence[1:] + ".")
    return "\n".join(" ".join(sentences[i:i + 4]) for i in range(0, len(sentences), 4)) + "\n"


SENTENCES_PER_CHUNK = 4  # about 150 MiniLM tokens of this text (chunks overlap): the default chunk is 160


def generate_corpus(folder: Path, chunks: int, seed: int = 0) -> Path:
    """About `chunks` chunks of text in files of about CHUNKS_PER_FILE chunks each; the same
    files for the same arguments (files already there are kept)."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = vocabulary(seed=seed)
    for i in range(max(1, chunks // CHUNKS_PER_FILE)):
        path = folder / f"doc-{i:06d}.txt"
        if not path.exists():
            rng = random.Random(f"{seed}-{i}")
            path.write_text(document(rng, vocab, CHUNKS_PER_FILE * SENTENCES_PER_CHUNK), encoding="utf-8")
    return folder


def questions(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    vocab = vocabulary()
    return [f"What does the {rng.choice(COMMON[16:])} say about {' '.join(rng.choices(vocab[:800], k=3))}?"
            for _ in range(n)]


# ---------- children: one measurement each ----------

def peak_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    return 0.0


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / 1e6


def percentiles(ms: list[float]) -> dict:
    return {"p50": round(float(np.percentile(ms, 50)), 2), "p95": round(float(np.percentile(ms, 95)), 2)}


def _bot(index: str, backend: str):
    from dataclasses import fields

    from .config import Settings, load_settings
    from .pipeline import Bot
    backend_known = "embedder_backend" in {f.name for f in fields(Settings)}  # not in versions before it
    return Bot(load_settings(index_dir=index, **({"embedder_backend": backend} if backend_known else {})))


def child_ingest(index: str, docs: str, backend: str) -> dict:
    bot = _bot(index, backend)
    bot.embedder.embed_documents(["warm up"])  # the model loads before timing starts
    bot.store  # noqa: B018 - and the index opens (its time is the retrieve child's open_s)
    print("ready", file=sys.stderr, flush=True)
    started = time.perf_counter()
    report = bot.ingest([docs])
    seconds = time.perf_counter() - started
    mb = sum(p.stat().st_size for p in Path(docs).rglob("*.txt")) / 1e6
    return {"seconds": round(seconds, 2), "chunks": report.chunks, "files": len(report.added) + len(report.updated),
            "chunks_per_s": round(report.chunks / seconds, 1), "mb_per_s": round(mb / seconds, 3),
            "corpus_mb": round(mb, 2), "peak_mb": round(peak_mb(), 1), "embedder": bot.embedder.id}


def child_retrieve(index: str, backend: str) -> dict:
    bot = _bot(index, backend)
    bot.embedder.embed_query("warm up")
    started = time.perf_counter()
    store = bot.store
    open_s = time.perf_counter() - started
    out = {"open_s": round(open_s, 3), "chunks": len(store.chunks)}
    for mode in ("dense", "hybrid"):
        bot.retrieve("warm up", mode=mode)
        ms = []
        for q in questions(QUERIES):
            t0 = time.perf_counter()
            bot.retrieve(q, mode=mode)
            ms.append((time.perf_counter() - t0) * 1000)
        out[f"retrieve_{mode}_ms"] = percentiles(ms)
    out["peak_mb"] = round(peak_mb(), 1)
    return out


def child_encode(index: str, limit: int) -> dict:
    """Plain SentenceTransformer.encode (batch 32, as its documentation shows) on the index's chunks."""
    from sentence_transformers import SentenceTransformer

    from .config import load_settings
    from .embedder import _resolve
    s = load_settings(index_dir=index)
    texts = [c["text"] for c in _chunk_rows(Path(index))][:limit]
    model = SentenceTransformer(_resolve(s.embedder), device="cpu")
    model.encode(["warm up"])
    started = time.perf_counter()
    model.encode(texts, batch_size=32, normalize_embeddings=True)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "chunks": len(texts), "chunks_per_s": round(len(texts) / seconds, 1),
            "peak_mb": round(peak_mb(), 1)}


def _chunk_rows(index: Path):
    """The chunk rows of an index, whatever its layout (one chunks.jsonl per generation or segment)."""
    from .store import current_generation
    gen = index / current_generation(index)
    manifest = json.loads((gen / "manifest.json").read_text())
    folders = [index / s["dir"] for s in manifest.get("segments", [])] or [gen]
    for folder in folders:
        with open(folder / "chunks.jsonl", encoding="utf-8") as fh:
            for line in fh:
                yield json.loads(line)


def clustered_vectors(n: int, dim: int, seed: int = 0, clusters: int = 2000) -> np.ndarray:
    """Unit vectors around random centres (cosine to the centre about 0.7), as sentence embeddings
    are clustered by topic; uniform random vectors would be the worst case for any ANN index."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype("float32")
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = centres[rng.integers(0, clusters, n)] + rng.standard_normal((n, dim)).astype("float32") * (1 / dim ** 0.5)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def child_synthetic(index: str, n: int) -> dict:
    """A store of n chunks with generated texts and synthetic vectors: size, open time, dense
    (exact and approximate) and BM25 search, recall@10 of the approximate index, adding one file."""
    from .store import Store
    from .types import Chunk
    dim, per_file = 384, CHUNKS_PER_FILE
    vectors = clustered_vectors(n + QUERIES, dim)
    queries, vectors = vectors[n:], vectors[:n]
    queries = queries + np.random.default_rng(7).standard_normal(queries.shape).astype("float32") * 0.02
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    vocab = vocabulary()
    rng = random.Random(0)
    started = time.perf_counter()
    store = Store.open(index, "synthetic", dim, (160, 32))
    for f in range(n // per_file):
        text = document(rng, vocab, per_file * 2)
        parts = text.split("\n")
        chunks = [Chunk(id=f"{f}:{j}", source=f"/synthetic/doc-{f:06d}.txt", text=parts[j % len(parts)] or "x",
                        start=j, end=j + 1) for j in range(per_file)]
        store.add_source(chunks[0].source, f"{f:064x}", chunks, vectors[f * per_file:(f + 1) * per_file], "2026")
        if hasattr(store, "commit") and (f + 1) % 256 == 0:
            store.commit()
    store.save()
    build_s = time.perf_counter() - started
    del store
    started = time.perf_counter()
    store = Store.open(index, "synthetic", dim, (160, 32))
    open_s = time.perf_counter() - started
    out = {"chunks": len(store.chunks), "build_s": round(build_s, 1), "open_s": round(open_s, 3),
           "index_mb": round(folder_mb(Path(index)), 1)}
    exact = _exact(store)
    ms, hits, truth = [], [], []
    for q in queries:
        t0 = time.perf_counter()
        hits.append([i for i, _ in store.dense(q, 10)])
        ms.append((time.perf_counter() - t0) * 1000)
        truth.append([int(i) for i in exact.search(q.reshape(1, -1), 10)[1][0]])
    out["dense_ms"] = percentiles(ms)
    out["recall_at_10"] = round(float(np.mean([len(set(h) & set(t)) / 10 for h, t in zip(hits, truth)])), 4)
    out["dense_index"] = getattr(store, "search_kind", lambda: "exact")()
    store.lexical("warm up", 1)
    ms = []
    for q in questions(QUERIES):
        t0 = time.perf_counter()
        store.lexical(q, 50)
        ms.append((time.perf_counter() - t0) * 1000)
    out["bm25_ms"] = percentiles(ms)
    out["hybrid_ms"] = _hybrid_ms(store, queries)
    chunks = [Chunk(id=f"new:{j}", source="/synthetic/new.txt", text=f"new text {j}", start=j, end=j + 1)
              for j in range(per_file)]
    t0 = time.perf_counter()
    store.add_source(chunks[0].source, "f" * 64, chunks, clustered_vectors(per_file, dim, seed=3), "2026")
    store.save()
    out["add_one_file_s"] = round(time.perf_counter() - t0, 3)
    out["peak_mb"] = round(peak_mb(), 1)
    return out


def _hybrid_ms(store, vectors) -> dict:
    """Bot.retrieve's search with the default settings (dense and BM25 candidates, fusion, copies
    left out), each generated question with a synthetic vector: all of a hybrid retrieval but
    the question's embedding (about 2 ms)."""
    from .config import Settings
    from .pipeline import search
    settings = Settings()
    ms = []
    for vector, text in zip(vectors, questions(QUERIES)):
        t0 = time.perf_counter()
        search(store, text, vector, settings, settings.top_k, "hybrid")
        ms.append((time.perf_counter() - t0) * 1000)
    return percentiles(ms)


def _exact(store):
    import faiss
    ids = np.array(sorted(store.chunks), dtype="int64")
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(store.manifest.dim))
    index.add_with_ids(np.stack([store.vector(i) for i in ids]).astype("float32"), ids)
    return index


CHILDREN = {"ingest": child_ingest, "retrieve": child_retrieve, "encode": child_encode, "synthetic": child_synthetic}


def killed_ingest(docs: Path, index: Path, backend: str, after_s: float) -> dict:
    """An ingest killed (SIGKILL) half way: what it had committed, against what it had embedded by
    then at the rate of the whole ingest (their difference is what the kill lost)."""
    import signal
    shutil.rmtree(index, ignore_errors=True)
    proc = subprocess.Popen([sys.executable, "-m", "rag.bench", "child", "ingest", str(index), str(docs), backend],
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while proc.poll() is None and proc.stderr.readline().strip() != "ready":  # the model is loading
        pass
    started = time.perf_counter()
    time.sleep(after_s)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    from .store import files_on_disk
    kept = sum(f.chunks for f in files_on_disk(index))
    return {"killed_after_s": round(time.perf_counter() - started, 1), "chunks_kept": kept}


def _env() -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error",
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}


def run_child(kind: str, *args) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error",
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    cmd = [sys.executable, "-m", "rag.bench", "child", kind, *map(str, args)]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


# ---------- the run and its report ----------

def run(out: Path, sizes: list[int], synthetic: list[int], backend: str, encode_limit: int,
        log=lambda m: print(m, file=sys.stderr)) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    work = out / "work"
    results = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "backend": backend,
               "cpus": os.cpu_count(), "git": _git(), "real": {}, "synthetic": {}}
    for n in sizes:
        docs = generate_corpus(work / f"corpus-{n}", n)
        index = work / f"index-{n}-{backend}"
        shutil.rmtree(index, ignore_errors=True)
        log(f"{n} chunks: ingest ({backend})")
        row = {"ingest": run_child("ingest", index, docs, backend)}
        row["index_mb"] = round(folder_mb(index), 2)
        log(f"{n} chunks: open and retrieve")
        row["retrieve"] = run_child("retrieve", index, backend)
        log(f"{n} chunks: plain SentenceTransformer.encode on {min(encode_limit, row['ingest']['chunks'])} of them")
        row["plain_encode"] = run_child("encode", index, encode_limit)
        extra = docs.parent / f"extra-{n}"
        extra.mkdir(exist_ok=True)
        (extra / "added.txt").write_text(document(random.Random("extra"), vocabulary(), 2 * SENTENCES_PER_CHUNK))
        log(f"{n} chunks: add one file")
        row["add_one_file"] = run_child("ingest", index, extra, backend)
        if n == sizes[0]:
            row["killed"] = killed_ingest(docs, work / f"killed-{n}", backend, row["ingest"]["seconds"] / 2)
        results["real"][n] = row
    for n in synthetic:
        index = work / f"synthetic-{n}"
        shutil.rmtree(index, ignore_errors=True)
        log(f"{n} chunks: synthetic vectors")
        results["synthetic"][n] = run_child("synthetic", index, n)
    (out / "report.json").write_text(json.dumps(results, indent=1))
    (out / "report.md").write_text(markdown(results))
    plots(results, out)
    return results


def _git() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent).stdout.strip() or None
    except OSError:
        return None


def markdown(r: dict) -> str:
    lines = [f"# rag bench, {r['date']} ({r['git']}, {r['cpus']} CPUs, embedder backend {r['backend']})", "",
             "| chunks | ingest chunks/s | MB/s | plain encode chunks/s | index MB | open s | dense p50 / p95 ms "
             "| hybrid p50 / p95 ms | add one file s | ingest peak MB | reader peak MB |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for n, row in r["real"].items():
        i, q, e = row["ingest"], row["retrieve"], row["plain_encode"]
        lines.append(f"| {i['chunks']} | {i['chunks_per_s']} | {i['mb_per_s']} | {e['chunks_per_s']} | {row['index_mb']} "
                     f"| {q['open_s']} | {q['retrieve_dense_ms']['p50']} / {q['retrieve_dense_ms']['p95']} "
                     f"| {q['retrieve_hybrid_ms']['p50']} / {q['retrieve_hybrid_ms']['p95']} "
                     f"| {row['add_one_file']['seconds']} | {i['peak_mb']} | {q['peak_mb']} |")
    for n, row in r["real"].items():
        if "killed" in row:
            k = row["killed"]
            embedded = round(k["killed_after_s"] * row["ingest"]["chunks_per_s"])
            lines += ["", f"Ingest of {row['ingest']['chunks']} chunks killed (SIGKILL) {k['killed_after_s']} s in: "
                      f"{k['chunks_kept']} chunks kept, about {embedded} embedded by then at the whole ingest's rate."]
    if r["synthetic"]:
        lines += ["", "Synthetic vectors (clustered unit vectors, no embedding; generated texts for BM25):", "",
                  "| chunks | build s | index MB | open s | dense index | dense p50 / p95 ms | recall@10 vs exact "
                  "| BM25 p50 / p95 ms | hybrid p50 / p95 ms (no embedding) | add one file s (no embedding) | peak MB |",
                  "| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for n, s in r["synthetic"].items():
            lines.append(f"| {s['chunks']} | {s['build_s']} | {s['index_mb']} | {s['open_s']} | {s['dense_index']} "
                         f"| {s['dense_ms']['p50']} / {s['dense_ms']['p95']} | {s['recall_at_10']} "
                         f"| {s['bm25_ms']['p50']} / {s['bm25_ms']['p95']} | {_p50_p95(s.get('hybrid_ms'))} "
                         f"| {s['add_one_file_s']} | {s['peak_mb']} |")
    lines += ["", "Retrieval times are Bot.retrieve (query embedding, search, fusion), 60 generated questions. "
              "Plain encode: SentenceTransformer.encode(batch_size=32) on the same chunk texts (at most the first "
              "--encode-limit). Peak MB: VmHWM of the child process that measured it.", ""]
    return "\n".join(lines)


def _p50_p95(ms: dict | None) -> str:
    return f"{ms['p50']} / {ms['p95']}" if ms else "-"


def plots(r: dict, out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    real = list(r["real"].values())
    if real:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        labels = [str(row["ingest"]["chunks"]) for row in real]
        x = np.arange(len(labels))
        ax.bar(x - 0.2, [row["ingest"]["chunks_per_s"] for row in real], 0.4, label=f"rag ingest ({r['backend']})")
        ax.bar(x + 0.2, [row["plain_encode"]["chunks_per_s"] for row in real], 0.4, label="plain ST encode")
        ax.set_xticks(x, labels)
        ax.set_xlabel("chunks")
        ax.set_ylabel("chunks/s")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "ingest.png", dpi=110)
        plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    pts = [(row["retrieve"]["chunks"], row["retrieve"]["retrieve_dense_ms"]["p50"]) for row in real]
    if pts:
        ax.plot(*zip(*pts), "o-", label="Bot.retrieve dense p50 (real)")
        ax.plot([row["retrieve"]["chunks"] for row in real],
                [row["retrieve"]["retrieve_hybrid_ms"]["p50"] for row in real], "s-", label="hybrid p50 (real)")
    syn = list(r["synthetic"].values())
    if syn:
        ax.plot([s["chunks"] for s in syn], [s["dense_ms"]["p50"] for s in syn], "^", label="vector search p50 (synthetic)")
        ax.plot([s["chunks"] for s in syn], [s["bm25_ms"]["p50"] for s in syn], "v", label="BM25 p50 (synthetic)")
        with_hybrid = [s for s in syn if s.get("hybrid_ms")]
        ax.plot([s["chunks"] for s in with_hybrid], [s["hybrid_ms"]["p50"] for s in with_hybrid], "D",
                label="hybrid search p50, no embedding (synthetic)")
    ax.set_xscale("log")
    ax.set_xlabel("chunks")
    ax.set_ylabel("ms")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "retrieval.png", dpi=110)
    plt.close(fig)


def scifact_subset(src: Path, dst: Path, docs: int, seed: int = 0) -> Path:
    """A BEIR folder with the test queries and a corpus of every relevant abstract plus a seeded
    sample of the others, `docs` in all: a SciFact run that fits in minutes on two cores."""
    import csv
    relevant = set()
    with open(src / "qrels" / "test.tsv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            relevant.add(row["corpus-id"])
    rows = [json.loads(line) for line in open(src / "corpus.jsonl", encoding="utf-8") if line.strip()]
    others = [r for r in rows if str(r["_id"]) not in relevant]
    keep = relevant | {str(r["_id"]) for r in random.Random(seed).sample(others, max(0, docs - len(relevant)))}
    (dst / "qrels").mkdir(parents=True, exist_ok=True)
    with open(dst / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for r in rows:
            if str(r["_id"]) in keep:
                fh.write(json.dumps(r) + "\n")
    shutil.copy(src / "queries.jsonl", dst / "queries.jsonl")
    shutil.copy(src / "qrels" / "test.tsv", dst / "qrels" / "test.tsv")
    return dst


def main(argv=None) -> int:
    import argparse
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["child"]:
        kind, args = argv[1], argv[2:]
        fn = CHILDREN[kind]
        conv = {"child_synthetic": (str, int), "child_encode": (str, int)}.get(fn.__name__)
        args = [c(a) for c, a in zip(conv, args)] if conv else args
        print(json.dumps(fn(*args)))
        return 0
    p = argparse.ArgumentParser(prog="rag bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1000,10000", help="chunk counts ingested with the real embedder")
    p.add_argument("--synthetic", default="100000", help="chunk counts with synthetic vectors ('' for none)")
    p.add_argument("--backend", help="embedder backend (default: the setting)")
    p.add_argument("--encode-limit", type=int, default=2000, help="chunks for the plain-encode comparison")
    p.add_argument("--out", help="report folder (default reports/bench-DATE)")
    p.add_argument("--scifact-subset", nargs=2, metavar=("SRC", "DST"),
                   help="write a SciFact subset (relevant abstracts + a sample) for a quick rag eval --bench")
    p.add_argument("--docs", type=int, default=1500, help="abstracts in the SciFact subset")
    args = p.parse_args(argv)
    if args.scifact_subset:
        print(scifact_subset(Path(args.scifact_subset[0]), Path(args.scifact_subset[1]), args.docs))
        return 0
    from .config import load_settings
    from .embedder import backend_for
    backend = backend_for(args.backend or getattr(load_settings(), "embedder_backend", "torch"), None)
    out = Path(args.out or Path("reports") / f"bench-{datetime.now():%Y%m%d-%H%M}")
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    synthetic = [int(x) for x in args.synthetic.split(",") if x.strip()]
    run(out, sizes, synthetic, backend, args.encode_limit)
    print((out / "report.md").read_text())
    print(f"report: {out}/report.md, report.json, ingest.png, retrieval.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
