"""How much weight does the model give "No" against "Yes" as its first word, for each yes/no
question of saved eval reports, over the very prompt it read then? The figures behind
`rag.yesno.NO_WEIGHT`.

    python benchmarks/yesno_odds.py reports/chat-tune-conf:.suites/chat/index \
        reports/manual-tune-lists:.suites/manual/index ...

Prints, per question: the gold answer's first word, P(Yes), P(No) and No's weight against Yes's;
then the weights sorted, per gold answer. Loads the default model (a few seconds a question)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from replay import saved_turn  # noqa: E402

from rag import stages  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.generator import load_generator  # noqa: E402
from rag.pipeline import Bot  # noqa: E402


def main(argv: list[str]) -> int:
    if not argv or any(":" not in a for a in argv):
        print(__doc__)
        return 2
    weights: dict[str, list[float]] = {}
    generator = None
    for spec in argv:
        report, index = spec.split(":", 1)
        bot = Bot(load_settings(index_dir=index))
        s = bot.settings
        generator = generator or load_generator(s.model, s.n_ctx, s.n_threads, s.seed)
        for line in open(Path(report) / "cases.jsonl", encoding="utf-8"):
            case = json.loads(line)
            if "yes-no" not in case["tags"] or case["history"] or not case["passages"]:
                continue
            odds = generator.first_word_odds(stages.prompt(saved_turn(bot, case), s), ("Yes", "No"))
            gold = (case["answers"] or ["-"])[0]
            weight = odds["No"] / odds["Yes"] if odds["Yes"] else float("inf")
            weights.setdefault(gold, []).append(weight)
            print(f"{gold:4} P(Yes) {odds['Yes']:.3f} P(No) {odds['No']:.3f} No/Yes {weight:.3f} | {case['question']}")
    for gold, found in sorted(weights.items()):
        print(f"gold {gold} ({len(found)}): " + ", ".join(f"{w:.3f}" for w in sorted(found)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
