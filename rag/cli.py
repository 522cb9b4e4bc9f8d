"""The `rag` command: ingest, ask, chat, docs, remove, serve, eval."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path

from . import followup
from .config import load_settings
from .errors import RagError
from .types import page_label

# flag -> setting; each is also a RAG_* variable and a key in rag.toml
SETTING_FLAGS = {
    "--index": ("index_dir", "index folder (default: index/ in the current folder)"),
    "--model": ("model", "model preset (qwen2.5-coder-1.5b, qwen2.5-coder-0.5b, smollm2-135m; fake for tests), "
                         "a .gguf path, or hf:REPO/FILE"),
    "--embedder": ("embedder", "sentence-transformers model name or path (default all-MiniLM-L6-v2; "
                               "fake for tests)"),
    "--embedder-backend": ("embedder_backend", "auto (default: onnx-int8 for a new index, else the one the "
                                               "index was built with), torch, or onnx-int8: the same model "
                                               "exported here to ONNX with int8 weights (about three times as fast)"),
    "--vector-store": ("vector_store", "faiss (default: files in the index folder) or qdrant"),
    "--qdrant-url": ("qdrant_url", "with --vector-store qdrant: the server's URL (default: embedded in the "
                                   "index folder)"),
    "--top-k": ("top_k", "passages retrieved per question"),
    "--retriever": ("retriever", "hybrid (default), dense or bm25; --bench scifact defaults to dense"),
    "--threads": ("n_threads", "CPU threads for generation (0 = all)"),
    "--ctx": ("n_ctx", "model context size in tokens"),
    "--temperature": ("temperature", "sampling temperature (0 = deterministic)"),
    "--max-tokens": ("max_tokens", "longest answer in tokens"),
}


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a flag given before the command is not reset by the command's own parser
    common.add_argument("--config", default=argparse.SUPPRESS,
                        help="TOML file of settings (default: ./rag.toml if present)")
    for flag, (dest, help_) in SETTING_FLAGS.items():
        common.add_argument(flag, dest=dest, default=argparse.SUPPRESS, help=help_)

    p = argparse.ArgumentParser(
        prog="rag", parents=[common],
        description="Ask questions about your own documents, answered by a local model with citations.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.dedent("""\
            examples:
              rag ingest ~/notes report.pdf      add or update documents (unchanged files are skipped)
              rag ask "What did Meta plan to spend on capex in 2025?"
              rag chat                           multi-turn chat in the terminal
              rag serve                          chat in the browser on http://127.0.0.1:7860
              rag docs                           what is indexed
              rag eval questions.jsonl           score the system on a question set

            Settings come from defaults < rag.toml < RAG_* environment variables < flags,
            e.g. RAG_MODEL=smollm2-135m or --model ./my-model.gguf."""))
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("ingest", parents=[common], help="add or update files and folders in the index")
    s.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (.txt .md .html .pdf .docx .pptx .epub .csv .xlsx .eml .mbox)")

    s = sub.add_parser("ask", parents=[common], help="answer one question, then list the sources")
    s.add_argument("question")
    s.add_argument("--json", action="store_true", help="print the Answer as JSON")

    s = sub.add_parser("chat", parents=[common], help="multi-turn chat in the terminal (answers stream)")
    s.add_argument("--ingest", metavar="PATH", nargs="*", help="ingest these first (incremental)")

    sub.add_parser("docs", parents=[common], help="list indexed documents, chunk counts and model ids")

    s = sub.add_parser("remove", parents=[common], help="remove documents from the index")
    s.add_argument("sources", nargs="+", metavar="FILE", help="path or file name as listed by `rag docs`")

    s = sub.add_parser("serve", parents=[common], help="the browser chat and HTTP API on one port")
    s.add_argument("--ingest", metavar="PATH", nargs="*", help="ingest these first (incremental)")
    s.add_argument("--host", help="address to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (default 7860)")
    s.add_argument("--allow-remote", action="store_true",
                   help="required to bind an address other than localhost; then a password and an API key "
                        "are required too")
    s.add_argument("--password", help="password for the browser chat (user 'rag'); or RAG_PASSWORD")
    s.add_argument("--api-key", dest="api_key", help="key for the HTTP API (Authorization: Bearer KEY); "
                                                     "or RAG_API_KEY")
    s.add_argument("--insecure-no-auth", action="store_true",
                   help="with --allow-remote: serve with no password and no API key")

    s = sub.add_parser("eval", parents=[common], help="score the system on a question set or benchmark",
                       description="rag eval QUESTIONS.jsonl | rag eval --bench NAME --data DIR | "
                                   "rag eval compare REPORT_A REPORT_B")
    s.add_argument("args", nargs="*", metavar="ARG", help="QUESTIONS.jsonl, or: compare A B")
    s.add_argument("--bench", choices=["scifact", "squad2"], help="a public benchmark instead of a question set")
    s.add_argument("--data", help="benchmark data folder")
    s.add_argument("--out", help="report folder (default reports/NAME-DATE)")
    s.add_argument("--sample", type=int, help="questions to sample (squad2)")
    s.add_argument("--seed", type=int, default=0, help="sampling and bootstrap seed")
    s.add_argument("--limit", type=int, help="only the first N questions")
    s.add_argument("--split", help="only the questions of this split: tune or heldout")
    s.add_argument("--tag", help="only the questions with this tag (yes-no, when, list, ...)")

    sub.add_parser("bench", add_help=False, help="ingest and retrieval speed at 1k-100k chunks, with plots "
                                                  "(rag bench --help)")
    return p


def _settings(args):
    overrides = {dest: getattr(args, dest, None) for dest, _ in SETTING_FLAGS.values()}
    for key in ("host", "port", "password", "api_key"):
        overrides[key] = getattr(args, key, None)
    return load_settings(getattr(args, "config", None), **overrides)


def _print_sources(answer, out=sys.stdout):
    if not answer.citations:
        return
    print("\nSources:", file=out)
    for c in answer.citations:
        page = f"{page_label(c.source, c.page)}, " if c.page is not None else ""
        dated = f", dated {c.date}" if c.date else ""
        print(f"  [{c.n}] {c.name} ({page}chars {c.start}-{c.end}{dated})", file=out)
        print(textwrap.indent(textwrap.fill(" ".join(c.text.split()), 96), "      "), file=out)


def _print_notices(answer) -> None:
    for notice in answer.notices:
        print(f"note: {notice}", file=sys.stderr)


def _timing_line(answer) -> str:
    t = answer.timings
    first = f"{t.first_token_s:.1f}s" if t.first_token_s is not None else "-"
    return f"(retrieval {t.read_s * 1000:.0f} ms, first token {first}, total {t.total_s:.1f}s)"


def cmd_ingest(bot, args):
    report = bot.ingest(args.paths, progress=True)
    print(report.summary())
    return 0 if (report.added or report.updated or report.unchanged or report.removed) else 1


def cmd_ask(bot, args):
    bot.generator  # a bad model setting is an error even when retrieval alone would refuse
    answer = bot.ask(args.question)
    if args.json:
        import json
        print(json.dumps(answer.to_dict(), indent=1, ensure_ascii=False))
        return 0
    print(answer.text)
    _print_sources(answer)
    _print_notices(answer)
    print("\n" + _timing_line(answer), file=sys.stderr)
    return 0


def cmd_chat(bot, args):
    if args.ingest:
        print(bot.ingest(args.ingest, progress=True).summary())
    bot.generator
    status = bot.status()
    print(f"{status['documents']} documents, {status['chunks']} chunks; model {status['model']}. "
          "Ask a question (empty line or Ctrl-D to quit).")
    history: list[tuple[str, str]] = []
    while True:
        try:
            question = input("\n> ").strip()
        except EOFError:
            print()
            return 0
        if not question:
            return 0
        answer, draft = None, []
        try:
            for part in bot.stream(question, history=history[-followup.HISTORY_TURNS:]):
                if isinstance(part, str):
                    draft.append(part)
                    print(part, end="", flush=True)
                else:
                    answer = part
        except KeyboardInterrupt:
            print("\n(stopped)")
            continue
        print()
        if " ".join(answer.text.split()) != " ".join("".join(draft).split()):
            # verification cut the draft, withheld it, or a second look answered instead
            print(f"\nChecked against the passages:\n{answer.text}")
        _print_sources(answer)
        _print_notices(answer)
        print(_timing_line(answer), file=sys.stderr)
        history.append((question, answer.text))


def cmd_docs(bot, args):
    files = bot.documents()
    s = bot.settings
    from .stores import indexed_chunking
    tokens, overlap = indexed_chunking(s)
    print(f"index {Path(s.index_dir).resolve()}: embedder {s.embedder}, chunks of {tokens} tokens with "
          f"{overlap} overlap; model {s.model}")
    if not files:
        print("no documents indexed yet: rag ingest PATH")
    for f in files:
        print(f"{f.chunks:5d} chunks  {f.added}  {f.source}")
    return 0


def cmd_remove(bot, args):
    missing = [s for s in args.sources if not bot.remove(s)]
    for s in missing:
        print(f"not indexed (see rag docs): {s}", file=sys.stderr)
    return 1 if missing else 0


def cmd_serve(bot, args):
    from .server import check_exposure, serve
    check_exposure(bot.settings, args.allow_remote, args.insecure_no_auth)  # before a long ingest
    if args.ingest:
        print(bot.ingest(args.ingest, progress=True).summary())
    return serve(bot, allow_remote=args.allow_remote, insecure_no_auth=args.insecure_no_auth)


def cmd_eval(bot_factory, args):
    from .eval.cli import run
    return run(bot_factory, args)


def main(argv=None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        from .bench import main as bench
        return bench(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    try:
        settings = _settings(args)
        from .pipeline import Bot
        if args.command == "eval":
            return cmd_eval(lambda **kw: Bot(settings.replace(**kw)), args)
        bot = Bot(settings)
        return globals()[f"cmd_{args.command}"](bot, args) or 0
    except RagError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; what was committed is kept: run the command again to carry on", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
