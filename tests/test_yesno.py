"""Yes/no answers: Yes or No with the passage sentence that decides it."""

from rag import yesno

Q = "Did the pump pass its pressure test?"


def test_the_draft_says_yes_no_or_restates():
    assert yesno.draft_says(Q, "Yes, it passed [1].") == "yes"
    assert yesno.draft_says(Q, "No [2].") == "no"
    assert yesno.draft_says(Q, "The pump passed its pressure test [1].") == "yes"  # a restatement affirms
    assert yesno.draft_says(Q, "It failed at 40 bar on Monday [1].") == ""  # something else: checked as usual
    assert yesno.polarity("No, it failed at 40 bar [1].") == "no" and yesno.polarity("Nothing failed.") == ""


def test_a_yes_or_no_after_the_first_sentence_is_the_drafts_reading():
    # every Yes or No to a yes/no question is decided on a passage sentence, wherever the draft says it
    assert yesno.draft_says(Q, "It was tested on Monday [1]. No, it failed at 40 bar [1].") == "no"
    assert yesno.draft_says(Q, "The pump passed its pressure test [1]. No doubt about it.") == "yes"  # restated first


def test_a_yes_is_the_closest_sentence_that_states_the_claim():
    passages = {1: "The valve was replaced. The pump passed its pressure test on Monday.", 2: "Lunch was late."}
    d = yesno.decide(Q, "yes", passages, 0.6)
    assert (d.said, d.passage, d.sentence) == ("Yes", 1, "The pump passed its pressure test on Monday.")
    assert d.text == "Yes: \u201cThe pump passed its pressure test on Monday.\u201d"


def test_a_yes_needs_what_the_claim_says_of_its_names_not_the_names_alone():
    q = "Did Acme Corp acquire Bolt Inc?"
    names_only = {1: "Acme Corp emerged as the strongest rival of Bolt Inc."}
    assert yesno.decide(q, "yes", names_only, 0.6) is None
    stated = {1: "Acme Corp acquired Bolt Inc in 2019."}
    assert yesno.decide(q, "yes", stated, 0.6).said == "Yes"


def test_a_yes_may_be_stated_of_a_name_given_sentences_before():
    # "our robot" two sentences after the names: the sentence says what the claim says of them
    q = "Did the Foo-7 robot from Oslo Robotics learn to climb stairs?"
    intro = "Oslo Robotics built Foo-7 as a legged platform. Its motors were tested over a summer. "
    stated = {1: intro + "Trained only on flat ground, our robot learned to climb stairs within a day."}
    assert yesno.decide(q, "yes", stated, 0.6).sentence.startswith("Trained only on flat ground")
    walked = {1: intro + "Trained only on flat ground, our robot learned to walk within a day."}
    assert yesno.decide(q, "yes", walked, 0.6) is None


def test_a_sentence_that_denies_the_claim_makes_the_answer_no_whatever_the_model_said():
    passages = {1: "The pump did not pass its pressure test."}
    assert yesno.decide(Q, "yes", passages, 0.6).said == "No"
    hard = {1: "Reading was fine, the listening part of the exam was hard."}
    assert yesno.decide("Was the listening part of the exam easy?", "yes", hard, 0.6).said == "No"
    assert yesno.decide("Did the ferry leave before noon?", "yes", {1: "The ferry left after noon."}, 0.6).said == "No"


def test_no_answer_when_the_passages_are_not_about_the_claim():
    assert yesno.decide(Q, "yes", {1: "The valve was replaced on Monday."}, 0.6) is None
    assert yesno.decide(Q, "no", {1: "Lunch was late."}, 0.6) is None
    # a name of the question must be in the passages
    assert yesno.decide("Did Acme's pump pass its test?", "yes", {1: "The pump passed its test."}, 0.6) is None


def test_a_no_needs_passages_about_the_claim():
    d = yesno.decide(Q, "no", {1: "The pump failed the pressure test twice."}, 0.6)
    assert d.said == "No" and d.passage == 1


def test_passages_that_lack_two_words_of_what_the_claim_says_of_its_names_settle_nothing():
    # about the sofa and the window, not about a hoist: neither the model's No nor a denial decides
    q = "Did Steve use a hoist to get the sofa in through the window?"
    passages = {1: "Steve: the sofa did not fit up the stairs, so it came in through the window."}
    assert yesno.decide(q, "no", passages, 0.6) is None
    assert yesno.decide(q, "yes", passages, 0.6) is None
    # one word missing may be the value the passages give another of: that No stands
    assert yesno.decide("Did Steve use a rope to get the sofa in?", "no",
                        {1: "Steve used a strap to get the sofa in."}, 0.6).said == "No"


def test_the_bot_answers_yes_no_with_the_deciding_sentence(bot_over, fake_generator):
    bot = bot_over({"pump.txt": "The new pump arrived in March. The pump did not pass its pressure test.\n"},
                   min_score=0.0)
    fake_generator.queue("Yes, the pump passed its pressure test [1].")
    answer = bot.ask(Q)
    assert not answer.refused
    assert answer.text == "No: \u201cThe pump did not pass its pressure test.\u201d [1]"
    assert answer.citations[0].n == 1 and "did not pass" in answer.cited_passages[0].chunk.text
    fake_generator.queue("Yes [1].")
    refused = bot.ask("Did the valve pass its leak test?")
    assert refused.refused and refused.refusal_reason in ("yes-no-undecided", "unknown-terms")


def test_a_capitalised_none_is_a_value_not_a_denial():
    passages = {1: 'These values are interpreted as false: "False", "None", numeric zero and an empty tuple.'}
    assert yesno.decide("Is an empty tuple interpreted as false?", "yes", passages, 0.6).said == "Yes"


def test_a_sentence_that_asks_decides_nothing():
    passages = {1: "[2025-03-22 14:30] Maria: what did you call him, Biscuit?\n"
                   "[2025-03-22 14:31] Nadia: he came with a name already."}
    assert yesno.asks("what did you call him, Biscuit?") and not yesno.asks("He is called Pickle.")
    assert yesno.decide("Did Nadia call her cat Biscuit?", "yes", passages, 0.6) is None


def test_the_model_leans_no_when_it_gives_no_half_the_weight_of_yes():
    assert yesno.leaning({"Yes": 0.42, "No": 0.25}) == "no"  # "Yes" written first, "No" close behind
    assert yesno.leaning({"Yes": 0.60, "No": 0.19}) == "yes"
    assert yesno.leaning({"Yes": 0.05, "No": 0.90}) == "no"
    assert yesno.leaning(None) == "" and yesno.leaning({"Yes": 0.0, "No": 0.0}) == ""


def test_the_models_odds_overrule_the_yes_its_draft_opens_with(bot_over, fake_generator):
    bot = bot_over({"chat.txt": "Tom: the kitchen is painted! Went with sage green in the end.\n"}, min_score=0.0)
    question = "Did Tom paint his kitchen navy?"
    fake_generator.odds = {"Yes": 0.42, "No": 0.25}
    fake_generator.queue("Yes, Tom painted his kitchen navy [1].")
    answer = bot.ask(question)
    assert not answer.refused and answer.text.startswith("No: \u201c")
    # the Answer keeps the odds, so that a saved report's reading can be replayed without the model
    assert answer.odds == {"Yes": 0.42, "No": 0.25} and answer.to_dict()["odds"] == answer.odds


def test_a_yes_the_model_is_sure_of_still_needs_the_passages_to_state_it(bot_over, fake_generator):
    bot = bot_over({"chat.txt": "Tom: the kitchen is done! Went with sage green in the end.\n"}, min_score=0.0)
    question = "Did Tom paint his kitchen navy?"
    fake_generator.odds = {"Yes": 0.9, "No": 0.02}
    fake_generator.queue("Yes, Tom painted his kitchen navy [1].")
    assert bot.ask(question).refusal_reason == "yes-no-undecided"
    # the odds are asked for on the prompt the model then answers, and only for a yes/no question
    assert fake_generator.seen[-1] == fake_generator.odds_seen[-1]
    asked = len(fake_generator.odds_seen)
    fake_generator.queue("Sage green [1].")
    bot.ask("What colour did Tom paint his kitchen?")
    assert len(fake_generator.odds_seen) == asked
