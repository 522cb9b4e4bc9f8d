"""How much of a question's prompt a draft of it would have let the model read in advance.

For each question of a suite half (no follow-ups), the prompt the model reads for the whole
question is compared, token by token, with the prompt for the question less its last 1, 2 and 3
words (what a chat could have read while the user typed). It prints, per draft, the median of
the tokens still to read after the question is sent (the prompt less the prefix the two share),
and how many questions would have had 40 or fewer left; beside it, the same with no useful draft
(the prompt of an unrelated question: only the fixed instructions are shared). No model runs:
the GGUF is opened for its tokenizer only.

Run (from the project folder):
    PYTHONPATH=. python benchmarks/draft_prefix.py chat tune
"""

import argparse
import statistics

import rag
from rag import stages
from rag.eval.cases import load_cases, select_split
from rag.generator import LlamaGenerator, common_prefix
from rag.models import resolve_model

UNRELATED = "zzz qqq unrelated words here"


def tokenizer(model: str) -> LlamaGenerator:
    """A LlamaGenerator with the model's vocabulary only (no weights), for prompt_tokens."""
    from llama_cpp import Llama

    g = LlamaGenerator.__new__(LlamaGenerator)
    g.llm = Llama(model_path=resolve_model(model), vocab_only=True, verbose=False)
    g._formatter = None
    return g


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("suite", help="a suite of benchmarks/suites (its index in .suites/SUITE/index)")
    p.add_argument("split", help="tune or heldout")
    p.add_argument("--model", default="qwen2.5-coder-1.5b", help="the model whose tokenizer counts")
    args = p.parse_args()
    bot = rag.open(f".suites/{args.suite}/index")
    g = tokenizer(args.model)
    cases = [c for c in select_split(load_cases(f"benchmarks/suites/{args.suite}/questions.jsonl"), args.split)
             if not c.history]

    def prompt(question: str) -> list[int] | None:
        turn = bot.read(question)
        return None if turn.refusal_reason else g.prompt_tokens(stages.prompt(turn, bot.settings))

    unrelated = prompt(UNRELATED) or []
    left = {"no draft": [], **{f"draft less {k} word(s)": [] for k in (1, 2, 3)}}
    for case in cases:
        full = prompt(case.question)
        if full is None:
            continue
        left["no draft"].append(len(full) - common_prefix(full, unrelated))
        words = case.question.split()
        for k in (1, 2, 3):
            if len(words) > k + 1:
                draft = prompt(" ".join(words[:-k])) or []
                left[f"draft less {k} word(s)"].append(len(full) - common_prefix(full, draft))
    print(f"{args.suite} {args.split}: prompt tokens still to read after the question is sent")
    for name, values in left.items():
        print(f"  {name:<22} p50 {statistics.median(values):6.0f}   40 or fewer: {sum(v <= 40 for v in values)}/{len(values)}")


if __name__ == "__main__":
    main()
