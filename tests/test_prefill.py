"""Prefill: a question's likely prompt read while it is typed (rag.prefill, LlamaGenerator.prefill)."""

import threading
import time

import pytest

from rag import stages
from rag.generator import PREFILL_STEP, LlamaGenerator
from rag.prefill import Prefetcher, settled

QUESTION = "How much did Meta plan to spend on capex in 2025?"


@pytest.mark.parametrize("draft, expected", [
    ("", ""), ("How", ""), ("How much", ""),          # fewer than two whole words
    ("How much ", "How much"),                        # a space ends the word
    ("How much does Met", "How much does"),           # the word being typed is left out
    ("How much does Meta?", "How much does Meta?"),   # punctuation ends it
    ("Who  is\tLi Hua,", "Who is Li Hua,"),
])
def test_a_draft_is_searched_up_to_its_last_whole_word(draft, expected):
    assert settled(draft) == expected


class Recorder:
    """read and prefill callables for a Prefetcher, recording what they were given."""

    def __init__(self, fail=False):
        self.read_drafts, self.prefilled, self.fail = [], [], fail
        self.release = threading.Event()

    def read(self, draft, history, k):
        if self.fail:
            raise RuntimeError("search failed")
        self.read_drafts.append((draft, history, k))
        return [{"role": "user", "content": draft}]

    def prefill(self, messages, superseded):
        self.prefilled.append(messages[-1]["content"])
        while not self.release.is_set() and not superseded():
            time.sleep(0.01)
        return 7 if self.release.is_set() else 3


def test_prefetcher_reads_each_new_whole_word_once():
    r = Recorder()
    r.release.set()
    p = Prefetcher(r.read, r.prefill)
    offered = [p.offer(d) for d in ("How", "How much", "How much ", "How much d", "How much do", "How much does ")]
    assert p.wait(5)
    assert offered == [False, False, True, False, False, True]
    # the second draft may supersede the first before it is read; the last one is always read
    assert r.read_drafts[-1] == ("How much does", (), None) and len(r.read_drafts) <= 2
    assert p.cached == 7 and p.errors == 0
    assert not p.offer("How much  does ")  # the same words again: nothing new to read


def test_a_newer_draft_or_a_sent_question_stops_the_prefill():
    r = Recorder()
    p = Prefetcher(r.read, r.prefill)
    p.offer("What is the ")
    deadline = time.monotonic() + 5
    while not r.prefilled and time.monotonic() < deadline:
        time.sleep(0.01)
    p.offer("What is the capital ")  # supersedes the one being read
    deadline = time.monotonic() + 5
    while len(r.prefilled) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert r.prefilled == ["What is the", "What is the capital"]
    p.cancel()  # the question was sent
    assert p.wait(5)
    assert p.cached == 3  # stopped, not finished


def test_a_failing_draft_is_counted_not_raised():
    r = Recorder(fail=True)
    p = Prefetcher(r.read, r.prefill)
    assert p.offer("Who wrote this ")
    assert p.wait(5)
    assert p.errors == 1 and p.drafts == 0
    assert p.offer("Who wrote this report ")  # the thread goes on
    assert p.wait(5) and p.errors == 2


def test_bot_prefill_with_a_model_that_cannot_prefill(make_bot, docs_dir):
    """The fake model has no prefill: the draft is searched, nothing is read, the answer is as always."""
    bot = make_bot()
    bot.ingest([docs_dir])
    assert bot.prefill("What colour are bananas ")
    assert bot._prefetcher.wait(5)
    assert bot._prefetcher.drafts == 1 and bot._prefetcher.cached == 0 and bot._prefetcher.errors == 0
    assert not bot.prefill("What colour are bananas ")  # nothing new
    assert bot.ask("What colour are bananas?").text


def test_prefill_off_reads_nothing(make_bot):
    bot = make_bot(prefill=False)
    assert not bot.prefill("What colour are bananas ")
    assert bot._prefetcher is None


def test_a_follow_up_draft_that_needs_the_model_to_rewrite_it_is_not_read(make_bot, docs_dir):
    bot = make_bot()
    bot.ingest([docs_dir])
    history = [("What colour are bananas?", "Yellow [1].")]
    assert bot._draft_messages("And what about it?", history, None) is None
    assert bot._draft_messages("What colour are cherries?", history, None) is not None


# ---------- the real model (slow) ----------

def messages(question):
    passage = "Acme Corp said it would spend more than two billion dollars on a second plant. " * 6
    return [{"role": "system", "content": "You answer questions from passages."},
            {"role": "user", "content": f"Passages:\n[1] {passage}\nQuestion: {question}"}]


@pytest.fixture(scope="module")
def tiny():
    return LlamaGenerator("smollm2-135m", n_ctx=1024)


@pytest.mark.slow
def test_real_prefill_caches_the_prompt_and_leaves_the_answer_unchanged(tiny):
    tiny.reset()
    cold = "".join(tiny.stream(messages("How much will Acme spend?"), 32, 0.0))
    tiny.reset()
    prompt = tiny.prompt_tokens(messages("How much will"))
    assert tiny.prefill(messages("How much will")) == len(prompt)
    assert list(tiny.llm._input_ids) == prompt  # the very tokens create_chat_completion reads
    warm = "".join(tiny.stream(messages("How much will Acme spend?"), 32, 0.0))
    assert warm == cold


@pytest.mark.slow
def test_real_prefill_gives_way_to_a_waiting_call(tiny):
    tiny.reset()
    long = messages("How much will Acme spend? " * 40)
    total = len(tiny.prompt_tokens(long))
    done = {}
    worker = threading.Thread(target=lambda: done.setdefault("cached", tiny.prefill(long)))
    worker.start()
    time.sleep(0.05)
    answer = "".join(tiny.stream(messages("Who is Acme?"), 8, 0.0))  # waits at most one step
    worker.join(30)
    assert answer and done["cached"] < total
    assert total > 4 * PREFILL_STEP


@pytest.mark.slow
def test_real_bot_prefill_reads_the_prompt_its_question_will_read(real_bot):
    real_bot.generator.reset()
    cold = real_bot.ask(QUESTION)
    real_bot.generator.reset()
    assert real_bot.prefill(QUESTION)
    assert real_bot._prefetcher.wait(120)
    turn = real_bot.read(QUESTION)
    prompt = real_bot.generator.prompt_tokens(stages.prompt(turn, real_bot.settings))
    assert real_bot._prefetcher.cached == len(prompt)
    assert real_bot.ask(QUESTION).raw_text == cold.raw_text
