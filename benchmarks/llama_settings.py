"""Prompt reading (prefill) and writing speed of the default model under llama.cpp settings and
re-quantized copies of its GGUF, on the same prompts, each from a cold cache.

    python benchmarks/llama_settings.py --index .suites/manual/index --rounds 2 [--requantize q4_0 q8_0]

Settings compared: the defaults, flash attention, n_batch/n_ubatch 128 and 1024, no mmap. With
--requantize, the GGUF is also converted (llama.cpp's own quantizer, from the Q4_K_M file, so
it is quantized twice) into --work (default /tmp), and each copy is run with the defaults.
Prints seconds to the first token, prompt tokens/s, tokens/s written and the first answers."""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rag import stages  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.generator import available_cores  # noqa: E402
from rag.models import resolve_model  # noqa: E402
from rag.pipeline import Bot  # noqa: E402

QUESTIONS = ("How do I remove an item from a dictionary and get its value?",
             "What does str.partition() return?", "What does the -O flag do?")
SETTINGS = {"defaults": {}, "flash attention": {"flash_attn": True},
            "n_batch 128": {"n_batch": 128, "n_ubatch": 128}, "n_batch 1024": {"n_batch": 1024, "n_ubatch": 1024},
            "no mmap": {"use_mmap": False}}


def requantize(source: str, kind: str, work: Path) -> str:
    import llama_cpp
    out = work / f"{Path(source).stem}-as-{kind}.gguf"
    if not out.exists():
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{kind.upper()}")
        params.allow_requantize = True
        if llama_cpp.llama_model_quantize(source.encode(), str(out).encode(), ctypes.byref(params)) != 0:
            raise SystemExit(f"llama.cpp could not quantize {source} to {kind}")
    return str(out)


def measure(path: str, extra: dict, prompts, rounds: int, max_tokens: int):
    from llama_cpp import Llama
    cores = available_cores()
    llm = Llama(model_path=path, n_ctx=4096, n_threads=cores, n_threads_batch=cores, seed=0, verbose=False, **extra)
    first_s, read, written, answers = [], [], [], []
    for _ in range(rounds):
        for messages in prompts:
            llm.reset()
            start, first, n, text = time.perf_counter(), None, 0, ""
            for part in llm.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0,
                                                   top_k=1, stream=True):
                piece = part["choices"][0]["delta"].get("content")
                if piece:
                    first, n, text = first or time.perf_counter(), n + 1, text + piece
            first_s.append(first - start)
            read.append(llm.n_tokens - n)
            written.append(n / (time.perf_counter() - first))
            answers.append(text)
    return statistics.mean(first_s), statistics.mean(read) / statistics.mean(first_s), statistics.mean(written), \
        answers[:len(prompts)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=40)
    parser.add_argument("--requantize", nargs="*", default=[], metavar="KIND", help="e.g. q4_0 q8_0")
    parser.add_argument("--work", default="/tmp", help="where re-quantized copies are written")
    args = parser.parse_args(argv)
    settings = load_settings(index_dir=args.index)
    bot = Bot(settings)
    prompts = [stages.prompt(bot.read(q), settings) for q in QUESTIONS]
    source = resolve_model(settings.model)
    runs = [(name, source, extra) for name, extra in SETTINGS.items()]
    runs += [(f"re-quantized {kind}", requantize(source, kind, Path(args.work)), {}) for kind in args.requantize]
    print("| run | first token, mean s | prompt tokens/s | written tokens/s |\n| --- | ---: | ---: | ---: |")
    answers = {}
    for name, path, extra in runs:
        first, read, written, answers[name] = measure(path, extra, prompts, args.rounds, args.max_tokens)
        print(f"| {name} | {first:.2f} | {read:.1f} | {written:.1f} |", flush=True)
    for name, texts in answers.items():
        print(f"\n{name}:")
        for text in texts:
            print("   ", " ".join(text.split())[:160])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
