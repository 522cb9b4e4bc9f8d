"""Concurrent users, three generators, one run: CLIENTS clients each ask QUESTIONS streamed
questions at once through `rag serve`'s HTTP API on 127.0.0.1, first with the model in process
(answers queued behind its lock), then with the model behind llama-cpp-python's OpenAI-compatible
server (model setting openai:URL; no lock in the app, but that server runs one request at a time),
then behind llama.cpp's own llama-server with --parallel N slots (continuous batching), if its
binary is found (--llama-server, else $RAG_LLAMA_SERVER; build it with
benchmarks/build_llama_server.sh); --rounds 2 runs them all again in reverse order. Prints and
writes (--out: JSON, a markdown table, the servers' logs) total time, CPU time (of the app and of
the model server: the work done, whatever share of the CPU other jobs left), latencies, and
whether every answer was complete and about its own client's document.

    python benchmarks/load.py --clients 8 --questions 3 --model smollm2-135m
    RAG_LLAMA_SERVER=~/.cache/rag/llama-server/bin/llama-server \
        python benchmarks/load.py --clients 8 --questions 3 --model qwen2.5-coder-1.5b --rounds 2

Each client has its own document ("Locker 3 belongs to the blue team and holds crate 1003.")
and asks about it, so an answer that read another client's passages shows. Traffic stays on
127.0.0.1 and is bounded: at most 32 clients x 10 questions, and --time-limit seconds for the
whole run, after which the servers are stopped and the run ends with what it has."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import httpx  # noqa: E402

import rag  # noqa: E402
from live_server import LiveServer  # noqa: E402
from llama_server import LlamaServer, SlotWatcher, find_binary, version  # noqa: E402
from model_server import ModelServer  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.models import resolve_model  # noqa: E402
from rag.server import build_app  # noqa: E402

TEAMS = ["red", "blue", "green", "gold"]
MAX_CLIENTS, MAX_QUESTIONS = 32, 10
HEADER = ("| generator | total s | CPU s | first token s (median) | answer s (median) | answer s (p95) "
          "| complete and own | tokens in / out (mean) | load average (1 min) |\n"
          "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")


def question(client: int, turn: int) -> str:
    return f"Which team owns locker {client}?" if turn % 2 else f"Which crate does locker {client} hold?"


def ask(url: str, client: int, turns: int, deadline: float) -> list[dict]:
    out = []
    with httpx.Client(base_url=url, timeout=900) as http:
        for turn in range(turns):
            if time.monotonic() > deadline:  # past the time limit: no new question
                out.append({"client": client, "turn": turn, "latency": None, "first": None,
                            "complete": False, "own": False, "raw": "", "skipped": True})
                continue
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
            out.append({"client": client, "turn": turn, "latency": time.perf_counter() - start,
                        "first": (first or time.perf_counter()) - start,
                        "complete": events[-1:] == ["[DONE]"] and final.get("choices", [{}])[0].get("finish_reason")
                        == "stop" and not any("error" in e for e in events if isinstance(e, dict)),
                        "own": bool(final.get("passages")) and final["passages"][0]["name"] == f"locker-{client}.txt",
                        "raw": final.get("text", ""),
                        "prompt_tokens": (final.get("timings") or {}).get("prompt_tokens"),
                        "completion_tokens": (final.get("timings") or {}).get("completion_tokens")})
    return out


class LoadSampler:
    """The machine's 1-minute load average every few seconds while a generator runs (others may
    share the CPU: the figures only mean something next to it)."""

    def __init__(self, every: float = 5.0):
        self.every, self.samples, self.stopped = every, [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stopped.is_set():
            self.samples.append(os.getloadavg()[0])
            self.stopped.wait(self.every)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join(timeout=self.every + 1)


def cpu_seconds(server=None) -> float:
    """CPU time used so far by this process (the app, and the model when in process) and by the
    model server's process: the work done, whatever share of the CPU others left us."""
    used = time.process_time()
    if server is not None and server.process is not None:
        fields = Path(f"/proc/{server.process.pid}/stat").read_text().rpartition(")")[2].split()
        used += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return used


def run(bot: rag.Bot, clients: int, turns: int, deadline: float, server=None, watch_slots: bool = False) -> dict:
    bot.ask(question(0, 0))  # the model loaded and warm before the clock starts
    with LiveServer(build_app(bot)) as url, ThreadPoolExecutor(clients) as pool, LoadSampler() as load, \
            (SlotWatcher(server) if watch_slots else nullcontext()) as watcher:
        start, cpu = time.perf_counter(), cpu_seconds(server)
        results = [r for f in [pool.submit(ask, url, i, turns, deadline) for i in range(clients)] for r in f.result()]
        total, cpu = time.perf_counter() - start, cpu_seconds(server) - cpu
    return {"total_s": total, "cpu_s": cpu, "answers": results, "load_average": load.samples} | \
        ({"slots_busy_at_once_max": watcher.most} if watcher else {})


def summary(name: str, figures: dict) -> dict:
    done = [r for r in figures["answers"] if not r.get("skipped")]
    latencies = sorted(r["latency"] for r in done) or [float("nan")]
    firsts = sorted(r["first"] for r in done) or [float("nan")]
    load = figures["load_average"] or [float("nan")]
    return {"generator": name, "total_s": round(figures["total_s"], 1), "cpu_s": round(figures["cpu_s"], 1),
            "first_token_p50_s": round(statistics.median(firsts), 1),
            "answer_p50_s": round(statistics.median(latencies), 1),
            "answer_p95_s": round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 1),
            "complete_and_own": sum(r["complete"] and r["own"] for r in figures["answers"]),
            "answers": len(figures["answers"]), "skipped": len(figures["answers"]) - len(done),
            "load_average_min": round(min(load), 1), "load_average_max": round(max(load), 1),
            "prompt_tokens_mean": mean([r.get("prompt_tokens") for r in done]),
            "completion_tokens_mean": mean([r.get("completion_tokens") for r in done])} | \
        {k: v for k, v in figures.items() if k == "slots_busy_at_once_max"}


def mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.mean(values), 1) if values else None


def row(s: dict) -> str:
    return (f"| {s['generator']} | {s['total_s']:.1f} | {s['cpu_s']:.0f} | {s['first_token_p50_s']:.1f} | "
            f"{s['answer_p50_s']:.1f} | {s['answer_p95_s']:.1f} | {s['complete_and_own']}/{s['answers']} | "
            f"{s['prompt_tokens_mean'] or 0:.0f} / {s['completion_tokens_mean'] or 0:.0f} | "
            f"{s['load_average_min']:.1f}–{s['load_average_max']:.1f} |")


def same_answers(a: list[dict], b: list[dict]) -> int:
    """How many (client, turn) answers are word for word the same from two generators."""
    first = {(r["client"], r["turn"]): r["raw"] for r in a if not r.get("skipped")}
    return sum(first.get((r["client"], r["turn"])) == r["raw"] for r in b if not r.get("skipped"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--questions", type=int, default=3, help="questions per client, one after the other")
    parser.add_argument("--model", default="smollm2-135m", help="a preset or .gguf path, for all generators")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads of the model, in every case")
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--llama-server", help="llama.cpp's llama-server binary (default: $RAG_LLAMA_SERVER); "
                                               "without one its row is left out")
    parser.add_argument("--parallel", type=int, default=4, help="llama-server's slots")
    parser.add_argument("--ctx-per-slot", type=int, default=4096,
                        help="context of each slot (llama-server gets -c parallel x this), as n_ctx in process")
    parser.add_argument("--only", default="local,served,slots", help="which generators, of local,served,slots")
    parser.add_argument("--time-limit", type=float, default=2400.0,
                        help="seconds for the whole run; then no new question starts, and 300 s later it stops")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the generators this many times, in reverse order every other time")
    parser.add_argument("--out", default="reports/load", help="folder for load.json, load.md and the servers' logs")
    args = parser.parse_args(argv)
    if not (1 <= args.clients <= MAX_CLIENTS and 1 <= args.questions <= MAX_QUESTIONS and 1 <= args.parallel <= 16
            and 1 <= args.rounds <= 4):
        parser.error(f"at most {MAX_CLIENTS} clients, {MAX_QUESTIONS} questions each, 16 slots and 4 rounds")
    wanted = set(args.only.split(","))
    binary = find_binary(args.llama_server)
    if "slots" in wanted and binary is None:
        print("no llama-server binary (--llama-server or $RAG_LLAMA_SERVER; benchmarks/build_llama_server.sh "
              "builds one): its row is left out\n", file=sys.stderr)
        wanted.discard("slots")
    deadline = time.monotonic() + args.time_limit
    servers: list = []

    def hard_stop():
        print(f"\nthe time limit ({args.time_limit:.0f} s + 300 s) is over: stopping", file=sys.stderr, flush=True)
        for server in servers:
            if server.process and server.process.poll() is None:
                server.process.kill()
        os._exit(3)
    watchdog = threading.Timer(args.time_limit + 300, hard_stop)
    watchdog.daemon = True
    watchdog.start()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "clients": args.clients,
              "questions": args.questions, "model": args.model, "threads": args.threads,
              "max_tokens": args.max_tokens, "cpus": os.cpu_count(), "parallel": args.parallel,
              "ctx_per_slot": args.ctx_per_slot, "llama_server": version(binary) if binary else None,
              "load_average_at_start": os.getloadavg(), "generators": [], "answers": {}}
    title = (f"{args.clients} clients x {args.questions} streamed questions, {args.model}, {args.threads} threads, "
             f"max_tokens {args.max_tokens}, {os.cpu_count()} CPUs; load average at start "
             f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(title + "\n\n" + HEADER, flush=True)

    def record(key: str, name: str, figures: dict):
        name += f", round {key.partition('#')[2]}" if "#" in key else ""
        report["generators"].append(summary(name, figures) | {"key": key})
        report["answers"][key] = figures["answers"]
        print(row(report["generators"][-1]), flush=True)
        write(out, title, report)

    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        docs.mkdir()
        for i in range(args.clients):
            (docs / f"locker-{i}.txt").write_text(f"Locker {i} belongs to the {TEAMS[i % 4]} team and holds "
                                                  f"crate number {1000 + i}.")
        settings = Settings(index_dir=str(Path(tmp) / "index"), model=args.model, n_threads=args.threads,
                            max_tokens=args.max_tokens, n_ctx=args.ctx_per_slot)
        local = rag.Bot(settings)
        local.ingest([docs])
        # a queued request may wait long for its first byte: the per-piece timeout must not end it
        remote = settings.replace(openai_timeout=900.0)

        def in_process(key):
            record(key, "in process (one lock)", run(local, args.clients, args.questions, deadline))

        def served(key):
            log = out / f"{key.replace('#', '-')}.log"
            server = ModelServer(resolve_model(args.model), log, alias=args.model, n_threads=args.threads,
                                 n_ctx=args.ctx_per_slot)
            servers.append(server)
            with server as url:
                bot = rag.Bot(remote.replace(model=f"openai:{url}"), embedder=local.embedder)
                record(key, "llama-cpp-python server (1 at a time)",
                       run(bot, args.clients, args.questions, deadline, server=server))

        def slots(key):
            log = out / f"{key.replace('#', '-')}.log"
            server = LlamaServer(binary, resolve_model(args.model), log, alias=args.model, parallel=args.parallel,
                                 ctx_per_slot=args.ctx_per_slot, n_threads=args.threads)
            servers.append(server)
            with server as url:
                bot = rag.Bot(remote.replace(model=f"openai:{url}"), embedder=local.embedder)
                record(key, f"llama-server, {args.parallel} slots (continuous batching)",
                       run(bot, args.clients, args.questions, deadline, server=server, watch_slots=True))
            print(f"(llama-server slots seen busy at once: at most "
                  f"{report['generators'][-1]['slots_busy_at_once_max']})", flush=True)
        order = [(key, go) for key, go in [("local", in_process), ("served", served), ("slots", slots)]
                 if key in wanted]
        for round_ in range(args.rounds):  # the order reversed every other round: a load that changes shows
            for key, go in order if round_ % 2 == 0 else order[::-1]:
                go(key if round_ == 0 else f"{key}#{round_ + 1}")
    watchdog.cancel()
    answers = report["answers"]
    if "local" in answers:
        report["same_answers_as_in_process"] = {k: same_answers(answers["local"], v) for k, v in answers.items()
                                                if k != "local"}
        for key, n in report["same_answers_as_in_process"].items():
            print(f"\nanswers word for word the same as in process, {key}: {n}/{len(answers[key])}", end="")
        print()
    report["load_average_at_end"] = os.getloadavg()
    write(out, title, report)
    print(f"\nwritten: {out / 'load.json'}, {out / 'load.md'}")
    return 0


def write(out: Path, title: str, report: dict) -> None:
    (out / "load.json").write_text(json.dumps(report, indent=1))
    notes = [f"- {s['generator']}: at most {s['slots_busy_at_once_max']} slots seen busy at once"
             for s in report["generators"] if "slots_busy_at_once_max" in s]
    notes += [f"- answers word for word the same as in process, {key}: {n}/{len(report['answers'][key])}"
              for key, n in report.get("same_answers_as_in_process", {}).items()]
    lines = [title, "", HEADER] + [row(s) for s in report["generators"]] + ([""] + notes if notes else [])
    (out / "load.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
