import pytest

from rag.errors import ConfigError


def test_ask_parses_citations_and_drops_bad_markers(make_bot, docs_dir, fake_generator):
    bot = make_bot(top_k=2)
    bot.ingest([docs_dir])
    fake_generator.queue("Bananas are yellow [1]. Cherries are dark red [1][9].")
    answer = bot.ask("What colour are bananas?")
    assert answer.text == "Bananas are yellow [1]. Cherries are dark red [1]."
    assert not answer.refused
    assert len(answer.passages) == 2 and answer.passages[0].rank == 1
    (cite,) = answer.citations
    assert cite.n == 1 and cite.name == "fruit.txt" and "Bananas are yellow" in cite.text
    assert answer.timings.total_s >= answer.timings.retrieve_s >= 0


def test_prompt_numbers_the_passages_and_holds_the_question(make_bot, docs_dir, fake_generator):
    bot = make_bot(top_k=2, rewrite=False, compact=False)
    bot.ingest([docs_dir])
    bot.ask("How many moons does Mars have?", history=[("Earlier question?", "Earlier answer.")])
    messages = fake_generator.seen[-1]
    assert messages[0]["role"] == "system"
    assert [m["content"] for m in messages[1:3]] == ["Earlier question?", "Earlier answer."]
    prompt = messages[-1]["content"]
    assert "[1] (" in prompt and "[2] (" in prompt and "How many moons does Mars have?" in prompt
    assert "I could not find the answer in your documents." in prompt


def test_stream_yields_text_then_answer(make_bot, docs_dir, fake_generator):
    bot = make_bot()
    bot.ingest([docs_dir])
    fake_generator.queue("Mars has two moons [1]. The Moon orbits the Earth every 27 days [1].")
    parts = list(bot.stream("How many moons does Mars have?"))
    *pieces, answer = parts
    assert all(isinstance(p, str) for p in pieces) and len(pieces) == 2  # one per checked sentence
    assert "".join(pieces) == answer.text == "Mars has two moons [1]. The Moon orbits the Earth every 27 days [1]."
    assert answer.timings.first_token_s is not None
    t = answer.timings  # each stage's time, within the whole
    assert t.generate_s > 0 and t.check_s > 0 and t.total_s >= t.retrieve_s + t.generate_s + t.check_s
    # the generator's count of the prompt it read reaches the Answer (the fake counts words)
    (messages,) = fake_generator.seen
    assert answer.timings.prompt_tokens == sum(len(m["content"].split()) for m in messages) > 0


def test_refusal_is_one_fixed_sentence(make_bot, docs_dir, fake_generator):
    bot = make_bot()
    bot.ingest([docs_dir])
    fake_generator.queue("I could not find the answer in your documents [1].")
    answer = bot.ask("Who won the 1998 World Cup?")
    assert answer.refused and answer.text == bot.refusal and answer.citations == ()


def test_empty_index_refuses_without_calling_the_model(make_bot, fake_generator):
    answer = make_bot().ask("Anything?")
    assert answer.refused and fake_generator.seen == []


def test_retrieval_modes(make_bot, docs_dir):
    bot = make_bot()
    bot.ingest([docs_dir])
    for mode in ("dense", "bm25", "hybrid"):
        top = bot.retrieve("yellow bananas", k=1, mode=mode)[0]
        assert top.chunk.name == "fruit.txt", mode
    hybrid = bot.retrieve("yellow bananas", k=1, mode="hybrid")[0]
    assert hybrid.dense is not None and hybrid.lexical is not None
    with pytest.raises(ConfigError):
        bot.retrieve("x", mode="magic")


def test_a_copy_of_a_better_passage_is_left_out_of_the_hits(make_bot, docs_dir):
    (docs_dir / "fruit-copy.txt").write_text((docs_dir / "fruit.txt").read_text())
    bot = make_bot()
    bot.ingest([docs_dir])
    names = [h.chunk.name for h in bot.retrieve("yellow bananas", k=2)]
    assert names[1] == "space.md" and names[0] in ("fruit.txt", "fruit-copy.txt")
    kept_all = make_bot(duplicate_cosine=1.0).retrieve("yellow bananas", k=2)
    assert sorted(h.chunk.name for h in kept_all) == ["fruit-copy.txt", "fruit.txt"]


def test_a_name_the_rewrite_brought_in_does_not_refuse_the_follow_up(bot_over, fake_generator):
    bot = bot_over({"hotel.txt": "Jamal: I booked you a room at the Harbourside Inn in Bristol for the talk.\n"},
                   min_score=0.0)
    history = [("Who is Nadia's line manager?", "Jamal Reid is her line manager [1].")]
    fake_generator.queue("Which hotel did Jamal Reid book for Nadia in Bristol?", "The Harbourside Inn [1].")
    answer = bot.ask("Which hotel did he book for her in Bristol?", history=history)
    assert answer.query == "Which hotel did Jamal Reid book for Nadia in Bristol?"  # "Reid" is in no document
    assert not answer.refused and answer.text == "The Harbourside Inn [1]."
    # a name the user wrote that no document has still refuses before the model runs
    answer = bot.ask("Which hotel did Priya Okafor book in Bristol?")
    assert answer.refused and answer.refusal_reason == "unknown-terms"


def test_a_name_the_search_missed_is_searched_for_when_the_index_holds_it(bot_over):
    bot = bot_over({
        "deconv.txt": "Deconvolution can cause checkerboard artifacts. "
                      "The deconvolution paper was written by Odena, Dumoulin and Olah.\n",
        "film.txt": "FiLM layers apply an affine transformation per feature map. "
                    "Written by Dumoulin, Perez and Schucher.\n",
    }, top_k=1, min_score=0.0, compact=False)
    question = "Which author of the Deconvolution paper also wrote FiLM?"
    turn = bot.read(question)
    assert [h.chunk.source.rsplit("/", 1)[-1] for h in turn.hits] == ["deconv.txt", "film.txt"]
    assert turn.refusal_reason == ""
    # a name no document holds still refuses before the model runs
    assert bot.read("Which author of the Deconvolution paper also wrote ResNet?").refusal_reason == "unknown-terms"
