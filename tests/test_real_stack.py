"""The real parts: MiniLM embeddings, FAISS on disk, SmolLM2-135M through llama.cpp, the CLI."""

import json
import os
import subprocess
import sys

import pytest

import rag
from rag.errors import IndexMismatchError, ModelError
from rag import yesno
from rag.generator import LlamaGenerator, available_cores

from helpers import CORPUS

pytestmark = pytest.mark.slow


def test_corpus_is_indexed_with_real_embedder(real_bot):
    docs = real_bot.documents()
    assert len(docs) == 5 and all(d.chunks > 0 for d in docs)
    # a new index gets the ONNX int8 backend (embedder_backend = "auto")
    assert real_bot.store.manifest.embedder == "all-MiniLM-L6-v2+onnx-int8" and real_bot.store.manifest.dim == 384
    # the repeated paragraphs of the comment thread are indexed once
    texts = [c.text for c in real_bot.store.chunks.values()]
    assert len(texts) == len(set(texts))


def test_real_retrieval_finds_the_meta_capex_passage(real_bot):
    for mode in ("dense", "bm25", "hybrid"):
        hits = real_bot.retrieve("How much will Meta spend on capital expenditures in 2025?", k=4, mode=mode)
        assert any("$60 billion" in h.chunk.text for h in hits), mode


def test_real_retrieval_leaves_out_a_copied_file(real_bot, real_settings, tmp_path):
    import shutil
    from pathlib import Path
    docs = tmp_path / "docs"
    shutil.copytree(CORPUS, docs)
    meta = next(p for p in sorted(Path(CORPUS).iterdir()) if "$60 billion" in p.read_text())
    shutil.copy(meta, docs / f"copy-of-{meta.name}")
    settings = real_settings.replace(index_dir=str(tmp_path / "index"))
    bot = rag.Bot(settings, embedder=real_bot.embedder)
    bot.ingest([docs])
    question = "How much will Meta spend on capital expenditures in 2025?"
    texts = [h.chunk.text for h in bot.retrieve(question, k=4)]
    assert len(texts) == 4 and len(set(texts)) == 4 and any("$60 billion" in t for t in texts)
    copies = [h.chunk.text for h in rag.Bot(settings.replace(duplicate_cosine=1.0),
                                            embedder=real_bot.embedder).retrieve(question, k=4)]
    assert len(set(copies)) < len(copies)


def test_reingest_unchanged_corpus_embeds_nothing(real_bot):
    report = real_bot.ingest([CORPUS])
    assert len(report.unchanged) == 5 and report.chunks == 0


def test_reopen_with_other_chunking_is_refused(real_settings, real_bot):
    with pytest.raises(IndexMismatchError, match="Re-index"):
        rag.Bot(real_settings.replace(chunk_tokens=200)).retrieve("capex")  # the index opens on first use


@pytest.mark.parametrize("bot", ["real_bot", "served_bot"])
def test_real_model_ask_and_stream(request, bot):
    """In process, and through llama-cpp-python's server (model setting openai:URL)."""
    real_bot = request.getfixturevalue(bot)
    answer = real_bot.ask("How much did Meta plan to spend on capex in 2025?")
    assert answer.text and answer.passages and answer.timings.first_token_s is not None
    # the whole prompt (instructions, worked example, passages) is counted, cached prefix included
    assert answer.timings.prompt_tokens > 300 and answer.timings.completion_tokens > 0
    for c in answer.citations:  # whatever the tiny model cites must point at a shown passage
        assert c.n in {h.rank for h in answer.passages}
    parts = list(real_bot.stream("What did Microsoft say about capex?"))
    assert isinstance(parts[-1], rag.Answer) and any(isinstance(p, str) and p for p in parts[:-1])
    # temperature 0: the same question gives the same answer from a cold start; in between, the
    # prompt prefix cached from the last call is reused, which makes the first token come sooner
    real_bot.generator.reset()
    cold = real_bot.ask("How much did Meta plan to spend on capex in 2025?")
    real_bot.generator.reset()
    assert real_bot.ask("How much did Meta plan to spend on capex in 2025?").raw_text == cold.raw_text
    # in process, the prefix cached from the last call is counted; from a cold start there is
    # none (a model server does not say, so nothing is counted through it)
    assert cold.timings.cached_tokens == 0
    other = real_bot.ask("What did Microsoft say about capex?")
    if bot == "real_bot":
        assert 100 < other.timings.cached_tokens < other.timings.prompt_tokens
    else:
        assert other.timings.cached_tokens == 0


def test_real_model_gives_its_first_word_odds_and_the_answer_reuses_that_prompt(real_bot):
    gen = real_bot.generator
    gen.reset()
    messages = [{"role": "user", "content": "Reply with one word, Yes or No. Is two more than one?"}]
    odds = gen.first_word_odds(messages, ("Yes", "No"))
    assert set(odds) == {"Yes", "No"} and 0.0 < sum(odds.values()) <= 1.0 + 1e-6
    reply = "".join(gen.stream(messages, max_tokens=3, temperature=0.0)).strip()
    # the prompt read for the odds is cached for the answer, which still counts it as read anew
    assert gen.last_cached == 0 and gen.llm.n_tokens > len(gen.prompt_tokens(messages))
    said = reply.split()[0].strip(".,!").capitalize() if reply else ""
    if said in odds:  # at temperature 0 the model writes the likelier word
        assert odds[said] == max(odds.values())
    answer = real_bot.ask("Did Meta plan to spend more than $60 billion on capex in 2025?")
    assert answer.text and (answer.refused or answer.text.split(":")[0] in ("Yes", "No")
                            or answer.sentences)


def test_an_answer_does_not_depend_on_what_the_model_read_before_it(real_bot, real_settings):
    """The same prompt gives the same first-token probabilities, to the last bit, read cold,
    after other questions' prompts and answers, and after its own answer. Qwen's Q4_K_M weights,
    as the default model's: llama.cpp reads them in groups of 8 tokens (SmolLM2's Q4_1 token by token)."""
    from rag import stages
    bot = rag.Bot(real_settings.replace(model="qwen2.5-coder-0.5b"), embedder=real_bot.embedder)
    gen, settings = bot.generator, bot.settings
    questions = ["How much did Meta plan to spend on capex in 2025?", "What did Microsoft say about capex?",
                 "Who founded DeepSeek?"]
    prompts = [stages.prompt(bot.read(q), settings) for q in questions]
    words = ("Meta", "The", "I", "$", "In")
    gen.reset()
    cold = gen.first_word_odds(prompts[0], words)
    assert sum(cold.values()) > 0
    after = []
    for other in prompts[1:] + prompts[:1]:
        list(gen.stream(other, max_tokens=8, temperature=0.0))
        after.append(gen.first_word_odds(prompts[0], words))
        assert 0 < gen.last_cached < len(gen.prompt_tokens(prompts[0]))  # the shared instructions are reused
    assert after == [cold] * 3


def test_the_passages_the_real_stack_reads_settle_a_yes_no_question_or_not(real_bot):
    # the corpus says Meta spends on data centers, and nothing of how they are powered: whatever
    # the model leans to, no answer; the spending itself is settled
    unsettled = "Will Meta power its new data centers with solar panels?"
    passages = {h.rank: h.chunk.text for h in real_bot.read(unsettled).passages}
    assert passages and yesno.decide(unsettled, "no", passages, 0.6) is None
    settled = "Will Meta spend more than $60 billion on capital expenditures in 2025?"
    passages = {h.rank: h.chunk.text for h in real_bot.read(settled).passages}
    assert yesno.decide(settled, "yes", passages, 0.6).said == "Yes"


def test_real_model_says_when_a_prompt_is_beyond_its_context():
    gen = LlamaGenerator("smollm2-135m", n_ctx=256)
    messages = [{"role": "user", "content": "word " * 600 + "Is this too long?"}]
    for call in (lambda: gen.first_word_odds(messages, ("Yes", "No")), lambda: list(gen.stream(messages))):
        with pytest.raises(ModelError, match="too long for the model's context of 256 tokens"):
            call()


def test_real_model_reads_and_writes_with_every_core():
    """n_threads = 0: all the cores this process may use, for writing too (llama.cpp's own
    default writes with half of them)."""
    gen = LlamaGenerator("smollm2-135m", n_ctx=512)
    assert gen.llm.context_params.n_threads == gen.llm.context_params.n_threads_batch == available_cores()


def test_real_follow_up_is_rewritten_in_its_own_context(real_bot):
    first = real_bot.ask("How much did Meta plan to spend on capex in 2025?")
    cached = list(real_bot.generator.llm.input_ids[:real_bot.generator.llm.n_tokens])
    real_bot.rewrite("And what did it say about DeepSeek?", [(first.question, first.text)])
    # the answer prompt's cache is untouched: the rewrite ran in the second context
    assert real_bot.rewriter is not real_bot.generator and real_bot.rewriter.llm.n_tokens > 0
    assert list(real_bot.generator.llm.input_ids[:real_bot.generator.llm.n_tokens]) == cached and cached


def test_real_elliptical_follow_up_is_asked_again_of_its_name_and_finds_that_names_passages(real_bot):
    history = [("How much did Meta plan to spend on capex in 2025?", "Over $60 billion [1].")]
    rewriter = real_bot._rewriter  # None until a follow-up needed the model
    tokens = rewriter.llm.n_tokens if rewriter is not None else None
    turn = real_bot.read("And Tesla?", history)
    assert turn.query == turn.standalone == "How much did Tesla plan to spend on capex in 2025?"
    assert any("Tesla" in h.chunk.text for h in turn.passages[:2])
    assert real_bot._rewriter is rewriter and (rewriter is None or rewriter.llm.n_tokens == tokens)  # no rewrite call


def test_real_ratio_question_searches_both_sides_and_computes_the_ratio(real_bot):
    answer = real_bot.ask("Meta's capex for 2025 is how many times Tesla's AI capex so far?")
    shown = " ".join(h.chunk.text for h in answer.passages)
    assert "$60 billion" in shown and "$5 billion" in shown  # one search per side of the comparison
    # whatever the tiny model writes, a ratio shown to the user is one the program computed
    assert answer.refused or (answer.sentences[-1].computed and "(computed)" in answer.text)


def _diary_bot(real_bot, real_settings, tmp_path, named=""):
    """A diary of six days, each dated by its messages' stamps, or by its file's name alone
    (`named="by-date"`), or sent as e-mail (`named="emailed"`), or by a Word file's creation date
    alone (`named="word"`)."""
    days = {"2025-03-07": "the van came this morning. I have moved to Leeds.",
            "2025-04-01": "first day at the lab today. The badge works."}
    days |= {f"2025-05-0{n + 1}": f"lunch in the park again, day {n}." for n in range(4)}  # each event is searched for
    docs = tmp_path / "diary"
    docs.mkdir()
    for n, (day, text) in enumerate(days.items()):
        if named == "word":
            import datetime

            import docx
            page = docx.Document()
            page.add_paragraph(f"Sam: {text}")
            page.core_properties.created = datetime.datetime.fromisoformat(f"{day}T21:00:00")
            page.save(str(docs / f"day{n}.docx"))
            continue
        if named == "emailed":
            y, m, d = day.split("-")
            name, line = f"day{n}.eml", (f"From: Sam <sam@example.org>\nSubject: Diary\n"
                                         f"Date: {d} {['Mar', 'Apr', 'May'][int(m) - 3]} {y} 09:00:00 +0000\n\n{text}")
        else:
            name, line = (f"{day} diary.txt", f"Sam: {text}") if named else (f"day{n}.txt", f"[{day} 09:00] Sam: {text}")
        (docs / name).write_text(line + "\n")
    bot = rag.Bot(real_settings.replace(index_dir=str(tmp_path / "index")), embedder=real_bot.embedder)
    bot.ingest([docs])
    return bot


def test_real_order_question_is_answered_from_the_dates_or_as_any_yes_no_question(real_bot, real_settings, tmp_path):
    bot = _diary_bot(real_bot, real_settings, tmp_path)
    answer = bot.ask("Did Sam's first day at the lab come before Sam's move to Leeds?")
    computed = [s for s in answer.sentences if s.computed]
    # whatever the tiny model writes, an order shown is the program's, and right
    assert not computed or answer.text.startswith("No: 2025-04-01 is after 2025-03-07 (computed)")
    assert answer.refused or computed or answer.second_look  # worked out, or asked as it is


def test_real_which_came_first_question_names_the_earlier_event_from_the_dates(real_bot, real_settings, tmp_path):
    bot = _diary_bot(real_bot, real_settings, tmp_path)
    answer = bot.ask("Which came first, and on what date: Sam's first day at the lab or Sam's move to Leeds?")
    shown = " ".join(h.chunk.text for h in answer.passages)
    assert "moved to Leeds" in shown and "first day at the lab" in shown  # one search per event
    computed = [s for s in answer.sentences if s.computed]
    # whatever the tiny model writes, an order shown is the program's, and right
    assert not computed or answer.text.startswith("Sam's move to Leeds came first: 2025-03-07 is before 2025-04-01")
    assert answer.refused or computed or answer.second_look  # worked out, or asked as it is


@pytest.mark.parametrize("named", ["", "by-date", "emailed", "word"],
                         ids=["stamped", "named-by-date", "emailed", "dated-by-metadata"])
def test_real_interval_question_searches_both_events_and_counts_the_days(named, real_bot, real_settings, tmp_path):
    bot = _diary_bot(real_bot, real_settings, tmp_path, named)
    answer = bot.ask("How many days passed between Sam's move to Leeds and Sam's first day at the lab?")
    shown = " ".join(h.chunk.text for h in answer.passages)
    assert "moved to Leeds" in shown and "first day at the lab" in shown  # one search per event
    # whatever the tiny model writes, a count shown to the user is one the program made, or one
    # the passages state
    computed = [s for s in answer.sentences if s.computed]
    assert answer.refused or answer.second_look or (computed and "is 25 days (computed)" in answer.text)


def _cli(args, settings, **kw):
    env = {**os.environ, "RAG_MODEL": "smollm2-135m", "RAG_MAX_TOKENS": "64", "RAG_INDEX_DIR": settings.index_dir}
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], env=env, capture_output=True, text=True,
                          timeout=600, **kw)


def test_cli_docs_ask_remove(real_settings, real_bot, tmp_path):
    out = _cli(["docs"], real_settings)
    assert out.returncode == 0 and "all-MiniLM-L6-v2" in out.stdout and out.stdout.count(" chunks  ") == 5
    out = _cli(["ask", "--json", "How much did Meta plan to spend on capex in 2025?"], real_settings)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["text"] and len(answer["passages"]) == real_settings.top_k
    note = tmp_path / "note.txt"
    note.write_text("The blue heron nests by the old mill pond every spring.")
    assert _cli(["ingest", str(note)], real_settings).returncode == 0
    assert _cli(["remove", "note.txt"], real_settings).returncode == 0
    out = _cli(["remove", "note.txt"], real_settings)
    assert out.returncode == 1 and "not indexed" in out.stderr


def test_cli_errors_are_one_line_messages(real_settings, tmp_path):
    out = _cli(["--model", "no-such-model", "ask", "hi"], real_settings)
    assert out.returncode == 1 and out.stderr.startswith("error: ") and "Traceback" not in out.stderr
    out = _cli(["--top-k", "lots", "docs"], real_settings)
    assert out.returncode == 1 and "must be int" in out.stderr
    out = _cli(["ingest", str(tmp_path / "nothing-here")], real_settings)
    assert out.returncode == 1 and "no such file" in out.stderr


def test_cli_chat_streams_and_keeps_turns(real_settings, real_bot):
    out = _cli(["chat"], real_settings, input="What is DeepSeek?\nAnd Meta?\n\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("> ") >= 3 and "documents" in out.stdout


def test_real_context_keeps_the_amount_and_verification_reads_its_year(real_bot):
    from rag import verify
    # a comparison: each side searched and given half the context, which keeps the sentences
    # that state the two amounts
    turn = real_bot.read("Microsoft's capex in fiscal Q1 2025 was how many times Tesla's accumulated "
                         "AI-related capex so far?")
    assert len(turn.parts) == 2 and turn.compared
    shown = " ".join(h.chunk.text for h in turn.passages)
    assert "USD20bn" in shown and "$5 billion" in shown
    question = "How many dollars will Tesla spend on capex in 2025?"
    hits = [h for h in real_bot.retrieve(question) if "$5 billion" in h.chunk.text]
    assert hits
    passages = {1: hits[0].chunk.text}
    documents = {1: real_bot.store.source_text(hits[0].chunk.source)}
    (c,) = verify.check("About $5 billion [1].", passages, question=question, documents=documents)
    assert not c.supported and c.missing == ("$5 billion in 2025",)  # a total so far, not 2025's


def test_real_both_question_reads_passages_for_each_part(real_bot):
    question = ("What use of compute, rather than training, do both Meta's CEO and its chief AI scientist "
                "say will take much of the AI infrastructure spending?")
    answer = real_bot.ask(question)
    read = {os.path.basename(h.chunk.source) for h in answer.passages if "inference" in h.chunk.text}
    assert len(read) >= 2  # the CEO's words and the chief AI scientist's, from their own documents


def test_real_context_reads_a_ticker_as_the_company_it_stands_for(real_bot):
    from rag import context
    side = "Microsoft's capex plans for their 2025 (fiscal) year"  # the passage says "MSFT"
    shown = context.select(side, real_bot.embedder.embed_query(side), real_bot.retrieve(side), real_bot.embedder,
                           real_bot.settings.context_tokens // 2, wants_amount=True)
    assert all("MSFT" in h.chunk.text for h in shown[:2])  # before the Tesla passage that says "CapEx"


def test_real_negated_question_is_not_answered_from_passages_without_a_negation(real_bot):
    from rag import verify
    answer = real_bot.ask("What did Zuckerberg say Meta would not spend money on in 2025?")
    cited = " ".join(c.text for c in answer.citations if c.supported)
    assert answer.refused or not verify.opposite(answer.query, cited)


def test_real_second_look_reads_the_best_passage_alone(real_settings, real_bot):
    class CopiesTheExampleFirst:
        """The real model, except that its first answer is the prompt's example, copied."""
        id = real_bot.generator.id

        def __init__(self):
            self.prompts = []

        def stream(self, messages, max_tokens=384, temperature=0.0):
            self.prompts.append(messages[-1]["content"])
            if len(self.prompts) == 1:
                yield "More than $2 billion, mainly on robots [1]."
            else:
                yield from real_bot.generator.stream(messages, max_tokens, temperature)

    generator = CopiesTheExampleFirst()
    bot = rag.Bot(real_settings, embedder=real_bot.embedder, generator=generator)
    answer = bot.ask("According to Zuckerberg, what does Meta have that lets it offer a higher quality "
                     "of service on a sustainable basis?")
    assert len(generator.prompts) == 2
    shown = generator.prompts[1].split("Passages:")[1]
    assert "[1]" in shown and "[2]" not in shown and "business model" in shown
    if not answer.refused:  # what the tiny model makes of it is checked like any answer
        assert answer.second_look and len(answer.passages) == 1
        assert answer.citations and all(c.supported for c in answer.citations)
