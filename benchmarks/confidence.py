"""Does the model's own confidence tell a right answer from a wrong one? Runs `rag eval` with the
probability llama.cpp gave each token it wrote recorded, then sets the confidence of each final
answer (its words, not its [n] markers) against the eval's verdict.

    python benchmarks/confidence.py run reports/chat-tune-conf -- \
        --index .suites/chat/index eval benchmarks/suites/chat/questions.jsonl --split tune
    python benchmarks/confidence.py table reports/chat-tune-conf reports/manual-tune-conf ...

`run` writes REPORT/ (the eval's report, the same answers as without it: temperature 0) and
REPORT/token_probs.jsonl. `table` prints, per feature, the AUROC of right answers against the
rest, and what a refusal below each threshold would cost and gain, pooled over the reports."""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

FEATURES = ("first", "mean", "min")


def record(log: Path) -> None:
    """Wrap LlamaGenerator.stream: each call appends its pieces and their probabilities to `log`."""
    import numpy as np

    from rag.generator import LlamaGenerator

    plain = LlamaGenerator.stream

    def stream(self, messages, max_tokens=384, temperature=0.0):
        probs, last = [], []

        def chosen(input_ids, scores):  # called before each token: the last one's probability
            if last:
                probs.append(float(last.pop()[input_ids[-1]]))
            e = np.exp(scores - scores.max())
            last.append(e / e.sum())
            return scores

        create = self.llm.create_chat_completion
        self.llm.create_chat_completion = lambda **kw: create(**kw, logits_processor=[chosen])
        try:
            pieces = list(plain(self, messages, max_tokens, temperature))
        finally:
            self.llm.create_chat_completion = create
        with log.open("a") as f:
            f.write(json.dumps({"text": "".join(pieces), "pieces": pieces, "probs": probs}) + "\n")
        yield from pieces

    LlamaGenerator.stream = stream


def features(pieces: list[str], probs: list[float]) -> dict | None:
    """Confidence of an answer's words: the first one's, the geometric mean, the least."""
    words, marker = [], False
    for piece, p in zip(pieces, probs):
        marker = marker or "[" in piece
        if not marker and re.search(r"\w", piece):
            words.append(p)
        marker = marker and "]" not in piece
    if not words:
        return None
    mean = math.exp(sum(math.log(max(p, 1e-9)) for p in words) / len(words))
    return {"first": words[0], "mean": mean, "min": min(words)}


def rows(report: Path) -> list[tuple[str, dict]]:
    """(right / wrong / unanswerable, features) of each answer the report did not refuse."""
    logged = {}
    for line in (report / "token_probs.jsonl").open():
        r = json.loads(line)
        logged[r["text"]] = r
    out = []
    for line in (report / "cases.jsonl").open():
        case = json.loads(line)
        r = logged.get(case["raw_text"])
        f = features(r["pieces"], r["probs"]) if r and not case["refused"] else None
        if f:
            kind = ("unanswerable" if not case["answerable"] else
                    "right" if case["verdict"].get("lenient") == 1 else "wrong")
            out.append((kind, f))
    return out


def auroc(pos: list[float], neg: list[float]) -> float:
    pairs = [(a > b) + 0.5 * (a == b) for a in pos for b in neg]
    return sum(pairs) / len(pairs) if pairs else float("nan")


def table(reports: list[str]) -> None:
    data = [row for report in reports for row in rows(Path(report))]
    print({k: sum(1 for kind, _ in data if kind == k) for k in ("right", "wrong", "unanswerable")})
    for name in FEATURES:
        right = [f[name] for kind, f in data if kind == "right"]
        print(f"{name}: AUROC right against the rest {auroc(right, [f[name] for k, f in data if k != 'right']):.2f}, "
              f"against unanswerable {auroc(right, [f[name] for k, f in data if k == 'unanswerable']):.2f}")
        for t in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
            below = {k: sum(1 for kind, f in data if kind == k and f[name] < t)
                     for k in ("right", "wrong", "unanswerable")}
            print(f"  refused below {t}: right lost {below['right']}, wrong withheld {below['wrong']}, "
                  f"unanswerable refused {below['unanswerable']}")


def main(argv: list[str]) -> int:
    if argv[:1] == ["table"]:
        table(argv[1:])
        return 0
    if argv[:1] != ["run"] or "--" not in argv:
        print(__doc__)
        return 2
    report, rest = Path(argv[1]), argv[argv.index("--") + 1:]
    report.mkdir(parents=True, exist_ok=True)
    log = report / "token_probs.jsonl"
    log.unlink(missing_ok=True)
    record(log)
    from rag.cli import main as rag
    return rag(rest + ["--out", str(report)])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
