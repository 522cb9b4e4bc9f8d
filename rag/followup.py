"""Follow-up questions: checks on the model's standalone rewrite, and the fallback when it fails."""

from __future__ import annotations

import re
from typing import Sequence

from .verify import content_words

History = Sequence[tuple[str, str]]  # (question, answer text) pairs, oldest first

_QUESTION_WORD = re.compile(r"\b(what|who|whom|whose|which|when|where|why|how)\b")


def acceptable(rewritten: str, question: str, history: History) -> bool:
    """A small model's rewrite may drop the question or repeat an earlier one: keep it only if
    it is new, asks with the same question word, and holds at least half of the follow-up's
    content words (when it has two or more: "Starting when?" may become "When does Tesla start")."""
    if _same(rewritten, question) or any(_same(rewritten, q) for q, _ in history):
        return False
    asked = _QUESTION_WORD.findall(question.lower())
    if asked and asked[0] not in _QUESTION_WORD.findall(rewritten.lower()):
        return False  # "What does he suggest" must not become "Who did he suggest"
    own = content_words(question)
    return len(own) < 2 or len(own & content_words(rewritten)) >= len(own) / 2


def combined(question: str, history: History) -> str:
    """The retrieval query when a follow-up could not be rewritten: the last question, then it."""
    return f"{history[-1][0].strip()} {question.strip()}"


def _same(a: str, b: str) -> bool:
    return a.strip().lower().rstrip("?.! ") == b.strip().lower().rstrip("?.! ")
