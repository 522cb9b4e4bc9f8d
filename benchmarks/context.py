"""Does the context keep the answer? For each question of a question set, over its index: is a gold
document among the top 5 retrieved (hit@5), and is a gold answer in the passages the model would read
(answer_in_passages), for context variants given as settings. No model runs.

    python benchmarks/context.py benchmarks/suites/chat/questions.jsonl --index .suites/chat/index \
        --split tune --variant context_tokens=320 --variant context_tokens=480 --variant compact=false

Yes/no questions are left out (their gold is "Yes" or "No", not a span of the text)."""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rag.config import load_settings  # noqa: E402
from rag.eval.cases import load_cases, matches, select_split  # noqa: E402
from rag.eval.metrics import YES_NO, contains_answer, normalize_answer  # noqa: E402
from rag.pipeline import Bot  # noqa: E402


def variant(text: str) -> dict:
    changes = dict(part.split("=", 1) for part in text.split(",") if part)
    return {"rewrite": "false", **changes}


def measure(bot: Bot, cases) -> tuple[float, float, float, int, float]:
    """(hit@5, answer in the retrieved chunks, answer in passages, questions, mean context tokens)
    over answerable span questions. The answer in the retrieved chunks is what a context built
    from them can keep at most."""
    hit, retrieved, kept, tokens, n = 0, 0, 0, 0, 0
    for case in cases:
        if not case.answerable or not case.answers or normalize_answer(case.answers[0]) in YES_NO:
            continue
        turn = bot.read(case.question, case.history)
        n += 1
        hit += any(matches(h.chunk, src) for h in turn.hits[:5] for src in case.sources)
        retrieved += _holds(turn.hits, case.answers)
        kept += _holds(turn.passages, case.answers)
        tokens += sum(bot.embedder.count_tokens(h.chunk.text) for h in turn.passages)
    return hit / max(n, 1), retrieved / max(n, 1), kept / max(n, 1), n, tokens / max(n, 1)


def _holds(hits, answers) -> bool:
    return bool(max((contains_answer(h.chunk.text, answers) or 0 for h in hits), default=0))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions")
    parser.add_argument("--index", required=True)
    parser.add_argument("--split")
    parser.add_argument("--variant", action="append", default=[],
                        help="settings as KEY=VALUE[,KEY=VALUE]; repeatable (default: the defaults)")
    args = parser.parse_args(argv)
    cases = load_cases(args.questions)
    if args.split:
        cases = select_split(cases, args.split)
    print("| variant | hit@5 | answer in retrieved | answer in passages | gap | context tokens | n |\n"
          "| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for text in args.variant or [""]:
        bot = Bot(load_settings(index_dir=args.index, **variant(text)))
        hit, retrieved, kept, n, tokens = measure(bot, cases)
        print(f"| {text or 'defaults'} | {hit:.3f} | {retrieved:.3f} | {kept:.3f} | {hit - kept:+.3f} | {tokens:.0f} | {n} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
