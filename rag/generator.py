"""Generators: the Protocol the pipeline relies on, and llama.cpp behind it."""

from __future__ import annotations

import atexit
import os
import threading
from functools import lru_cache
from typing import Iterable, Iterator, Protocol

from .errors import MissingDependency, ModelError
from .models import resolve_model


class Generator(Protocol):
    """May also have `last_usage`: (prompt tokens, completion tokens) of the last finished call,
    `last_cached`: how many of its prompt tokens were already read (a cached prefix), and
    `first_word_odds(messages, words)`: the probability of each word as the reply's first."""
    id: str

    def stream(self, messages: list[dict], max_tokens: int, temperature: float) -> Iterator[str]: ...


ALIGN = 32  # a prompt is read on from a multiple of this (LlamaGenerator.resume_at)


class LlamaGenerator:
    """One llama.cpp model; calls are queued with a lock, never interleaved."""

    def __init__(self, model: str, n_ctx: int = 4096, n_threads: int = 0, seed: int = 0):
        try:
            from llama_cpp import Llama
        except ImportError:
            raise MissingDependency("llama-cpp-python", "llama-cpp-python") from None
        path = resolve_model(model)
        # llama.cpp's own default writes with half the cores (it assumes two threads per core):
        # on 2 cores, writing with both is about 1.5 times as fast (docs/benchmarks.md)
        threads = n_threads or available_cores()
        kwargs = dict(n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, seed=seed, verbose=False)
        try:
            if path.startswith("hf:"):
                repo, _, filename = path[3:].rpartition("/")
                self.llm = Llama.from_pretrained(repo_id=repo, filename=filename, **kwargs)
            else:
                self.llm = Llama(model_path=path, **kwargs)
        except Exception as e:
            raise ModelError(f"Cannot load model '{model}' ({path}): {e}") from None
        atexit.register(self.llm.close)  # close before interpreter teardown, not in __del__
        self.id = model
        self.path = path
        self.lock = threading.Lock()
        self.last_usage = (0, 0)
        self.last_cached = 0  # prompt tokens of the last call already in the KV cache (a prefix)
        self._formatter = None  # the GGUF's chat template, compiled on first use
        self._read_ahead: tuple[list[int], int] | None = None  # a prompt first_word_odds read, and its cached prefix

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False))

    def reset(self) -> None:
        """Forget the cached prompt: the next call starts cold."""
        with self.lock:
            self.llm.reset()

    def prompt_tokens(self, messages: list[dict]) -> list[int] | None:
        """The tokens create_chat_completion reads for `messages`; None when this model's chat
        format is not the one in its GGUF (then the cached prefix is not counted)."""
        llm = self.llm
        if llm.chat_format != "chat_template.default" or llm.chat_handler is not None:
            return None
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            model = llm._model
            eos, bos = model.token_eos(), model.token_bos()
            self._formatter = Jinja2ChatFormatter(
                template=llm.metadata["tokenizer.chat_template"],
                eos_token=model.token_get_text(eos) if eos != -1 else "",
                bos_token=model.token_get_text(bos) if bos != -1 else "")
        result = self._formatter(messages=messages)
        return llm.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)

    def cached_prefix(self, tokens: list[int]) -> int:
        """How many of `tokens`, from the start, the model's KV cache holds."""
        return common_prefix(self.llm._input_ids, tokens)

    def resume_at(self, tokens: list[int]) -> int:
        """Cut the KV cache back to where reading `tokens` is to resume, and return it: the prefix
        it holds of them, rounded down to a multiple of ALIGN. llama.cpp multiplies Q4_K_M weights
        by groups of 4 to 8 tokens counted from where it starts reading, and a token's logits change
        with the grouping (by up to 0.5 for the default model): resuming anywhere else would make
        an answer depend on the question asked before it."""
        keep = min(self.cached_prefix(tokens), len(tokens) - 1) // ALIGN * ALIGN
        self.llm.n_tokens = keep
        return keep

    def first_word_odds(self, messages: list[dict], words: tuple[str, ...]) -> dict[str, float]:
        """The probability the model gives each word as the first of its reply to `messages`
        (in any case, with or without a space before it). The prompt read here is cached for the
        stream that follows, which then counts it as read anew."""
        import numpy as np

        first = []

        def keep(input_ids, scores):
            if not first:
                first.append(np.array(scores, dtype="float64"))
            return scores

        with self.lock:
            tokens = self.prompt_tokens(messages)
            cached = self.resume_at(tokens) if tokens else 0
            try:
                self.llm.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0, top_k=1,
                                                logits_processor=[keep])
            except ValueError as e:
                raise self._too_long(e) from None
            self._read_ahead = (tokens, cached) if tokens else None
        p = np.exp(first[0] - first[0].max())
        p /= p.sum()
        likeliest = np.argsort(-p)[:50]  # the words' tokens are among the likeliest, or negligible
        return word_odds(((self.llm.detokenize([int(i)]).decode("utf-8", "ignore"), float(p[i]))
                          for i in likeliest), words)

    def _too_long(self, error: ValueError) -> ModelError:
        """llama-cpp-python's error for a prompt beyond the context, as a message; others re-raised."""
        if "context window" not in str(error):
            raise error
        return ModelError(f"The question, its passages and the conversation are too long for the model's "
                          f"context of {self.llm.n_ctx()} tokens. Ask a shorter question, start a new chat, "
                          f"or raise n_ctx.")

    def stream(self, messages, max_tokens=384, temperature=0.0) -> Iterator[str]:
        with self.lock:
            # no reset: llama.cpp reuses the KV cache of the prompt prefix this call shares with the
            # last one (system prompt, instructions, example: about a third of a question's prompt)
            completion = 0
            tokens = self.prompt_tokens(messages)
            ahead, self._read_ahead = self._read_ahead, None
            self.last_cached = (ahead[1] if ahead and ahead[0] == tokens
                                else self.resume_at(tokens) if tokens else 0)
            try:
                for part in self.llm.create_chat_completion(
                        messages=messages, max_tokens=max_tokens, temperature=temperature,
                        top_k=1 if temperature == 0 else 40, stream=True):
                    text = part["choices"][0]["delta"].get("content")
                    if text:
                        completion += 1
                        yield text
            except ValueError as e:
                raise self._too_long(e) from None
            # the context now holds the whole prompt (its cached prefix included) and the answer,
            # less the last token when generation stopped on it: the prompt is within a token
            self.last_usage = (max(self.llm.n_tokens - completion, 0), completion)


def word_odds(tokens: Iterable[tuple[str, float]], words: tuple[str, ...]) -> dict[str, float]:
    """Each word's probability as a first token, from (token text, probability) pairs: a token
    counts for a word in any case, with or without a space before it."""
    wanted = {w.lower(): w for w in words}
    odds = dict.fromkeys(words, 0.0)
    for text, p in tokens:
        word = wanted.get(text.strip().lower())
        if word:
            odds[word] += p
    return odds


def common_prefix(a, b) -> int:
    """How many items two sequences share from the start."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def available_cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


_loading = threading.Lock()


def load_generator(model: str, n_ctx: int, n_threads: int, seed: int) -> LlamaGenerator:
    """The model is loaded once per process (per setting), one load at a time: llama.cpp points
    stdout and stderr at /dev/null while it loads, and two loads at once left them there."""
    with _loading:
        return _load_generator(model, n_ctx, n_threads, seed)


@lru_cache(maxsize=4)
def _load_generator(model: str, n_ctx: int, n_threads: int, seed: int) -> LlamaGenerator:
    return LlamaGenerator(model, n_ctx=n_ctx, n_threads=n_threads, seed=seed)
