"""Prompt templates are text files in prompts/; this module only fills them in."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from .errors import ConfigError
from .types import Hit, page_label


@lru_cache(maxsize=32)
def template(prompts_dir: str, name: str) -> str:
    path = Path(prompts_dir) / f"{name}.txt"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigError(f"Prompt template {path} is missing (prompts_dir = {prompts_dir}).") from None


def example_answers(prompts_dir: str) -> tuple[str, ...]:
    """The answers of the worked example in the answer prompt, the refusal aside."""
    found = re.findall(r"^Example answer:(.*)$", template(prompts_dir, "answer"), re.M)
    return tuple(a.strip() for a in found if "{refusal}" not in a)


def format_passages(hits: list[Hit], when: bool = False) -> str:
    """The passages as the model reads them, each under its number, file name and page; for a
    question that asks when (`when`), also the date its document's metadata gives it."""
    blocks = []
    for h in hits:
        c = h.chunk
        page = f", {page_label(c.source, c.page)}" if c.page is not None else ""
        shown = when and c.date and c.date not in c.name and c.date not in c.text
        dated = f", dated {c.date}" if shown else ""
        blocks.append(f"[{h.rank}] ({c.name}{page}{dated})\n{c.text.strip()}")
    return "\n\n".join(blocks)


def answer_messages(prompts_dir: str, question: str, hits: list[Hit],
                    history: list[tuple[str, str]] = (), when: bool = False) -> list[dict]:
    refusal = template(prompts_dir, "refusal")
    user = template(prompts_dir, "answer").format(
        refusal=refusal, passages=format_passages(hits, when), question=question.strip())
    messages = [{"role": "system", "content": template(prompts_dir, "system")}]
    for q, a in history:
        messages += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    messages.append({"role": "user", "content": user})
    return messages
