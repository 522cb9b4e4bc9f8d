"""What the model's first word weighs, over the very prompt it read for each question of saved eval
reports (the passages it was shown, rebuilt from the index).

    python benchmarks/first_word_odds.py yesno reports/chat-tune-conf:.suites/chat/index ...
    python benchmarks/first_word_odds.py refusal reports/chat-tune-conf:.suites/chat/index ...
    python benchmarks/first_word_odds.py answered reports/chat-tune-yesno-full:.suites/chat/index ...

`yesno`: for each question tagged yes-no, P(Yes), P(No) and No's weight against Yes's, then the
weights sorted per gold answer: the figures behind `rag.yesno.NO_WEIGHT`.
`refusal`: for every question the model was asked (no follow-ups), the probability of the refusal
sentence's first word ("I"), and how well it tells unanswerable questions from answerable ones,
and wrong or unanswerable answers from right ones (AUROC), per report and pooled.
`answered`: for every answer the model wrote (not refused, no second look), the model is asked after
its own answer whether the passages state it for exactly what was asked, in each wording of
`CHECKS`; P(No) against P(Yes), and how well it tells wrong or unanswerable answers from right ones.
Loads the default model; a few seconds a question."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from confidence import auroc  # noqa: E402
from replay import saved_turn  # noqa: E402

from rag import stages  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.eval.metrics import lenient_match  # noqa: E402
from rag.generator import load_generator  # noqa: E402
from rag.pipeline import Bot  # noqa: E402


def cases(specs: list[str]):
    """(generator, settings, bot, case) for each case of each REPORT:INDEX, the model loaded once."""
    generator = None
    for spec in specs:
        report, index = spec.split(":", 1)
        bot = Bot(load_settings(index_dir=index))
        s = bot.settings
        generator = generator or load_generator(s.model, s.n_ctx, s.n_threads, s.seed)
        for line in open(Path(report) / "cases.jsonl", encoding="utf-8"):
            case = json.loads(line)
            if case["passages"] and not case["history"] and case.get("refusal_stage") != "retrieve":
                yield report, generator, s, bot, case


def yesno(specs: list[str]) -> None:
    weights: dict[str, list[float]] = {}
    for _, generator, s, bot, case in cases(specs):
        if "yes-no" not in case["tags"]:
            continue
        odds = generator.first_word_odds(stages.prompt(saved_turn(bot, case), s), ("Yes", "No"))
        gold = (case["answers"] or ["-"])[0]
        weight = odds["No"] / odds["Yes"] if odds["Yes"] else float("inf")
        weights.setdefault(gold, []).append(weight)
        print(f"{gold:4} P(Yes) {odds['Yes']:.3f} P(No) {odds['No']:.3f} No/Yes {weight:.3f} | {case['question']}")
    for gold, found in sorted(weights.items()):
        print(f"gold {gold} ({len(found)}): " + ", ".join(f"{w:.3f}" for w in sorted(found)))


def refusal(specs: list[str]) -> None:
    rows = []
    for report, generator, s, bot, case in cases(specs):
        first = stages.refusal(s).split()[0]
        p = generator.first_word_odds(stages.prompt(saved_turn(bot, case), s), (first,))[first]
        right = (not case["refused"] and case["answerable"]
                 and lenient_match(case["answer"], case["answers"]) == 1.0)
        rows.append((report, p, case["answerable"], case["refused"], right))
        print(f"{p:.3f} {'answerable' if case['answerable'] else 'unanswerable'} "
              f"{'right' if right else 'refused' if case['refused'] else 'wrong'} | {case['question']}")
    for report in sorted({r[0] for r in rows}) + ["pooled"]:
        mine = [r for r in rows if report in ("pooled", r[0])]
        unanswerable = [r[1] for r in mine if not r[2]]
        answerable = [r[1] for r in mine if r[2]]
        bad = [r[1] for r in mine if not r[3] and not r[4]]  # answered, and not right
        right = [r[1] for r in mine if r[4]]
        print(f"{report}: AUROC unanswerable vs answerable {auroc(unanswerable, answerable):.2f} "
              f"({len(unanswerable)} / {len(answerable)}); answered wrong or unanswerable vs right "
              f"{auroc(bad, right):.2f} ({len(bad)} / {len(right)})")


CHECKS = (
    "Is that answer stated in the passages, for exactly what the question asks? Answer Yes or No.",
    "Check your answer: does a passage say it about exactly what the question asks, the same person, "
    "thing, place and time? Answer Yes or No.",
    "Do the passages really answer this question? Answer Yes or No.",
)


def answered(specs: list[str]) -> None:
    rows = []
    for report, generator, s, bot, case in cases(specs):
        if case["refused"] or case["second_look"]:
            continue
        messages = stages.prompt(saved_turn(bot, case), s) + [{"role": "assistant", "content": case["raw_text"]}]
        weights = []
        for check in CHECKS:
            odds = generator.first_word_odds(messages + [{"role": "user", "content": check}], ("Yes", "No"))
            weights.append(odds["No"] / max(odds["Yes"], 1e-9))
        right = case["answerable"] and lenient_match(case["answer"], case["answers"]) == 1.0
        kind = "right" if right else "wrong" if case["answerable"] else "unanswerable"
        rows.append((report, weights, kind))
        print(" ".join(f"{w:8.3f}" for w in weights), f"{kind:12} | {case['question'][:70]} | {case['answer'][:60]!r}",
              flush=True)
    for report in sorted({r[0] for r in rows}) + ["pooled"]:
        mine = [r for r in rows if report in ("pooled", r[0])]
        figures = []
        for i in range(len(CHECKS)):
            bad = [r[1][i] for r in mine if r[2] != "right"]
            good = [r[1][i] for r in mine if r[2] == "right"]
            unans = [r[1][i] for r in mine if r[2] == "unanswerable"]
            figures.append(f"wording {i + 1}: bad vs right {auroc(bad, good):.2f}, unanswerable vs right "
                           f"{auroc(unans, good):.2f}")
        counts = {k: sum(r[2] == k for r in mine) for k in ("right", "wrong", "unanswerable")}
        print(f"{report} {counts}: " + "; ".join(figures))


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("yesno", "refusal", "answered") or any(":" not in a for a in argv[1:]):
        print(__doc__)
        return 2
    {"yesno": yesno, "refusal": refusal, "answered": answered}[argv[0]](argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
