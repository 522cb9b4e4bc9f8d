"""Compact context, citation verification, abstention and follow-up rewriting (with fakes)."""

import io

from rag import cli, context, conjunction, followup, verify
from rag.fakes import FakeEmbedder
from rag.types import Chunk, Hit

REFUSAL = "I could not find the answer in your documents."


def _hit(text, rank, start=100, source="/d/a.txt"):
    return Hit(chunk=Chunk(id=f"c{rank}", source=source, text=text, start=start, end=start + len(text)),
               score=1.0, rank=rank)


# ---------- sentence selection ----------
def test_selected_sentences_keep_exact_spans():
    doc = "Intro words here. Meta will spend sixty billion on capex. Unrelated weather talk. Rain falls."
    hits = [_hit(doc, 1, start=500)]
    emb = FakeEmbedder()
    out = context.select("Meta capex spend", emb.embed_query("Meta capex spend"), hits, emb, budget=12,
                         neighbours=1)
    assert out and out[0].rank == 1
    c = out[0].chunk
    assert "Meta will spend sixty billion on capex." in c.text and "Rain falls." not in c.text
    assert doc[c.start - 500:c.end - 500] == c.text  # span stays exact in the source
    assert c.source == "/d/a.txt"


def test_selection_makes_one_passage_per_run_and_respects_budget():
    a = "Apples are red. Cars are fast. Apples grow on trees. Boats float."
    b = "Trains run on rails. Apples are sweet."
    emb = FakeEmbedder()
    out = context.select("apples", emb.embed_query("apples"), [_hit(a, 1), _hit(b, 2, source="/d/b.txt")],
                         emb, budget=9, neighbours=0)
    texts = [h.chunk.text for h in out]
    assert all("Apples" in t for t in texts)
    assert sum(len(t.split()) for t in texts) <= 9
    assert [h.rank for h in out] == list(range(1, len(out) + 1))


def test_a_sentence_shared_by_overlapping_chunks_is_read_once():
    doc = "Pears are green. Apples are red. Apples are sweet. Grapes are small."
    first, second = doc[:doc.index(" Grapes")], doc[doc.index("are red"):]  # cut mid-sentence
    hits = [_hit(first, 1, start=0), _hit(second, 2, start=doc.index("are red"))]
    emb = FakeEmbedder()
    out = context.select("apples", emb.embed_query("apples"), hits, emb, budget=40, neighbours=0)
    texts = " ".join(h.chunk.text for h in out)
    assert texts.count("are red.") == 1 and texts.count("Apples are sweet.") == 1
    for h in out:
        assert doc[h.chunk.start:h.chunk.end] == h.chunk.text


def test_a_question_asking_for_an_amount_prefers_a_sentence_that_states_one():
    text = "The lake club budget was discussed. The lake club budget was $40 million."
    emb = FakeEmbedder()
    q = "lake club budget"
    plain = context.select(q, emb.embed_query(q), [_hit(text, 1)], emb, budget=6, neighbours=0)
    wanted = context.select(q, emb.embed_query(q), [_hit(text, 1)], emb, budget=6, neighbours=0,
                            wants_amount=True)
    assert "$40 million" not in plain[0].chunk.text
    assert "$40 million" in wanted[0].chunk.text


def test_a_short_form_in_capitals_counts_as_the_word_it_stands_for():
    text = "The Tesla budget. The MSFT budget rose."
    emb = FakeEmbedder()
    q = "Microsoft budget"
    out = context.select(q, emb.embed_query(q), [_hit(text, 1)], emb, budget=3, neighbours=0)
    assert [h.chunk.text for h in out] == ["The MSFT budget rose."]


def test_the_writer_heading_each_line_of_a_message_log_does_not_make_a_line_relevant():
    log = "[2025-03-07 09:00] Sam: ok\n[2025-03-07 09:01] Kim: hall booking form left on my desk today for signing\n"
    emb = FakeEmbedder(dim=4096)  # no two of these words share a dimension
    q = "When did Sam send the booking?"
    out = context.select(q, emb.embed_query(q), [_hit(log, 1)], emb, budget=12, neighbours=0)
    assert [h.chunk.text for h in out] == ["[2025-03-07 09:01] Kim: hall booking form left on my desk today for signing"]


# ---------- citation verification ----------
PASSAGES = {1: "Zuckerberg said Meta would spend more than $60 billion in 2025 on capital expenditures.",
            2: "Microsoft expects to spend $80 billion on AI data centers this fiscal year."}


def test_supported_sentence_keeps_its_citation():
    (c,) = verify.check("Meta would spend more than $60 billion in 2025 [1].", PASSAGES)
    assert c.supported and c.cited == (1,) and not c.reattributed


def test_wrong_citation_is_reattributed():
    (c,) = verify.check("Microsoft expects to spend $80 billion on AI data centers [1].", PASSAGES)
    assert c.supported and c.cited == (2,) and c.reattributed


def test_a_pair_of_passages_does_not_lend_one_owners_amount_to_another():
    passages = {1: "Acme will spend over $60 million on its plant this year.",
                2: "Bolt has spent about $5 million on robots so far."}
    documents = {1: "Acme and Zenith both make robots.", 2: "Bolt is a robot maker."}
    (c,) = verify.check("Acme will spend over $60 million, while Bolt has spent about $5 million [1].",
                        passages, 0.5, documents=documents)
    assert c.supported and c.cited == (1, 2) and c.reattributed
    (c,) = verify.check("Acme will spend over $60 million, while Zenith has spent about $5 million [1].",
                        passages, 0.5, documents=documents)
    # Zenith is named in passage 1's document, but the $5 million is Bolt's: only the first part stands
    assert c.supported and c.cited == (1,) and c.text == "Acme will spend over $60 million."
    assert c.dropped.startswith("while Zenith")


def test_invented_number_is_never_supported():
    (c,) = verify.check("Meta would spend more than $75 billion in 2025 [1].", PASSAGES)
    assert not c.supported and "75 billion" in c.missing


def test_an_unsupported_ending_is_cut_off():
    passages = {1: "Ann Roe, a former Bolt engineer who exposed the leak, has retired at age..."}
    (c,) = verify.check("Ann Roe, a former Bolt engineer who exposed the leak, has retired at age 59 [1].",
                        passages)
    assert c.supported and c.text == "Ann Roe, a former Bolt engineer who exposed the leak, has retired."
    assert c.dropped == "at age 59."
    (c,) = verify.check("Meta spends $75 billion [1].", PASSAGES)  # nothing is left without the number
    assert not c.supported
    # the cut is not left hanging on the word that joined the ending
    (c,) = verify.check("Ann Roe has retired from Bolt, and at age 59 [1].", passages)
    assert c.supported and c.text == "Ann Roe has retired from Bolt." and c.dropped == "and at age 59."


def test_unknown_name_is_unsupported():
    (c,) = verify.check("Google would spend more than $60 billion in 2025 [1].", PASSAGES)
    assert not c.supported and "google" in c.missing


def test_what_is_missing_is_listed_in_the_order_the_sentence_says_it():
    # the same on every run: no set decides the order (it would follow the hash seed)
    (c,) = verify.check("Zeta, Google, Acme and Yotta spend $60 billion and $7 billion on it [1].", PASSAGES)
    assert not c.supported and c.missing == ("7 billion", "zeta", "google", "acme", "yotta")


def test_numbers_are_normalised_with_their_scale():
    assert verify.numbers("$1,000 and 1000.0 and 65bn and 65 billion") == {"1000", "65e9"}
    years = {1: "Acme won't need another plant for 3-5 years.", 2: "Acme spends USD80bn on plants this year."}
    (c,) = verify.check("Acme's plant budget is $5 billion [1].", years)
    assert not c.supported and c.missing == ("5 billion",)
    (c,) = verify.check("Acme spends $80 billion on plants [1].", years)
    assert c.supported and c.cited == (2,)


def test_render_drops_unsupported_and_places_markers():
    checks = verify.check("Meta spends more than $60 billion in 2025 [2]. Apple spends $9 billion [1].", PASSAGES)
    assert verify.render(checks) == "Meta spends more than $60 billion in 2025 [1]."


# ---------- the pipeline with all of it ----------
def _bot(make_bot, docs_dir, **kw):
    bot = make_bot(**kw)
    bot.ingest([docs_dir])
    return bot


def test_unsupported_sentence_is_dropped_and_answer_says_so(make_bot, docs_dir, fake_generator):
    bot = _bot(make_bot, docs_dir, compact=False)
    fake_generator.queue("Bananas are yellow [1]. Bananas cost 12 dollars [1].")
    answer = bot.ask("What colour are bananas?")
    assert answer.text == "Bananas are yellow [1]."
    assert [s.supported for s in answer.sentences] == [True, False]
    assert answer.citations[0].supported is True


def test_answer_with_no_supported_sentence_is_refused(make_bot, docs_dir, fake_generator):
    bot = _bot(make_bot, docs_dir)
    fake_generator.queue("The Eiffel Tower is 330 metres tall [1].")
    answer = bot.ask("How tall is the Eiffel Tower?")
    assert answer.refused and answer.text == REFUSAL and answer.passages


def test_low_retrieval_score_refuses_before_generation(make_bot, docs_dir, fake_generator):
    bot = _bot(make_bot, docs_dir, min_score=0.99)
    answer = bot.ask("Completely unrelated quantum chromodynamics?")
    assert answer.refused and fake_generator.seen == [] and answer.passages  # closest passages listed


def test_follow_up_is_rewritten_before_retrieval(make_bot, docs_dir, fake_generator):
    bot = _bot(make_bot, docs_dir)
    fake_generator.queue("How many moons does Mars have?", "Mars has two moons [1].")
    answer = bot.ask("How many moons does it have?", history=[("Which planet is red?", "Mars [1].")])
    assert answer.query == "How many moons does Mars have?"
    rewrite_prompt = fake_generator.seen[0][-1]["content"]
    assert "Which planet is red?" in rewrite_prompt and "How many moons does it have?" in rewrite_prompt
    assert "How many moons does Mars have?" in fake_generator.seen[1][-1]["content"]
    assert answer.passages[0].chunk.name == "space.md"


def test_an_elliptical_follow_up_is_the_last_question_asked_again_without_a_rewrite_call(
        make_bot, docs_dir, fake_generator):
    bot = _bot(make_bot, docs_dir)
    fake_generator.queue("Mars has two moons [1].")
    answer = bot.ask("And Mars?", history=[("How many moons does Earth have?", "One.")])
    assert answer.query == "How many moons does Mars have?"
    assert len(fake_generator.seen) == 1  # the answer only
    assert "How many moons does Mars have?" in fake_generator.seen[0][-1]["content"]
    assert answer.passages[0].chunk.name == "space.md"


def test_no_rewrite_without_history(make_bot, docs_dir, fake_generator):
    bot = _bot(make_bot, docs_dir)
    fake_generator.queue("Mars has two moons [1].")
    bot.ask("How many moons does Mars have?")
    assert len(fake_generator.seen) == 1


def test_names_may_come_from_the_passage_document_not_the_question():
    passages = {1: "MSFT said its Q2 FY 2025 ends in December."}
    question = "When does Microsoft's Q2 end?"
    assert not verify.check("Microsoft's Q2 ends in December [1].", passages, question=question)[0].supported
    documents = {1: "Microsoft (MSFT) reported. MSFT said its Q2 FY 2025 ends in December."}
    assert verify.check("Microsoft's Q2 ends in December [1].", passages, question=question,
                        documents=documents)[0].supported
    # a name the user asked about is not borrowed from the question: Amazon is in no document
    assert not verify.check("Amazon's Q2 ends in December [1].", passages, question="When does Amazon's Q2 end?",
                            documents=documents)[0].supported


def test_restating_the_question_is_not_an_answer():
    passages = {1: "DeepSeek trained its model on Nvidia GPUs, reportedly H800s."}
    question = "Which Nvidia GPU model did DeepSeek use to train its model?"
    (c,) = verify.check("The Nvidia GPU model DeepSeek used to train its model is mentioned in [1].", passages,
                        question=question)
    assert not c.supported
    (c,) = verify.check("DeepSeek used H800s [1].", passages, question=question)
    assert c.supported
    spend = {1: "Zuckerberg said Meta would spend money on data centers."}
    (c,) = verify.check("Zuckerberg said Meta would not spend money on deepfakes [1].", spend,
                        question="What did Zuckerberg say Meta would not spend money on?")
    assert not c.supported  # all it adds to the question is an invented word
    cfo = {1: "The MSFT CFO said capex would rise."}
    (c,) = verify.check("It is the MSFT CFO [1].", cfo, question="Who is the Microsoft CFO?")
    assert not c.supported  # "MSFT" is the question's Microsoft, not an answer


def test_a_short_name_is_an_answer_that_its_passage_must_hold_as_a_word():
    talk = {1: "[2025-10-04 09:15] Jamal: You're on at 14:30 on the first day, room B."}
    question = "Which room was Nadia's talk scheduled in?"
    assert verify.check("Room B [1].", talk, question=question)[0].supported  # "B" is what it adds
    assert not verify.check("Room C [1].", talk, question=question)[0].supported
    assert not verify.check("Room A [1].", talk, question=question)[0].supported  # "a" only inside "day"
    assert not verify.check("Room [1].", talk, question=question)[0].supported  # only the question's word
    sne = {1: "t-SNE takes time quadratic in the number of points n."}
    assert not verify.check("It is O(n^2) [1].", sne, question="What is the time complexity of t-SNE?")[0].supported


def test_unknown_terms_of_a_question():
    docs = "Meta will spend $60 billion in 2025. Microsoft spends too."
    assert verify.unknown_terms("How much will Amazon spend in 2025?", docs) == ["amazon"]
    assert verify.unknown_terms("What did Meta spend in 2024?", docs) == ["2024"]
    assert verify.unknown_terms("How much will Meta spend in 2025?", docs) == []
    assert verify.unknown_terms("What does Meta spend? Tell me more.", docs) == []  # a sentence's first word
    assert verify.unknown_terms("Meta spends. Does Amazon?", docs) == ["amazon"]


def test_what_a_question_sets_aside_need_not_be_in_the_documents():
    docs = "Jamal: The talk slot is 25 minutes plus questions. The room is £80 a night."
    assert verify.unknown_terms("How long is the talk slot, not counting Q&A?", docs) == []
    assert verify.unknown_terms("What does the room cost excluding VAT?", docs) == []
    assert verify.unknown_terms("How long is the Q&A?", docs) == ["q&a"]
    assert verify.unknown_terms("What does the room cost, not including VAT, at the Hilton?", docs) == ["hilton"]


def test_a_code_term_the_documents_never_mention_is_unknown():
    docs = "Dictionaries: popitem() removes and returns a pair. Run python with -O to optimise."
    assert verify.unknown_terms("What does asyncio.TaskGroup do?", docs) == ["asyncio.taskgroup"]
    assert verify.unknown_terms("What does `lru_cache` do?", docs) == ["lru_cache"]
    assert verify.unknown_terms("What does dict.popitem() return?", docs) == []  # its last part is there
    assert verify.unknown_terms("What does the -O option do?", docs) == []


def test_question_about_an_absent_name_is_refused_before_generation(make_bot, docs_dir, fake_generator):
    bot = _bot(make_bot, docs_dir)
    answer = bot.ask("What colour are Durians?")
    assert answer.refused and fake_generator.seen == []


def test_question_about_an_absent_code_term_is_refused_before_generation(make_bot, docs_dir, fake_generator):
    bot = _bot(make_bot, docs_dir)
    answer = bot.ask("Are apples red after fruit.ripen() runs?")
    assert answer.refused and answer.refusal_reason == "unknown-terms" and fake_generator.seen == []
    assert answer.notices == ("Your documents never mention \u201cfruit.ripen\u201d.",)


def test_sentence_needing_two_passages_is_attributed_to_both():
    passages = {1: "Nvidia's stock dropped almost 20% on Monday.", 2: "Weather was mild.",
                3: "The sell-off wiped $1 trillion from market capitalisation."}
    (c,) = verify.check("Nvidia's stock dropped almost 20%, a $1 trillion market capitalisation loss.", passages)
    assert c.supported and c.cited == (1, 3)


def test_a_rewrite_that_loses_the_follow_up_falls_back_to_both_questions(make_bot, docs_dir, fake_generator):
    bot = _bot(make_bot, docs_dir)
    history = [("How many moons does Earth have?", "One.")]
    fake_generator.queue("How many moons does Earth have?")  # the earlier question, repeated
    assert bot.rewrite("And how fast does Mars orbit?", history) == \
        "How many moons does Earth have? One. And how fast does Mars orbit?"
    fake_generator.queue("And in Q2?")  # unchanged
    assert bot.rewrite("And in Q2?", history) == "How many moons does Earth have? One. And in Q2?"
    fake_generator.queue("And in Q2?")
    refused = [("How many moons does Earth have?", bot.refusal)]
    assert bot.rewrite("And in Q2?", refused) == "How many moons does Earth have? And in Q2?"
    fake_generator.queue("What is the size of the Earth?")  # lost the follow-up's words
    assert bot.rewrite("What will that money mainly be spent on?", history).startswith("How many moons")


def test_a_how_many_question_needs_a_quantity_in_the_answer(make_bot, docs_dir, fake_generator):
    bot = _bot(make_bot, docs_dir)
    fake_generator.queue("Cherries are small and dark red [1].")
    answer = bot.ask("How many cherries are there?")
    assert answer.refused and answer.raw_text  # supported, but not an answer to "how many"
    fake_generator.queue("Cherries are small and dark red [1].")
    assert not bot.ask("What colour are cherries?").refused


def test_gives_quantity():
    assert verify.gives_quantity("How many GPUs?", "It used 2,048 GPUs.")
    assert verify.gives_quantity("How much will Meta invest?", "Hundreds of billions of dollars.")
    assert not verify.gives_quantity("How much did it cost?", "It used less powerful hardware [2].")
    assert verify.gives_quantity("Who is the CEO?", "Jane Doe.")
    # the counts written as words are the ones the compact context looks for (rag.text.COUNT_WORDS)
    assert verify.gives_quantity("How many delegates came?", "Sixty delegates came [1].")
    assert verify.gives_quantity("How many delegates came?", "Twice as many as last year [1].")


def test_a_rewrite_must_keep_most_of_the_follow_ups_words(make_bot, docs_dir, fake_generator):
    bot = _bot(make_bot, docs_dir)
    history = [("How far did the river fall in the flood?", "About 3 metres.")]
    fake_generator.queue("How much of the 3 metres did the Acme dam hold back?")  # "drop" is lost
    assert bot.rewrite("How much of that drop was Acme's?", history).startswith("How far did the river fall")
    fake_generator.queue("How much of the 3 metre drop was Acme's?")
    assert bot.rewrite("How much of that drop was Acme's?", history) == "How much of the 3 metre drop was Acme's?"


def test_a_short_follow_up_may_be_rephrased(make_bot, docs_dir, fake_generator):
    bot = _bot(make_bot, docs_dir)
    fake_generator.queue("When did Tesla launch its robotaxi service?")
    assert bot.rewrite("Starting when?", [("Where is Tesla launching robotaxis?", "Austin.")]) == \
        "When did Tesla launch its robotaxi service?"


def test_a_rewrite_must_ask_with_the_same_question_word(make_bot, docs_dir, fake_generator):
    bot = _bot(make_bot, docs_dir)
    history = [("Who wrote the post about Nvidia?", "Timothy B. Lee.")]
    fake_generator.queue("Who did Timothy B. Lee suggest traders were tipped off about?")
    assert bot.rewrite("What does he suggest traders were tipped off about?", history) == \
        "Who wrote the post about Nvidia? Timothy B. Lee. What does he suggest traders were tipped off about?"
    fake_generator.queue("What does Timothy B. Lee suggest traders were tipped off about?")
    assert bot.rewrite("What does he suggest traders were tipped off about?", history) == \
        "What does Timothy B. Lee suggest traders were tipped off about?"


def test_answers_question():
    tesla = "Tesla's accumulated AI capex is approximately $5 billion."
    assert verify.failed_check("What is Tesla's AI capex?", "About $5 billion [1].", tesla) == ""
    assert verify.failed_check("How much is Tesla's AI capex?", "It is large [1].", tesla) != ""
    review = "The review hopes to see what games can do on the new Falcon cards."
    assert verify.failed_check("Which new Acme cards does the review want?", "Falcon cards [1].", review) == ""


def test_a_question_about_what_is_not_so_needs_a_passage_that_says_so():
    assert verify.opposite("What was not needed for a state to survive?", "Imperialism was needed for a state to survive.")
    assert not verify.opposite("What was not needed for a state to survive?", "Roads were not needed by the state.")
    assert verify.opposite("What territory wasn't ceded?", "France ceded Canada.")
    assert not verify.opposite("What territory wasn't ceded?", "France ceded all but New Orleans, which it didn't cede.")
    assert verify.opposite("What is the least used reduction?", "Karp reductions are the most used.")
    assert not verify.opposite("Can it be solved whether or not the input is large?", "It can be solved.")
    # a "not" that qualifies what is counted asks for no contrary
    assert not verify.opposite("How long is the talk, not counting Q&A?", "The talk is 25 minutes plus 5 for Q&A.")
    assert not verify.opposite("What does the room cost, not including VAT?", "The room is £80 plus VAT.")
    assert verify.opposite("What was not counted in the census?", "Every household was counted in the census.")
    assert not verify.opposite("What was needed?", "Imperialism was needed.")
    assert verify.opposite("Who uninvited Washington?", "Saint-Pierre invited Washington to dine.")
    assert not verify.opposite("Who uninvited Washington?", "Saint-Pierre uninvited Washington.")
    assert not verify.opposite("What is unknown about P?", "It is not known whether P is NP.")
    assert verify.opposite("Which non-member states signed?", "Member states signed.")
    assert verify.opposite("Who called it the lowest form?", "Lenin called it the highest form.")
    assert not verify.opposite("Who called it the lowest form?", "Lenin called it the lowest, not the highest, form.")
    assert not verify.opposite("What happened before the war?", "After the war, peace came.")  # not a contrary
    assert not verify.opposite("Which spends more, Acme or Bolt?", "Bolt spends less than Acme.")


def test_a_negated_question_answered_from_a_positive_passage_is_refused(bot_over, fake_generator):
    bot = bot_over({"acme.txt": "Acme needed robots to run its plant.\n"})
    fake_generator.queue("Robots [1].", "Robots [1].")
    assert bot.ask("What did Acme not need to run its plant?").refused
    assert not bot.ask("What did Acme need to run its plant?").refused


def test_naming_only_the_kind_asked_for_is_no_answer():
    question = "Which specific Acme GPU model did Bolt use?"
    assert verify.names_only_the_kind(question, "Acme chips [1].")
    assert not verify.names_only_the_kind(question, "Acme X900 chips [1].")
    assert not verify.names_only_the_kind(question, "older chips [1].")  # no name: the overlap checks decide
    assert not verify.names_only_the_kind("Which company, Meta or Google, is spending more?", "Meta [1].")
    assert not verify.names_only_the_kind("Who runs Meta?", "Meta's CEO [1].")


def test_without_a_usable_rewrite_the_model_reads_the_conversation(make_bot, docs_dir, fake_generator):
    bot = _bot(make_bot, docs_dir)
    fake_generator.queue("And its rings?", "Earth has no rings [1].")  # the rewrite is the follow-up unchanged
    answer = bot.ask("And its rings?", history=[("How many moons does Earth have?", "One.")])
    assert answer.query == "How many moons does Earth have? One. And its rings?"
    messages = fake_generator.seen[1]
    assert [m["content"] for m in messages[1:3]] == ["How many moons does Earth have?", "One."]
    assert messages[-1]["content"].rstrip().endswith("Question: And its rings?")


def test_which_follow_ups_lean_on_the_conversation():
    for question in ("And in Q2?", "Starting when?", "What will that money be spent on?",
                     "On which platform did he post it?", "So how many dollars is that?"):
        assert followup.needs_context(question), question
    assert not followup.needs_context("How many moons does Mars have?")


def test_an_elliptical_follow_up_takes_the_place_of_the_phrase_it_stands_for():
    cases = {
        ("What colour did Tom paint his kitchen?", "And the nursery?"): "What colour did Tom paint the nursery?",
        ("What was Nadia's favourite day in Lisbon?", "And Maria's?"): "What was Maria's favourite day in Lisbon?",
        ("How much was the spring term of Nadia's Spanish class?", "And Carmen's online group?"):
            "How much was the spring term of Carmen's online group?",
        ("What does the ',' option of the format mini-language do?", "And the '_' option?"):
            "What does the '_' option of the format mini-language do?",
        ("Which exception is raised when a generator is done?", "And for an asynchronous generator?"):
            "Which exception is raised when an asynchronous generator is done?",
        ("How much did Microsoft spend on capex in its fiscal Q1 2025?", "And in Q2?"):
            "How much did Microsoft spend on capex in Q2?",
        ("What does the -X importtime option print?", "What about the -X dev option?"):
            "What does the -X dev option print?",
        ("What is the capital of France?", "And Germany?"): "What is the capital of Germany?",
    }
    for (last, question), expected in cases.items():
        assert followup.elliptical(question, [last]) == expected, question


def test_a_follow_up_that_asks_points_back_or_leaves_the_choice_open_is_not_substituted():
    last = "How much did Tesla spend on AI in 2024?"
    for question in ("And its reflected version?", "And who holds that role at Google?",
                     "And when was the embargo lifted?", "How about them?"):
        assert followup.elliptical(question, [last]) is None, question
    assert followup.elliptical("And Microsoft?", [last]) is None  # Tesla or AI: two names
    assert followup.elliptical("And the board?", ["What did the committee say about the budget?"]) is None
    assert followup.elliptical("And the bathroom?", ["And the nursery?"]) is None  # nothing to make it whole


def test_an_elliptical_follow_up_after_another_takes_the_question_they_both_stand_for():
    asked = ["What colour did Tom paint his kitchen?", "And the nursery?"]
    assert followup.elliptical("And the bathroom?", asked) == "What colour did Tom paint the bathroom?"
    assert followup.elliptical("And Maria's?", ["What was Nadia's favourite day?", "And Tom's?"]) == \
        "What was Maria's favourite day?"


def test_a_follow_up_not_rewritten_is_searched_with_the_last_exchange_without_its_markers():
    history = [("How much will Meta spend?", "Over $60 billion [1][2], more than in 2024 [1, 3].")]
    assert followup.combined("And Microsoft?", history) == \
        "How much will Meta spend? Over $60 billion, more than in 2024. And Microsoft?"
    refused = [("Who won?", "I could not find the answer in your documents.")]
    assert followup.combined("And then?", refused, "I could not find the answer") == "Who won? And then?"


def test_a_follow_up_that_stands_alone_is_asked_as_it_is(make_bot, docs_dir, fake_generator):
    bot = _bot(make_bot, docs_dir)
    fake_generator.queue("Mars has two moons [1].")
    answer = bot.ask("How many moons does Mars have?", history=[("What colour are apples?", "Red.")])
    assert answer.query == "How many moons does Mars have?"
    (messages,) = fake_generator.seen  # no rewrite call, and no earlier turns in the prompt
    assert "apples" not in " ".join(m["content"] for m in messages)


def test_a_marker_after_a_closing_quote_belongs_to_its_sentence():
    passages = {1: 'Reviews of the Falcon card call it "quietly brilliant."', 2: "Acme spends more than $60 billion."}
    text = 'The reviews call it "quietly brilliant." [1] Acme spends more than $60 billion [2].'
    first, second = verify.check(text, passages)
    assert first.cited == (1,) and first.supported and not first.reattributed
    assert second.cited == (2,) and second.supported


def _ratio_bot(bot_over):
    return bot_over({
        "acme.txt": "Acme will spend over $60 million on its new plant this year.\n",
        "bolt.txt": "Bolt has spent $5 million on robots so far.\n",
    })


def test_a_ratio_is_computed_from_the_two_verified_amounts(bot_over, fake_generator):
    bot = _ratio_bot(bot_over)
    acme = "Acme will spend over $60 million on its new plant [{}]."
    bolt = "Bolt has spent $5 million on robots so far [{}]."
    hits = bot.retrieve("Acme new plant spend")
    n_acme = 1 if "Acme" in hits[0].chunk.text else 2
    fake_generator.queue(acme.format(n_acme) + " " + bolt.format(3 - n_acme))
    answer = bot.ask("Acme's spending on its new plant is how many times Bolt's spending on robots?")
    prompt = fake_generator.seen[-1][-1]["content"]
    assert "do not" in prompt and "Acme's spending on its new plant" in prompt  # asked for the amounts only
    assert not answer.refused and answer.sentences[-1].computed
    assert "$60 million is about 12 times $5 million (computed)" in answer.text
    assert {c.source.rsplit("/", 1)[-1] for c in answer.citations} == {"acme.txt", "bolt.txt"}


def test_which_is_larger_is_worked_out_by_the_program(bot_over, fake_generator):
    bot = _ratio_bot(bot_over)
    hits = bot.retrieve("Acme new plant spend")
    n_acme = 1 if "Acme" in hits[0].chunk.text else 2
    fake_generator.queue(f"Acme will spend over $60 million on its new plant [{n_acme}]. "
                         f"Bolt has spent $5 million on robots so far [{3 - n_acme}]. Bolt's is larger.")
    answer = bot.ask("Which is larger, Acme's spending on its new plant or Bolt's spending on robots?")
    assert not answer.refused and answer.sentences[-1].computed
    assert answer.text.endswith("$60 million is larger than $5 million (computed) [1][2].")
    assert "Bolt's is larger" not in answer.text  # the model's own comparison has no support


def test_a_ratio_question_answered_with_one_amount_is_refused(bot_over, fake_generator):
    bot = _ratio_bot(bot_over)
    fake_generator.queue("Bolt has spent $5 million on robots so far [1][2]. That is 7 times less [1].")
    answer = bot.ask("Acme's spending on its new plant is how many times Bolt's spending on robots?")
    assert answer.refused and not any(s.computed for s in answer.sentences)


# ---------- questions about what two things share ----------
def test_a_both_question_is_split_into_one_query_per_part():
    assert conjunction.parts("Which firm is named both as the maker of robots and as a buyer of plants?") == (
        "Which firm is named as the maker of robots?", "Which firm is named as a buyer of plants?")
    assert conjunction.parts("What do both Acme's CEO and its founder say about robots?") == (
        "What do Acme's CEO?", "What do its founder say about robots?")
    assert conjunction.parts("Which firm spends most on robots?") is None
    assert conjunction.parts("Is it both?") is None
    assert conjunction.parts("Which problem has both inflationary and deflationary effects?") is None


def test_a_both_question_searches_for_each_part(make_bot, tmp_path, fake_generator):
    docs = tmp_path / "firms"
    docs.mkdir()
    (docs / "makers.txt").write_text("Acme is the maker of the fastest welding robots.\n")
    (docs / "buyers.txt").write_text("Acme bought three old plants in Ohio.\n")
    for n in range(6):  # passages on the wording of the whole question, without either fact
        (docs / f"noise{n}.txt").write_text(f"Which firm is named both as one thing and as another {n}?\n")
    bot = make_bot(top_k=2)
    bot.ingest([docs])
    fake_generator.queue("Acme [1][2].")
    bot.ask("Which firm is named both as the maker of welding robots and as a buyer of plants?")
    prompt = fake_generator.seen[-1][-1]["content"]
    assert "welding robots" in prompt and "old plants" in prompt


# ---------- a second look at the best passage, after a copy of the worked example ----------
def _two_firms(bot_over, **settings):
    return bot_over({
        "acme.txt": "Acme builds its robots in Ohio.\n",
        "bolt.txt": "Bolt builds its boats in Maine.\n",
    }, **settings)


def test_a_draft_that_repeats_the_worked_example():
    examples = ("More than $2 billion, mainly on robots [1].",)
    passages = "Acme builds its robots in Ohio. It spent $3 billion on them."
    assert verify.copies_example("More than $2 billion, mainly on robots [1].", examples, passages, "Where?")
    assert verify.copies_example("Acme spent more than $2 billion [1].", examples, passages, "Where?")
    assert not verify.copies_example("Acme spent $3 billion on robots [1].", examples, passages, "Where?")
    assert not verify.copies_example("Mainly robots [1].", examples, passages, "What does it mainly build?")
    assert not verify.copies_example("1 in 4 [2].", examples, passages, "Where?")  # the example's [1] is no number


def test_a_draft_that_only_says_the_question_back():
    question = "Which venue did the committee choose?"
    assert verify.restates("The committee chose the venue [1].", question)
    assert verify.restates("The venue was chosen by the committee.", question)
    assert not verify.restates("The committee chose the Corn Exchange [1].", question)
    assert not verify.restates("The committee chose the venue in 2024 [1].", question)  # a number of its own
    assert not verify.restates("[1]", question)  # says nothing at all


def test_a_withheld_draft_that_copies_the_example_gets_a_second_look_at_the_best_passage(bot_over, fake_generator):
    bot = _two_firms(bot_over)
    fake_generator.queue("More than $2 billion, mainly on robots [1].", "In Ohio [1].")
    answer = bot.ask("Where does Acme build its robots?")
    first, second = (m[-1]["content"].split("Passages:")[1] for m in fake_generator.seen)
    assert "Acme builds" in first and "Bolt builds" in first
    assert "[1] (acme.txt)" in second and "[2]" not in second and "Bolt" not in second
    assert not answer.refused and answer.second_look and answer.text == "In Ohio [1]."
    assert [h.chunk.text for h in answer.passages] == ["Acme builds its robots in Ohio."]
    assert answer.citations[0].supported


def test_when_the_second_look_fails_too_the_refusal_stands(bot_over, fake_generator):
    bot = _two_firms(bot_over)
    fake_generator.queue("More than $2 billion [1].", "More than $3 billion [1].")
    answer = bot.ask("Where does Acme build its robots?")
    assert answer.refused and not answer.second_look and len(fake_generator.seen) == 2
    assert answer.raw_text == "More than $2 billion [1]." and len(answer.passages) == 2


def test_no_second_look_for_other_withheld_drafts_or_when_it_is_off(bot_over, fake_generator):
    bot = _two_firms(bot_over)
    fake_generator.queue(REFUSAL, "In Texas [1].")
    assert bot.ask("Where does Acme build its robots?").refused and len(fake_generator.seen) == 1
    assert bot.ask("Where does Acme build its robots?").refused and len(fake_generator.seen) == 2
    bot.settings = bot.settings.replace(second_look=False)
    fake_generator.queue("More than $2 billion [1].", "In Ohio [1].")
    assert bot.ask("Where does Acme build its robots?").refused and len(fake_generator.seen) == 3


def test_no_second_look_when_the_question_needs_a_passage_for_each_part(bot_over, fake_generator):
    bot = _two_firms(bot_over, min_score=0.0)
    fake_generator.queue("More than $2 billion [1].", "In Ohio [1].")
    answer = bot.ask("Which firm is named both as the maker of robots and as a builder of boats?")
    assert answer.refused and len(fake_generator.seen) == 1


# ---------- yes/no questions ----------
def test_yes_no_questions():
    assert verify.is_yes_no("Did the pump pass its pressure test?")
    assert verify.is_yes_no("Isn't the ferry running on Sundays?")
    assert not verify.is_yes_no("Is the ferry run by Acme or by Bolt?")  # a choice asks which
    assert not verify.is_yes_no("When did the ferry start?")
    # a phrase and a comma may come before the auxiliary verb, but not a question word
    assert verify.is_yes_no("On Sundays, does the ferry run?")
    assert not verify.is_yes_no("In what year, did the ferry start?")


def test_answer_checks_are_named_and_documented():
    assert [c.name for c in verify.ANSWER_CHECKS] == ["no-quantity", "only-the-kind", "says-the-opposite"]
    assert all(c.refuses.__doc__ for c in verify.ANSWER_CHECKS)
    tesla = "Tesla has spent about $5 billion on AI so far."
    assert verify.failed_check("How much is Tesla's AI capex?", "It is large [1].", tesla) == "no-quantity"
    assert verify.failed_check("What is Tesla's AI capex?", "About $5 billion [1].", tesla) == ""
    # a No may answer the contrary of what is asked
    assert verify.failed_check("Was the lowest bid accepted?", "No [1].", "The highest bid was accepted.",
                               "The highest bid was accepted.") == ""


def test_each_citation_is_checked_on_its_own_passage():
    passages = {1: "Acme plans to spend over $60 billion on data centres in 2026.",
                2: "Bolt said its chips ship in spring.",
                3: "Bolt's chips ship to Acme's data centres."}
    (c,) = verify.check("Acme will spend over $60 billion on data centres [1][2].", passages, 0.6,
                        "How much will Acme spend on data centres?")
    assert c.supported and c.cited == (1,)
    # a sentence that joins two passages keeps both
    (c,) = verify.check("Acme will spend over $60 billion on data centres, where Bolt's chips ship in spring [1][2].",
                        passages, 0.6, "What will Acme spend?")
    assert c.supported and c.cited == (1, 2)
    # a passage that alone holds a name the question asks about stays cited
    choice = {1: "The Acme 10k race is on 14 September.", 2: "The flight to Oslo is on 20 September."}
    (c,) = verify.check("The Acme 10k race is on 14 September [1][2].", choice, 0.6,
                        "Which came first: the Acme 10k or the flight to Oslo?")
    assert c.supported and c.cited == (1, 2)


def test_a_code_or_literal_term_is_a_claim_that_must_be_in_the_passage():
    passage = ["Assert statements are removed when optimization is requested (command line option -O)."]
    question = "Which command line option requests optimization, so that assert statements are compiled away?"
    # without the term the sentence only restates the question
    assert verify.support('The "-O" option requests optimization, so assert statements are compiled away.',
                          passage, 0.6, "", question)[0]
    ok, missing = verify.support('The "-X" option requests optimization, so assert statements are compiled away.',
                                 passage, 0.6, "", question)
    assert not ok and "-x" in missing
    assert verify.terms("call `sys.exception()` or dict.popitem(), e.g. in the U.S.") == {"sys.exception", "dict.popitem"}


def test_a_date_a_message_stamp_writes_in_digits_may_be_written_with_its_months_name():
    message = "[2025-08-08 06:15] Tom: she's here."
    other = "[2025-02-11 20:20] Tom: due date is mid August, 8 weeks to go in 2025"
    question = "On what date was the baby born?"
    (c,) = verify.check("August 8, 2025 [1].", {1: message, 2: other}, question=question)
    assert c.supported and c.cited == (1,) and not c.reattributed
    (wrong,) = verify.check("July 8, 2025 [1].", {1: message}, question=question)
    assert not wrong.supported and wrong.missing == ("july",)
    # a number with leading zeros is not the question's number without them
    (padded,) = verify.check("'007' [1].", {1: '>>> "7".zfill(3)\n\'007\''}, question='What does "7".zfill(3) give?')
    assert padded.supported


# ---------- the time between two events ----------
def _asked_of_dated_bot(bot_over, fake_generator, question, more=""):
    """The answer to a question over two dated messages, when the model gives both dates (each
    citing its own message) and then `more`; and the prompt it read."""
    bot = bot_over({
        "move.txt": "[2025-03-07 09:00] Sam: the van came today, I have moved to Leeds.\n",
        "lab.txt": "[2025-04-01 08:30] Sam: first day at the lab today, the badge works.\n",
    })
    hits = bot.retrieve("Sam moved to Leeds")
    n_move = 1 if "moved" in hits[0].chunk.text else 2
    fake_generator.queue(f"Sam moved to Leeds on 2025-03-07 [{n_move}]. "
                         f"Sam's first day at the lab was 2025-04-01 [{3 - n_move}].{more}")
    answer = bot.ask(question)
    return answer, fake_generator.seen[-1][-1]["content"]


def test_a_date_only_the_file_name_gives_supports_an_answer(bot_over, fake_generator):
    """The model reads each passage under its file's name; a diary dated by its name alone
    dates what it says."""
    bot = bot_over({"2025-03-07 diary.txt": "Moved to Leeds today. The van was late and it rained all day.\n"})
    for draft in ("I moved to Leeds on 2025-03-07 [1].", "On 7 March 2025 [1]."):
        fake_generator.queue(draft)
        answer = bot.ask("When did I move to Leeds?")
        assert not answer.refused and answer.text == draft
    fake_generator.queue("On 8 March 2025 [1].")  # a date the file does not give
    assert bot.ask("When did I move to Leeds?").refused


def test_a_date_only_a_documents_metadata_gives_is_read_and_supports_an_answer(bot_over, fake_generator, make_bot):
    """A page dated by its metadata alone (here an HTML page's publication date) is read under
    that date, which supports an answer as a date in its text would."""
    bot = bot_over({"diary.html": '<html><head><meta name="date" content="2025-03-07"></head>'
                                  '<body><p>Moved to Leeds today. The van was late and it rained all day.</p></body></html>'})
    fake_generator.queue("I moved to Leeds on 2025-03-07 [1].")
    answer = bot.ask("When did I move to Leeds?")
    assert "[1] (diary.html, dated 2025-03-07)" in fake_generator.seen[-1][-1]["content"]
    assert not answer.refused and answer.passages[0].chunk.date == "2025-03-07"
    shown = io.StringIO()
    cli._print_sources(answer, shown)  # as `rag ask` lists the sources
    assert "[1] diary.html (chars 0-61, dated 2025-03-07)" in shown.getvalue()
    fake_generator.queue("I moved to Leeds on 2025-03-08 [1].")
    assert bot.ask("When did I move to Leeds?").refused
    # a question that does not ask when reads no metadata date, and is not answered with one
    fake_generator.queue("I moved to Leeds on 2025-03-07 [1].")
    assert "2025-03-07" not in bot.ask("Where did I move to?").text
    assert "dated" not in fake_generator.seen[-1][-1]["content"]
    # the date is kept with each passage in the index
    assert [c.date for c in make_bot().store.chunks.values()] == ["2025-03-07"]


def test_a_date_only_a_file_name_gives_is_not_joined_to_another_files_event(bot_over, fake_generator):
    """A diary's name dates what that diary says, not what another day's diary tells of."""
    bot = bot_over({"2025-03-07 diary.txt": "Bought a new kettle for the flat. It whistles.\n",
                    "2025-04-01 diary.txt": "First day at the lab! Met my supervisor, Dr Okafor.\n"})
    fake_generator.queue("My first day at the lab was on 2025-03-07 [1][2].")
    answer = bot.ask("When was my first day at the lab?")
    assert len(answer.passages) == 2 and answer.refused and answer.refusal_reason == "unsupported"
    fake_generator.queue("My first day at the lab was on 2025-04-01 [1][2].")
    answer = bot.ask("When was my first day at the lab?")
    assert not answer.refused
    assert [c.source.endswith("2025-04-01 diary.txt") for c in answer.citations] == [True]


def test_each_part_of_a_sentence_is_checked_on_the_passage_it_cites(bot_over, fake_generator):
    """Parts that each cite their own passage read that passage's header date, as a sentence
    that cites one passage does; a bare date cited apart from its event is not a part."""
    bot = bot_over({"2025-03-07 diary.txt": "Moved to Leeds today. The van was late.\n",
                    "2025-04-01 diary.txt": "First day at the lab! Met my supervisor, Dr Okafor.\n"})
    question = "What were the dates of my move to Leeds and my first day at the lab?"
    fake_generator.queue("Soon [1].")
    rank = {h.chunk.name[:10]: h.rank for h in bot.ask(question).passages}
    leeds, lab = f"[{rank['2025-03-07']}]", f"[{rank['2025-04-01']}]"
    for draft, refused in [(f"2025-03-07 {leeds} and 2025-04-01 {lab}.", False),
                           (f"I moved to Leeds on 2025-03-07 {leeds} and my first day at the lab was 2025-04-01 {lab}.", False),
                           (f"2025-04-01 {leeds} and 2025-03-07 {lab}.", True),
                           (f"I moved to Leeds {leeds} on 2025-04-01 {lab}.", True)]:
        fake_generator.queue(draft)
        answer = bot.ask(question)
        assert answer.refused is refused, (draft, answer.refusal_reason, answer.sentences)


def test_an_emails_date_answers_when_it_was_sent(bot_over, fake_generator):
    """An e-mail is indexed with its header, its date written as any other ("Date: 2025-03-07 09:30")."""
    bot = bot_over({"contract.eml": "From: Karen Hollis <karen@hollis.example>\nSubject: Your tenancy contract\n"
                                    "Date: Fri, 07 Mar 2025 09:30:00 +0000\n\nThe contract for 14 Elm Road is attached.\n"})
    fake_generator.queue("Karen sent the tenancy contract on 2025-03-07 [1].")
    answer = bot.ask("When did Karen send the tenancy contract?")
    assert not answer.refused and answer.citations[0].source.endswith("contract.eml")
    fake_generator.queue("Karen sent the tenancy contract on 2025-03-08 [1].")
    assert bot.ask("When did Karen send the tenancy contract?").refused


def test_the_time_between_two_events_is_computed_from_their_verified_dates(bot_over, fake_generator):
    answer, prompt = _asked_of_dated_bot(
        bot_over, fake_generator, "How many days passed between Sam's move to Leeds and Sam's first day at the lab?",
        " That is a month.")
    assert "the program works it out" in prompt and "the date of Sam's move to Leeds" in prompt
    assert not answer.refused and answer.sentences[-1].computed
    assert answer.text.endswith("From 2025-03-07 to 2025-04-01 is 25 days (computed) [1][2].")
    assert "That is a month" not in answer.text


def test_a_how_long_question_without_two_dates_is_asked_as_it_is(bot_over, fake_generator):
    bot = bot_over({"strike.txt": "The strike began at the docks. It ended four days after the vote.\n"})
    fake_generator.queue("The strike began at the docks [1].")  # no dates: nothing to work out
    fake_generator.queue("Four days after the vote [1].")
    answer = bot.ask("How long after the vote did the strike end?")
    assert "How long after the vote did the strike end?" in fake_generator.seen[-1][-1]["content"]
    assert not answer.refused and answer.second_look and answer.text == "Four days after the vote [1]."


def test_before_or_after_is_answered_from_the_two_verified_dates(bot_over, fake_generator):
    answer, prompt = _asked_of_dated_bot(bot_over, fake_generator,
                                         "Did Sam's first day at the lab come before Sam's move to Leeds?")
    assert "the program works it out from their dates" in prompt
    assert not answer.refused and answer.sentences[0].computed
    assert answer.text.startswith("No: 2025-04-01 is after 2025-03-07 (computed) [")


def test_which_came_first_is_answered_from_the_two_verified_dates(bot_over, fake_generator):
    question = "Which came first, and on what date: Sam's first day at the lab or Sam's move to Leeds?"
    answer, prompt = _asked_of_dated_bot(bot_over, fake_generator, question)
    assert "which of two events came first" in prompt and "the date of Sam's first day at the lab" in prompt
    assert not answer.refused and answer.sentences[0].computed
    assert answer.text.startswith("Sam's move to Leeds came first: 2025-03-07 is before 2025-04-01 (computed) [")
