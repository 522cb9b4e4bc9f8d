"""Follow-up questions: checks on the model's standalone rewrite, and the fallback when it fails."""

from __future__ import annotations

import re
from typing import Sequence

from .citations import MARKER
from .text import content_words

History = Sequence[tuple[str, str]]  # (question, answer text) pairs, oldest first
HISTORY_TURNS = 2  # earlier question/answer pairs every face sends with a follow-up

_QUESTION_WORD = re.compile(r"\b(what|who|whom|whose|which|when|where|why|how)\b")


def acceptable(rewritten: str, question: str, history: History) -> bool:
    """A small model's rewrite may drop the question or repeat an earlier one: keep it only if
    it is new, asks with the same question word, and holds more than half of the follow-up's
    content words (when it has two or more: "Starting when?" may become "When does Tesla start",
    but "How much of that drop was Acme's?" must keep "drop", not only "Acme")."""
    if _same(rewritten, question) or any(_same(rewritten, q) for q, _ in history):
        return False
    asked = _QUESTION_WORD.findall(question.lower())
    if asked and asked[0] not in _QUESTION_WORD.findall(rewritten.lower()):
        return False  # "What does he suggest" must not become "Who did he suggest"
    own = content_words(question)
    return len(own) < 2 or len(own & content_words(rewritten)) > len(own) / 2


_REFERENCE = re.compile(r"\b(he|she|it|its|they|them|their|his|her|him|this|that|these|those|there|then|"
                        r"the company|the same)\b", re.I)
_CONTINUATION = re.compile(r"^\W*(and|so|also|but|what about|how about)\b", re.I)


def needs_context(question: str) -> bool:
    """Does a follow-up lean on the conversation (a pronoun, "that", "And ...?", or too few
    words to stand alone)? One that does not is asked as it is, without a rewrite call."""
    return bool(_REFERENCE.search(question) or _CONTINUATION.match(question)) or len(content_words(question)) < 2


def combined(question: str, history: History, refusal: str = "") -> str:
    """The retrieval query when a follow-up could not be rewritten: the last question, its
    answer (what "he" or "that" most often points at) unless it was the refusal, then the
    follow-up."""
    last_question, last_answer = history[-1]
    last_answer = MARKER.sub("", last_answer).strip()
    if refusal and last_answer.startswith(refusal.strip()):
        last_answer = ""
    return " ".join(part for part in (last_question.strip(), last_answer, question.strip()) if part)


def _same(a: str, b: str) -> bool:
    return a.strip().lower().rstrip("?.! ") == b.strip().lower().rstrip("?.! ")
