"""Time to first visible answer token, and to the finished answer, in a real browser.

Starts the real app (`rag serve`'s FastAPI + Gradio app over the default index/) in-process on a
free port, opens it in Debian's Chromium through Playwright, and for each question: opens a fresh
chat, clicks Ask, and times (wall clock, in this process) until the answer bubble shows its first
words and until the Sources panel shows the finished answer. A screenshot is saved after each.

Questions: the first N answerable, non-follow-up questions of rag/eval/data/dev.jsonl. Before
timing, the model is loaded and one more question (the next one in the file) is asked, untimed,
through the browser, so q1 is not a warm-up (unless --no-warmup, where q1 includes model loading).

Run (default model, from the project folder):
    HF_HUB_OFFLINE=1 .venv/bin/python tests/browser_ttft.py
    HF_HUB_OFFLINE=1 .venv/bin/python tests/browser_ttft.py --model smollm2-135m --questions 2 --out /tmp/bt
Other settings come from rag.toml / RAG_* variables as usual (e.g. RAG_N_THREADS=2).
Writes OUT/browser_ttft.json and OUT/q1.png, OUT/q2.png, ...
"""

import argparse
import json
import os
import socket
import statistics
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import uvicorn  # noqa: E402

import rag  # noqa: E402
from rag.server import build_app  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "rag" / "eval" / "data" / "dev.jsonl"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
QUESTION = "#rag-question textarea"
BOTS = "#rag-chat .message.bot"
LAST_ANSWER = BOTS + " >> nth=-1"
# JS: the newest bot bubble (beyond the `before` there were) shows words, not the waiting line
FIRST_WORDS = """([sel, before]) => {
    const b = document.querySelectorAll(sel);
    if (b.length <= before) return false;
    const t = b[b.length - 1].innerText.trim();
    return t.length > 0 && !t.includes('Searching your documents');
}"""
# the final update fills the Sources panel (or shows an error in the bubble)
DONE = "#rag-sources .rag-sources h3, #rag-sources .rag-refused, #rag-chat .message.bot :text('⚠️')"


def questions(n: int) -> list[str]:
    rows = [json.loads(line) for line in DEV.read_text().splitlines() if line.strip()]
    return [r["question"] for r in rows if r.get("answerable") and not r.get("history")][:n]


def start_server(app) -> tuple[uvicorn.Server, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=1))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def ask_in_browser(browser, url: str, question: str, timeout_ms: int) -> dict:
    """A fresh chat (no history, so no follow-up rewriting); click Ask and time the answer."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector(QUESTION)
    page.fill(QUESTION, question)
    before = page.locator(BOTS).count()
    t0 = time.perf_counter()
    page.click("#rag-ask")
    page.wait_for_function(FIRST_WORDS, arg=[BOTS, before], polling="raf", timeout=timeout_ms)
    first = time.perf_counter() - t0
    first_text = page.locator(LAST_ANSWER).inner_text().strip()  # read after timing: may have grown a bit
    page.wait_for_selector(DONE, timeout=timeout_ms)
    full = time.perf_counter() - t0
    timing = page.locator("#rag-sources .rag-timing")
    return {"question": question, "first_token_s": round(first, 3), "full_answer_s": round(full, 3),
            "first_text": first_text, "answer": page.locator(LAST_ANSWER).inner_text().strip(),
            "refused": page.locator("#rag-sources .rag-refused").count() > 0,
            "app_timing": timing.first.inner_text() if timing.count() else None, "page": page}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="model preset, .gguf path or hf:REPO/FILE (default: the project default)")
    p.add_argument("--questions", type=int, default=5, help="timed questions (default 5)")
    p.add_argument("--out", default=str(ROOT / "reports" / "browser-ttft"), help="output folder")
    p.add_argument("--no-warmup", action="store_true", help="time q1 cold (includes loading the model)")
    p.add_argument("--timeout", type=float, default=600, help="seconds to wait for one answer")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    todo = questions(args.questions + 1)
    timed, spare = todo[:args.questions], todo[args.questions:]

    bot = rag.open(model=args.model)  # None keeps the default (rag.toml, RAG_MODEL or the built-in)
    print(f"model {bot.settings.model} · index {bot.settings.index_dir} · threads {bot.settings.n_threads or 'all'}")
    from playwright.sync_api import sync_playwright
    server, url = start_server(build_app(bot))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        warmup = None
        if not args.no_warmup:
            bot.generator  # noqa: B018  (load the model, as `rag serve` does before serving)
            warmup = spare[0] if spare else timed[0]
            print(f"warm-up (untimed): {warmup}")
            ask_in_browser(browser, url, warmup, int(args.timeout * 1000))["page"].close()
        rows = []
        for i, q in enumerate(timed, start=1):
            row = ask_in_browser(browser, url, q, int(args.timeout * 1000))
            row.pop("page").screenshot(path=out / f"q{i}.png", full_page=True)
            rows.append(row)
            print(f"q{i}: first {row['first_token_s']:.2f} s, full {row['full_answer_s']:.2f} s")
        browser.close()
    server.should_exit = True

    p50_first = statistics.median(r["first_token_s"] for r in rows)
    p50_full = statistics.median(r["full_answer_s"] for r in rows)
    note = (f"q1 was NOT a warm-up: model loaded and one untimed question asked first ({warmup!r})"
            if warmup else "no warm-up: q1 includes loading the model")
    print(f"\n{'#':<3} {'question':<60} {'first s':>8} {'full s':>7}  answer (first 80 chars)")
    for i, r in enumerate(rows, start=1):
        answer = " ".join(r["answer"].split())[:80]
        print(f"q{i:<2} {r['question'][:60]:<60} {r['first_token_s']:8.2f} {r['full_answer_s']:7.2f}  {answer}")
    print(f"{'p50':<64} {p50_first:8.2f} {p50_full:7.2f}\n{note}")
    report = {"model": bot.settings.model, "n_threads": bot.settings.n_threads, "warmup_question": warmup,
              "q1_is_warmup": False, "note": note, "p50_first_token_s": p50_first, "p50_full_answer_s": p50_full,
              "questions": rows}
    (out / "browser_ttft.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out / 'browser_ttft.json'} and {len(rows)} screenshots in {out}")


if __name__ == "__main__":
    main()
