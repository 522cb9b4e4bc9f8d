"""Stream only what will stand. The model's draft is held back sentence by sentence: a sentence
is let through once it is complete (the next one has begun) and the answer up to it passes the
same verification as the final answer, in the words the final answer will have (markers moved
or dropped, unsupported sentences cut). Events of a streamed answer (Bot.events):

    Progress   a stage begins (searching, reading, writing, checking), with the time so far
    Turn       what was searched and found, before the model writes (rag.stages.Turn)
    str        checked text, to be appended to what came before
    Correction the whole text to show instead of what was sent: the final check withdrew or
               changed it (a later sentence made the answer fail an answer check, the model
               ended with the refusal, or a second look answered instead)
    Answer     the final answer; its text is what the str pieces (and any Correction) add up to
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .chunking import all_sentences
from .citations import clean_markers

STAGES = ("searching", "reading", "writing", "checking")


@dataclass(frozen=True)
class Progress:
    stage: str  # one of STAGES
    elapsed_s: float  # since the question was received
    passages: int = 0  # for "reading": how many passages the model reads
    words: int = 0  # for "writing": pieces the model has written so far


@dataclass(frozen=True)
class Correction:
    text: str  # the whole answer text, replacing what was streamed


class CheckedText:
    """Feed it the model's pieces; it returns the checked text to send. `finish(raw)` is the
    pipeline's verification of a draft (an Answer); it runs on the draft up to each complete
    sentence. With hold=True nothing is sent before the end (a comparison, whose computed
    sentence comes after all the others)."""

    def __init__(self, n_passages: int, finish: Callable, hold: bool = False):
        self.n = n_passages
        self.finish = finish
        self.hold = hold
        self.raw = ""
        self.sent = ""  # the text sent so far
        self._checked = 0  # length of the cleaned draft last checked

    def feed(self, piece: str) -> str:
        self.raw += piece
        if self.hold:
            return ""
        cleaned = clean_markers(self.raw, self.n)
        spans = all_sentences(cleaned)
        if len(spans) < 2:
            return ""
        cut = spans[-1][0]  # where the sentence being written begins
        if not (cleaned[cut].isalnum() or cleaned[cut] in "\"'“‘(") or cut <= self._checked:
            return ""
        self._checked = cut
        answer = self.finish(cleaned[:cut].rstrip())
        if answer.refused or not answer.text.startswith(self.sent):
            return ""
        return self._send(answer.text)

    def _send(self, text: str) -> str:
        new, self.sent = text[len(self.sent):], text
        return new

    def end(self, final_text: str) -> str | Correction:
        """The rest of the final text, or a Correction when it does not continue what was sent."""
        if final_text.startswith(self.sent):
            return self._send(final_text)
        self.sent = final_text
        return Correction(final_text)
