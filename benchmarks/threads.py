"""Decoding and prompt reading with one thread against all cores, in one process, interleaved:
the same prompts (the compact context of a few questions over an index), each from a cold cache.

    python benchmarks/threads.py --index .suites/manual/index --rounds 3

Prints seconds to the first token (the prompt read) and tokens/s written, per thread count."""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rag import stages  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.generator import available_cores  # noqa: E402
from rag.pipeline import Bot  # noqa: E402

QUESTIONS = ("How do I remove an item from a dictionary and get its value?",
             "What does str.partition() return?")


def one(llm, messages, max_tokens: int) -> tuple[float, float]:
    """(seconds to the first token, tokens/s after it) from a cold cache."""
    llm.reset()
    start, first, n = time.perf_counter(), None, 0
    for part in llm.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0,
                                           top_k=1, stream=True):
        if part["choices"][0]["delta"].get("content"):
            first, n = first or time.perf_counter(), n + 1
    return first - start, n / (time.perf_counter() - first)


def main(argv=None) -> int:
    import llama_cpp
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--question", action="append", help="repeatable (default: two Python manual questions)")
    args = parser.parse_args(argv)
    bot = Bot(load_settings(index_dir=args.index))
    prompts = [stages.prompt(bot.read(q), bot.settings) for q in args.question or QUESTIONS]
    llm = bot.generator.llm
    counts = sorted({1, available_cores()})
    seen: dict[int, list[tuple[float, float]]] = {n: [] for n in counts}
    for _ in range(args.rounds):
        for n in counts:
            llama_cpp.llama_set_n_threads(llm.ctx, n, available_cores())  # prompt reading: all cores
            seen[n] += [one(llm, m, args.max_tokens) for m in prompts]
    print("| decoding threads | to the first token, mean s | writing, mean tokens/s | runs |\n| ---: | ---: | ---: | ---: |")
    for n, runs in seen.items():
        print(f"| {n} | {statistics.mean(r[0] for r in runs):.2f} | {statistics.mean(r[1] for r in runs):.1f} | {len(runs)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
