"""Concurrent users, two generators, one run: CLIENTS clients each ask QUESTIONS streamed questions
at once through `rag serve`'s HTTP API on 127.0.0.1, first with the model in process (answers
queued behind its lock), then with the model behind llama-cpp-python's OpenAI-compatible server
(model setting openai:URL; no lock in the app). Prints total time, latencies, and whether every
answer was complete and about its own client's document.

    python benchmarks/load.py --clients 8 --questions 3 --model smollm2-135m

Each client has its own document ("Locker 3 belongs to the blue team and holds crate 1003.")
and asks about it, so an answer that read another client's passages shows."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import httpx  # noqa: E402

import rag  # noqa: E402
from live_server import LiveServer  # noqa: E402
from model_server import ModelServer  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.models import resolve_model  # noqa: E402
from rag.server import build_app  # noqa: E402

TEAMS = ["red", "blue", "green", "gold"]


def question(client: int, turn: int) -> str:
    return f"Which team owns locker {client}?" if turn % 2 else f"Which crate does locker {client} hold?"


def ask(url: str, client: int, turns: int) -> list[dict]:
    out = []
    with httpx.Client(base_url=url, timeout=900) as http:
        for turn in range(turns):
            start, first, events = time.perf_counter(), None, []
            with http.stream("POST", "/v1/chat/completions", json={
                    "stream": True, "messages": [{"role": "user", "content": question(client, turn)}]}) as r:
                for line in r.iter_lines():
                    if not line.startswith("data: "):
                        continue
                    payload = line[len("data: "):]
                    event = payload if payload == "[DONE]" else json.loads(payload)
                    if first is None and isinstance(event, dict) and event.get("choices") and \
                            event["choices"][0]["delta"].get("content"):
                        first = time.perf_counter()
                    events.append(event)
            final = events[-2] if len(events) >= 2 and isinstance(events[-2], dict) else {}
            out.append({"client": client, "latency": time.perf_counter() - start,
                        "first": (first or time.perf_counter()) - start,
                        "complete": events[-1:] == ["[DONE]"] and final.get("choices", [{}])[0].get("finish_reason")
                        == "stop" and not any("error" in e for e in events if isinstance(e, dict)),
                        "own": bool(final.get("passages")) and final["passages"][0]["name"] == f"locker-{client}.txt",
                        "raw": final.get("text", "")})
    return out


def run(bot: rag.Bot, clients: int, turns: int) -> tuple[float, list[dict]]:
    bot.ask(question(0, 0))  # the model loaded and warm before the clock starts
    with LiveServer(build_app(bot)) as url, ThreadPoolExecutor(clients) as pool:
        start = time.perf_counter()
        results = [r for f in [pool.submit(ask, url, i, turns) for i in range(clients)] for r in f.result()]
        return time.perf_counter() - start, results


def row(name: str, total: float, results: list[dict]) -> str:
    latencies = sorted(r["latency"] for r in results)
    firsts = sorted(r["first"] for r in results)
    ok = sum(r["complete"] and r["own"] for r in results)
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    return (f"| {name} | {total:.1f} | {statistics.median(firsts):.1f} | {statistics.median(latencies):.1f} | "
            f"{p95:.1f} | {ok}/{len(results)} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--questions", type=int, default=3, help="questions per client, one after the other")
    parser.add_argument("--model", default="smollm2-135m", help="a preset or .gguf path, for both generators")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads of the model, in both cases")
    parser.add_argument("--max-tokens", type=int, default=96)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        docs.mkdir()
        for i in range(args.clients):
            (docs / f"locker-{i}.txt").write_text(f"Locker {i} belongs to the {TEAMS[i % 4]} team and holds "
                                                  f"crate number {1000 + i}.")
        settings = Settings(index_dir=str(Path(tmp) / "index"), model=args.model, n_threads=args.threads,
                            max_tokens=args.max_tokens)
        local = rag.Bot(settings)
        local.ingest([docs])
        print(f"{args.clients} clients x {args.questions} streamed questions, {args.model}, {args.threads} threads, "
              f"max_tokens {args.max_tokens}, {os.cpu_count()} CPUs\n")
        print("| generator | total s | first token s (median) | answer s (median) | answer s (p95) | complete and own |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |", flush=True)
        answers = {}
        total, answers["local"] = run(local, args.clients, args.questions)
        print(row("in process (one lock)", total, answers["local"]), flush=True)
        with ModelServer(resolve_model(args.model), Path(tmp) / "server.log", alias=args.model,
                         n_threads=args.threads) as url:
            served = rag.Bot(settings.replace(model=f"openai:{url}"), embedder=local.embedder)
            total, answers["served"] = run(served, args.clients, args.questions)
            print(row("llama-cpp-python server (1 slot)", total, answers["served"]), flush=True)
    key = lambda r: (r["client"], r["raw"])  # noqa: E731
    same = sorted(map(key, answers["local"])) == sorted(map(key, answers["served"]))
    print(f"\nthe same answers from both generators: {'yes' if same else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
