"""Reading a question's likely prompt while it is still being typed.

The model reads the prompt (instructions, passages, question) at about 100 tokens a second on two
cores, and that is most of the wait for the first word of an answer. While the user types, each
draft of the question is searched and its prompt read into the model's KV cache in the background;
when the question is sent, the model reads only the part of the prompt that differs from the
draft's (llama.cpp reuses a cached prefix). The passages come before the question in the prompt,
so when the draft finds the same passages, only the question's own tokens are left.
"""

from __future__ import annotations

import threading
from typing import Callable

from .followup import History

MIN_WORDS = 2  # a draft of fewer whole words is not searched


def settled(draft: str) -> str:
    """The draft up to its last whole word: a word still being typed ("capi") would change the
    search at every key, so it is left out until a space or punctuation ends it."""
    words = draft.split()
    if draft[-1:].isalnum():
        words = words[:-1]
    return " ".join(words) if len(words) >= MIN_WORDS else ""


class Prefetcher:
    """One background thread that reads the newest draft's prompt; a newer draft, or a question
    sent (`cancel`), stops it at its next step. `read(draft, history, k)` returns the messages the
    model would read for the draft, or None to skip it; `prefill(messages, superseded)` reads them
    and returns how many prompt tokens are now cached."""

    def __init__(self, read: Callable[[str, History, int | None], list[dict] | None],
                 prefill: Callable[[list[dict], Callable[[], bool]], int]):
        self._read = read
        self._prefill = prefill
        self._changed = threading.Condition()
        self._pending: tuple | None = None  # (draft, history, k)
        self._current: tuple | None = None  # the draft being read now, or last read
        self._busy = False
        self._thread: threading.Thread | None = None
        self.cached = 0  # prompt tokens cached for the last draft read
        self.drafts = 0  # drafts read so far
        self.errors = 0

    def offer(self, draft: str, history: History = (), k: int | None = None) -> bool:
        """Reads the draft's prompt in the background unless it adds no whole word to the last
        one. Returns whether it will be read."""
        key = (settled(draft or ""), tuple(tuple(turn) for turn in history), k)
        if not key[0]:
            return False
        with self._changed:
            if key == self._current or key == self._pending:
                return False
            self._pending = key
            self._changed.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="rag-prefill", daemon=True)
                self._thread.start()
        return True

    def cancel(self) -> None:
        """The question was sent: drop any draft not yet read and stop the one being read."""
        with self._changed:
            self._pending = None
            self._current = None
            self._changed.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Waits until no draft is pending or being read; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending is None and not self._busy, timeout)

    def _superseded(self, key) -> Callable[[], bool]:
        return lambda: self._pending is not None or self._current != key

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._pending is not None)
                key, self._pending = self._pending, None
                self._current, self._busy = key, True
            try:
                messages = self._read(*key)
                if messages is not None and not self._superseded(key)():
                    self.cached = self._prefill(messages, self._superseded(key))
                    self.drafts += 1
            except Exception:  # noqa: BLE001 - a draft is a guess: its failure is the question's to report
                self.errors += 1
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()
