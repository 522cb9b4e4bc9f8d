"""Replay the grounding of a saved eval report with the current code: the model's drafts and the
passages it read are taken from the report, verification and the answer checks run again. No
model runs, so a change to the checks is measured on every suite in seconds.

    python benchmarks/replay.py reports/chat-tune-base --index .suites/chat/index [--without CHECK]

Prints, per report: right answers (lenient) and correct refusals before (as saved) and now, and the
questions whose outcome changed. A second look is not replayed: it keeps its saved outcome, as does a
yes/no question of a report that does not hold the model's odds of "Yes" and "No", which its
reading takes."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rag import stages, verify  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.eval.metrics import lenient_match  # noqa: E402
from rag.pipeline import Bot  # noqa: E402
from rag.types import Chunk, Hit  # noqa: E402

SPAN = re.compile(r"^(?P<base>.*):(?P<start>\d+)-(?P<end>\d+)(?:@(?P<a>\d+)-(?P<b>\d+))?$")


def passage(store, row: dict) -> Hit:
    """The passage a report names by chunk id (a sub-span "ID@a-b" of a stored chunk)."""
    m = SPAN.match(row["chunk_id"])
    base = store_chunk(store, f"{m['base']}:{m['start']}-{m['end']}")
    a, b = (int(m["a"]), int(m["b"])) if m["a"] else (0, len(base.text))
    chunk = replace(base, id=row["chunk_id"], text=base.text[a:b], start=base.start + a, end=base.start + b)
    return Hit(chunk=chunk, score=row.get("score", 0.0), rank=row["n"] if "n" in row else row["rank"])


def store_chunk(store, chunk_id: str) -> Chunk:
    if not hasattr(store, "_by_id"):
        store._by_id = {c.id: c for c in store.chunks.values()}
    return store._by_id[chunk_id]


def verdict(case: dict, text: str, refused: bool) -> str:
    if not case["answerable"]:
        return "right" if refused else "wrong"
    if refused:
        return "refused"
    return "right" if lenient_match(text, case["answers"]) else "wrong"


def replay(bot: Bot, cases: list[dict]):
    for case in cases:
        # a yes/no reading also takes the model's odds of "Yes" and "No", which older reports lack
        if (case.get("error") or not case["raw_text"].strip() or case.get("second_look")
                or (bot.settings.verify and verify.is_yes_no(case["query"]) and "odds" not in case)):
            yield case, verdict(case, case["answer"], case["refused"]), None
            continue
        answer = stages.check(saved_turn(bot, case), case["raw_text"], bot.settings)
        yield case, verdict(case, case["answer"], case["refused"]), answer


def saved_turn(bot: Bot, case: dict) -> stages.Turn:
    """The turn a report's case was answered from, as the check stage reads it: the passages the
    model read (also taken as the hits), their documents, and the comparison its query asks."""
    hits = tuple(passage(bot.store, p) for p in case["passages"])
    return stages.Turn(question=case["question"], query=case["query"], compared=stages.comparison_of(case["query"]),
                       hits=hits, passages=hits, odds=case.get("odds"),
                       documents={h.chunk.source: bot.store.source_text(h.chunk.source) for h in hits})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", help="a report folder of rag eval (with cases.jsonl)")
    parser.add_argument("--index", required=True, help="the index the report was made on")
    parser.add_argument("--show", choices=["changed", "all", "none"], default="changed")
    parser.add_argument("--without", action="append", default=[], metavar="CHECK",
                        help="leave out an answer check (a name in rag.verify.ANSWER_CHECKS); repeatable")
    args = parser.parse_args(argv)
    verify.ANSWER_CHECKS = tuple(c for c in verify.ANSWER_CHECKS if c.name not in args.without)
    cases = [json.loads(line) for line in open(Path(args.report) / "cases.jsonl", encoding="utf-8")]
    bot = Bot(load_settings(index_dir=args.index))
    reasons = Counter()
    before, after = {True: Counter(), False: Counter()}, {True: Counter(), False: Counter()}  # by answerable
    for case, was, answer in replay(bot, cases):
        now = was if answer is None else verdict(case, answer.text, answer.refused)
        before[case["answerable"]][was] += 1
        after[case["answerable"]][now] += 1
        if answer is not None and answer.refused:
            reasons[(answer.refusal_reason, "answerable" if case["answerable"] else "unanswerable")] += 1
        if args.show == "all" or (args.show == "changed" and now != was):
            shown = answer.text if answer is not None else case["answer"]
            print(f"{case['id']}: {was} -> {now} | {case['question']} | {shown[:100]!r}")
    print(args.report)
    for name, counts in (("before", before), ("now", after)):
        a, u = counts[True], counts[False]
        print(f"  {name}: answerable right {a['right']}/{sum(a.values())}, wrong {a['wrong']}; "
              f"correct refusals {u['right']}/{sum(u.values())}")
    for (reason, kind), n in sorted(reasons.items()):
        print(f"  refused by {reason or '(model)'} on {kind}: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
