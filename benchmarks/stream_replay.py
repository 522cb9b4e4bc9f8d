"""How the checked stream behaves on real drafts: each saved draft of an eval report is streamed
word by word through rag.streaming.CheckedText with the current verification, as Bot.events
does. No model runs.

    python benchmarks/stream_replay.py /work/main/reports/chat-tune-after --index /work/main/.suites/chat/index

Prints, per report: drafts replayed; answers whose streamed pieces add up to the final text;
answers that needed a Correction (and why); and how far into the draft (share of its words) the
first checked text was sent, for answers that were not refused."""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from replay import saved_turn  # noqa: E402
from rag import stages  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.pipeline import Bot  # noqa: E402
from rag.streaming import CheckedText, Correction  # noqa: E402


def stream_one(bot: Bot, case: dict):
    """(final Answer, the pieces sent, the Correction or None, share of the draft read at the first piece)."""
    turn = saved_turn(bot, case)

    def finish(raw):
        return stages.check(turn, raw, bot.settings)
    checked = CheckedText(len(turn.passages), finish, hold=bool(turn.compared))
    words = re.findall(r"\S+\s*", case["raw_text"])
    sent, first = [], None
    for i, piece in enumerate(words, start=1):
        if text := checked.feed(piece):
            sent.append(text)
            first = first or i / len(words)
    final = finish(case["raw_text"])
    rest = checked.end(final.text)
    correction = rest if isinstance(rest, Correction) else None
    if rest and correction is None:
        sent.append(rest)
        first = first or 1.0
    return final, sent, correction, first


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", help="report folders of rag eval (with cases.jsonl)")
    parser.add_argument("--index", required=True, help="the index the reports were made on")
    args = parser.parse_args(argv)
    bot = Bot(load_settings(index_dir=args.index))
    for report in args.reports:
        cases = [json.loads(line) for line in open(Path(report) / "cases.jsonl", encoding="utf-8")]
        tally, why, firsts = Counter(), Counter(), []
        for case in cases:
            if case.get("error") or not case["raw_text"].strip():
                continue
            try:
                final, sent, correction, first = stream_one(bot, case)
            except KeyError:  # a passage of a report made on another index
                tally["not in this index"] += 1
                continue
            tally["replayed"] += 1
            if correction is None:
                tally["pieces add up"] += 1
                assert "".join(sent) == final.text
            else:
                tally["corrected"] += 1
                why[final.refusal_reason or "text changed"] += 1
                print(f"  correction {case['id']}: sent {''.join(sent)!r} -> {final.text!r}")
            if not final.refused and first is not None:
                firsts.append(first)
                tally["streamed before the end"] += first < 1.0
        print(f"{report}: {dict(tally)}; corrections by reason {dict(why)}")
        if firsts:
            print(f"  first checked text after {statistics.median(firsts):.0%} of the draft (median), "
                  f"answers sent only at the end: {sum(f == 1.0 for f in firsts)}/{len(firsts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
