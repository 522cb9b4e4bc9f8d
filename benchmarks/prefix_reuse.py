"""Does a question's answer depend on what the model read before it? For the first questions of a
question file, the model's first-token logits over the question's prompt, read cold and read
again after each other question's prompt (its cached prefix reused), compared to the last bit.

    python benchmarks/prefix_reuse.py --index .suites/dev/index rag/eval/data/dev.jsonl --questions 12

Each row is one earlier prompt: the prefix reused, and the largest difference of a logit from the
cold read, both as llama.cpp reuses a prefix by itself (any length) and as `LlamaGenerator.resume_at`
does (rounded down to a multiple of `rag.generator.ALIGN`). Loads the default model (or --model)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    import numpy as np

    import rag
    from rag import stages
    from rag.config import load_settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("questions", help="a question file (JSON lines with a 'question' field)")
    parser.add_argument("--index", required=True)
    parser.add_argument("--model", default=None)
    parser.add_argument("--questions", dest="count", type=int, default=12, help="how many questions to read")
    args = parser.parse_args()
    settings = load_settings(index_dir=args.index, **({"model": args.model} if args.model else {}))
    bot = rag.Bot(settings)
    gen = bot.generator
    lines = Path(args.questions).read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()][:args.count]
    prompts = [stages.prompt(bot.read(q), settings) for q in questions]

    def logits(messages, aligned: bool):
        got = []

        def keep(ids, scores):
            if not got:
                got.append(np.array(scores, dtype="float64"))
            return scores
        tokens = gen.prompt_tokens(messages)
        reused = gen.resume_at(tokens) if aligned else gen.cached_prefix(tokens)
        gen.llm.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0, top_k=1,
                                       logits_processor=[keep])
        return got[0], reused

    target = prompts[0]
    print(f"{questions[0]!r}, {len(gen.prompt_tokens(target))} prompt tokens\n")
    print("| read before it | as llama.cpp reuses: prefix | max logit difference | aligned: prefix | "
          "max logit difference |")
    print("| --- | ---: | ---: | ---: | ---: |")
    gen.reset()
    cold, _ = logits(target, aligned=False)
    for question, other in zip(questions[1:], prompts[1:]):
        row = [question[:60]]
        for aligned in (False, True):
            gen.reset()
            logits(other, aligned)
            after, reused = logits(target, aligned)
            row += [str(reused), f"{float(np.abs(after - cold).max()):.3f}"]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
