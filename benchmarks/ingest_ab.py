"""Ingest chunks/s of two revisions of this project, on the same folder, interleaved.

    PYTHONPATH=. python benchmarks/ingest_ab.py --before 6ab7378 --after HEAD \\
        --docs ../shared/corpus --docs .suites/chat/docs [--runs 3] [--backend torch] [--out reports/ingest-ab]

Each revision is exported (git archive) to a temporary folder; each run is `rag.bench child
ingest` of one revision (run in its folder, with defaults: no rag.toml) into a new index, in its own process (the model is loaded and warmed up
before the clock starts, as in `rag bench`), alternating before/after so that both meet the same
machine load. Writes report.json and report.md to --out."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def export(rev: str, into: Path) -> str:
    sha = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", sha, "rag", "prompts"], cwd=ROOT, capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return sha


def one_run(tree: Path, docs: Path, index: Path, backend: str) -> dict:
    shutil.rmtree(index, ignore_errors=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", "PYTHONPATH": str(tree)}
    # run in the tree: `python -m` puts the working folder first on sys.path
    run = subprocess.run([sys.executable, "-m", "rag.bench", "child", "ingest", str(index), str(docs.resolve()),
                          backend], env=env, cwd=tree, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-3000:])
    return json.loads(run.stdout.strip().splitlines()[-1])


def load() -> float:
    return os.getloadavg()[0]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", required=True)
    p.add_argument("--after", default="HEAD")
    p.add_argument("--docs", action="append", required=True, help="a folder to ingest (repeatable)")
    p.add_argument("--runs", type=int, default=3, help="runs of each revision per folder")
    p.add_argument("--backend", default="torch")
    p.add_argument("--out", default=f"reports/ingest-ab-{datetime.now():%Y%m%d-%H%M}")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "backend": args.backend,
               "cpus": os.cpu_count(), "folders": {}}
    with tempfile.TemporaryDirectory(prefix="ingest-ab-") as tmp:
        trees = {}
        for label, rev in (("before", args.before), ("after", args.after)):
            results[label] = export(rev, Path(tmp) / label)
            trees[label] = Path(tmp) / label
        for docs in map(Path, args.docs):
            rows = {"before": [], "after": []}
            for i in range(args.runs):
                order = ("before", "after") if i % 2 == 0 else ("after", "before")
                for label in order:
                    started_load = load()
                    row = one_run(trees[label], docs, Path(tmp) / "index", args.backend)
                    row["load"] = round((started_load + load()) / 2, 1)
                    rows[label].append(row)
                    print(f"{docs} {label} run {i + 1}: {row['chunks_per_s']} chunks/s, {row['seconds']} s, "
                          f"load {row['load']}", file=sys.stderr, flush=True)
            results["folders"][str(docs)] = rows
    (out / "report.json").write_text(json.dumps(results, indent=1))
    (out / "report.md").write_text(markdown(results))
    print(markdown(results))
    return 0


def markdown(r: dict) -> str:
    lines = [f"# ingest, {r['before']} (before) against {r['after']} (after), {r['date']}, {r['cpus']} CPUs, "
             f"embedder {r['backend']}", "",
             "| folder | files | chunks | before chunks/s (runs) | after chunks/s (runs) | after / before, medians | load |",
             "| --- | ---: | ---: | --- | --- | ---: | --- |"]
    for folder, rows in r["folders"].items():
        b, a = ([x["chunks_per_s"] for x in rows[k]] for k in ("before", "after"))
        loads = [x["load"] for x in rows["before"] + rows["after"]]
        lines.append(f"| {folder} | {rows['after'][0]['files']} | {rows['after'][0]['chunks']} | "
                     f"{statistics.median(b)} ({', '.join(map(str, b))}) | {statistics.median(a)} "
                     f"({', '.join(map(str, a))}) | {statistics.median(a) / statistics.median(b):.3f} | "
                     f"{min(loads)}–{max(loads)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
