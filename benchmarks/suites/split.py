"""Assign the tune / held-out split of a suite, once.

    python benchmarks/suites/split.py NAME [FILE]      (FILE default: questions.jsonl)

Shuffles the question ids with random.Random(20261201), then, within each primary tag (the first
tag of a question), puts the first half of the shuffled ids in "tune" and the rest in "heldout".
When a tag has an odd count, the extra question goes to tune and heldout in turn (tags in
alphabetical order, tune first), so the halves differ by at most one. The split is written into
benchmarks/suites/NAME/FILE. A file that already has a split is refused: the split is
made once and never redone (held-out questions must stay unseen)."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

SEED = 20261201
HERE = Path(__file__).resolve().parent


def assign(questions: list[dict]) -> dict[str, str]:
    ids = [q["id"] for q in questions]
    random.Random(SEED).shuffle(ids)
    position = {i: n for n, i in enumerate(ids)}
    strata: dict[str, list[str]] = {}
    for q in questions:
        strata.setdefault(q["tags"][0], []).append(q["id"])
    split, extra_to_tune = {}, True
    for tag in sorted(strata):
        members = sorted(strata[tag], key=position.__getitem__)
        n_tune = len(members) // 2
        if len(members) % 2:
            n_tune += extra_to_tune
            extra_to_tune = not extra_to_tune
        for n, qid in enumerate(members):
            split[qid] = "tune" if n < n_tune else "heldout"
    return split


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print(__doc__)
        return 2
    path = HERE / argv[0] / (argv[1] if len(argv) == 2 else "questions.jsonl")
    questions = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if any(q.get("split") for q in questions):
        print(f"{path} is already split; the split is made once and not redone", file=sys.stderr)
        return 1
    split = assign(questions)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for q in questions:
            f.write(json.dumps({**q, "split": split[q["id"]]}, ensure_ascii=False) + "\n")
    print(f"{path}: {sum(v == 'tune' for v in split.values())} tune, "
          f"{sum(v == 'heldout' for v in split.values())} heldout")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
