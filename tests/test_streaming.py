"""The checked stream: what is sent while the model writes is what the final answer says."""

from rag import Answer
from rag.pipeline import Turn
from rag.streaming import CheckedText, Correction, Progress

QUESTION = "How many moons does Mars have?"


def events_of(make_bot, docs_dir, fake_generator, reply, **settings):
    bot = make_bot(top_k=2, rewrite=False, **settings)
    bot.ingest([docs_dir])
    fake_generator.queue(reply)
    return list(bot.events(QUESTION))


def sent(events) -> str:
    return "".join(e for e in events if isinstance(e, str))


def test_a_moved_and_a_dropped_citation_are_sent_as_the_final_answer_says(make_bot, docs_dir, fake_generator):
    # [1] is space.md, [2] fruit.txt: the first marker is moved to [1], [2] and [9] of the second dropped
    events = events_of(make_bot, docs_dir, fake_generator,
                       "Mars has two moons [2]. The Moon orbits the Earth every 27 days [1][2][9]. Pigs fly [1].")
    answer = events[-1]
    assert isinstance(answer, Answer)
    assert answer.text == "Mars has two moons [1]. The Moon orbits the Earth every 27 days [1]."
    pieces = [e for e in events if isinstance(e, str)]
    assert pieces == ["Mars has two moons [1].", " The Moon orbits the Earth every 27 days [1]."]
    assert "[2]" not in sent(events) and not any(isinstance(e, Correction) for e in events)


def test_the_first_sentence_is_sent_while_the_model_still_writes(make_bot, docs_dir, fake_generator):
    events = events_of(make_bot, docs_dir, fake_generator,
                       "Mars has two moons [1]. The Moon orbits the Earth every 27 days [1].")
    first_text = next(i for i, e in enumerate(events) if isinstance(e, str))
    last_written = max(i for i, e in enumerate(events) if isinstance(e, Progress) and e.stage == "writing")
    assert first_text < last_written


def test_stages_come_in_order_and_the_turn_before_any_text(make_bot, docs_dir, fake_generator):
    events = events_of(make_bot, docs_dir, fake_generator, "Mars has two moons [1].")
    stages = [e.stage for e in events if isinstance(e, Progress)]
    assert stages[:2] == ["searching", "reading"] and stages[-1] == "checking"
    assert set(stages[2:-1]) == {"writing"}
    reading = next(e for e in events if isinstance(e, Progress) and e.stage == "reading")
    assert reading.passages == 2
    turn = next(i for i, e in enumerate(events) if isinstance(e, Turn))
    assert turn < next(i for i, e in enumerate(events) if isinstance(e, str))
    assert [h.chunk.name for h in events[turn].hits] == ["space.md", "fruit.txt"]
    elapsed = [e.elapsed_s for e in events if isinstance(e, Progress)]
    assert elapsed == sorted(elapsed)


def test_a_withdrawn_answer_comes_as_a_correction(make_bot, docs_dir, fake_generator):
    """The model ends with the refusal after a supported sentence: the whole answer is the
    refusal, and the sentence already sent is replaced."""
    events = events_of(make_bot, docs_dir, fake_generator,
                       "Mars has two moons [1]. I could not find the answer in your documents.")
    (correction,) = [e for e in events if isinstance(e, Correction)]
    assert sent(events) == "Mars has two moons [1]."
    assert events[-1].refused and correction.text == events[-1].text
    assert events.index(correction) == len(events) - 2


def test_a_refusal_before_generation_is_streamed_as_the_refusal(make_bot, docs_dir, fake_generator):
    bot = make_bot(top_k=2, rewrite=False)
    bot.ingest([docs_dir])
    events = list(bot.events("Who won the 1998 World Cup?"))
    assert sent(events) == events[-1].text == bot.refusal and fake_generator.seen == []


def test_checked_text_waits_for_a_sentence_to_end():
    calls = []

    def finish(raw):
        calls.append(raw)
        return Answer(question="q", text=raw.replace("[2]", "[1]"))
    checked = CheckedText(2, finish)
    assert checked.feed("Apples are red [2") == ""
    assert checked.feed("].") == ""  # a marker may still follow the full stop
    assert checked.feed(" [2]") == ""
    assert checked.feed(" Pears") == "Apples are red [1]."
    assert calls == ["Apples are red [2]."]  # markers cleaned as in the final answer
    assert checked.feed(" are 3.") == "" and checked.feed("5 cm") == ""  # 3.5 is no sentence end
    assert checked.end("Apples are red [1]. Pears are 3.5 cm.") == " Pears are 3.5 cm."
    assert checked.end("Something else.") == Correction("Something else.")


def test_held_text_is_sent_at_the_end():
    checked = CheckedText(1, lambda raw: Answer(question="q", text=raw), hold=True)
    assert checked.feed("One [1]. Two [1]. Three") == ""
    assert checked.end("One [1]. Two [1]. Three.") == "One [1]. Two [1]. Three."
