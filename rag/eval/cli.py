"""`rag eval`: a question set over the current index, a public benchmark, or a comparison.

    rag eval questions.jsonl [--index DIR] [--out reports/NAME] [--limit N] [--split tune|heldout] [--tag TAG]
    rag eval --bench scifact [--data DIR] [--retriever dense|bm25|hybrid]  (DIR: bench_data/scifact)
    rag eval --bench squad2 [--data DIR] --sample 200 --seed 0
    rag eval compare reports/A reports/B"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from ..errors import RagError
from .report import compare, summary_lines

DEFAULT_DATA = {"scifact": "scifact", "squad2": "squad-v2-dev-subset"}  # folders in settings.bench_data
USAGE = ("usage: rag eval QUESTIONS.jsonl | rag eval --bench scifact|squad2 [--data DIR] | "
         "rag eval compare REPORT_A REPORT_B")


def default_out(name: str) -> Path:
    return Path("reports") / f"{name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def set_name(path) -> str:
    """A question set's name: its file stem, or its folder for suites/NAME/questions.jsonl."""
    path = Path(path)
    return path.parent.name if path.stem == "questions" and path.parent.name else path.stem


def _data(args, bot_factory) -> Path:
    data = Path(args.data) if args.data else Path(bot_factory().settings.bench_data) / DEFAULT_DATA[args.bench]
    if not data.exists():
        raise RagError(f"Benchmark data not found at {data}: pass --data DIR (or set bench_data)")
    return data


def _finish(report, out) -> int:
    folder = report.save(out)
    print("\n".join(summary_lines(report.to_dict())))
    errors = sum(1 for c in report.cases if c.get("error"))
    if errors:
        first = next(c["error"] for c in report.cases if c.get("error"))
        print(f"warning: {errors} questions failed, e.g. {first}", file=sys.stderr)
    print(f"report written to {folder}/report.md")
    if report.partial:
        print("stopped early: the report is partial", file=sys.stderr)
        return 130
    return 0


def run_compare(args) -> int:
    if len(args.args) != 3:
        raise RagError("usage: rag eval compare REPORT_A REPORT_B")
    table = compare(args.args[1], args.args[2])
    print(table, end="")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(table, encoding="utf-8")
    return 0


def run(bot_factory, args) -> int:
    """Entry point of `rag eval`; bot_factory(**setting_changes) builds a Bot."""
    from . import bench
    from .harness import evaluate

    positional = list(args.args or [])
    if positional and positional[0] == "compare":
        return run_compare(args)
    if args.bench == "scifact":
        if positional:
            raise RagError("--bench scifact takes no question set")
        retriever = getattr(args, "retriever", None) or "dense"
        if retriever not in ("dense", "bm25", "hybrid"):
            raise RagError(f"Unknown retriever '{retriever}': use dense, bm25 or hybrid")
        report = bench.scifact(bot_factory, _data(args, bot_factory), retriever=retriever, limit=args.limit,
                               seed=args.seed)
        return _finish(report, args.out or default_out(f"scifact-{retriever}"))
    if args.bench == "squad2":
        if positional:
            raise RagError("--bench squad2 takes no question set")
        report = bench.squad2(bot_factory, _data(args, bot_factory), sample=args.sample or 200, seed=args.seed,
                              limit=args.limit)
        return _finish(report, args.out or default_out("squad2"))
    if len(positional) != 1:
        raise RagError(USAGE)
    from .cases import load_cases, select_split, select_tag
    split, tag = getattr(args, "split", None), getattr(args, "tag", None)
    cases = select_tag(select_split(load_cases(positional[0]), split), tag)[:args.limit]
    name = set_name(positional[0]) + (f"-{split}" if split else "") + (f"-{tag}" if tag else "")
    bot = bot_factory()
    if not bot.documents():
        raise RagError(f"The index at {bot.settings.index_dir} is empty: rag ingest PATH first (or pass --index DIR)")
    report = evaluate(bot, cases, seed=args.seed, progress=True, name=name, split=split)
    if report.info.get("unknown_sources"):
        print(f"warning: gold sources found in no indexed chunk: {', '.join(report.info['unknown_sources'])}",
              file=sys.stderr)
    return _finish(report, args.out or default_out(name))
