from decimal import Decimal

from rag import text


def test_stems_match_the_forms_an_answer_and_a_passage_use():
    assert text.stem("planned") == text.stem("plans") == "plan"
    assert text.stem("used") == text.stem("use")
    assert text.stem("microsoft's") == "microsoft"
    assert text.stem("feared") == text.stem("fear")


def test_an_irregular_verb_form_stems_as_its_base_form():
    # "In version 3.6, underscores became allowed" restates "did underscores become allowed"
    assert text.stem("became") == text.stem("become") == text.stem("becomes")
    assert text.stem("wrote") == text.stem("written") == text.stem("writes")
    assert text.stem("bought") == text.stem("buying")
    assert text.content_words("Who wrote it?") == text.content_words("Who writes it?")
    # a prefixed irregular verb too: "Nadia overtook Ollie" answers "Where did Nadia overtake Ollie?"
    assert text.stem("overtook") == text.stem("overtake") == text.stem("overtakes")
    assert text.stem("withheld") == text.stem("withhold") and text.stem("misled") == text.stem("mislead")
    assert text.stem("outsold") == text.stem("outsell")
    assert text.stem("upset") == "upset"  # "set" is no irregular form here


def test_content_words_leave_out_stop_words_and_short_words():
    assert text.content_words("What did Tom paint in the kitchen of his flat?") == {"tom", "paint", "kitchen", "flat"}
    assert text.words("Nadia's new-build flat") == ["nadia's", "new-build", "flat"]
    assert text.letters("Isn't it high-level?") == ["isn", "t", "it", "high", "level"]


def test_grounding_the_chat_and_the_eval_share_one_list_and_one_stemmer():
    from rag import verify
    from rag.eval import metrics
    from ui import render
    assert verify.STOPWORDS is text.STOPWORDS and render.STOPWORDS is text.STOPWORDS
    assert text.STOPWORDS <= metrics.STOPWORDS
    assert verify.content_words is text.content_words
    assert metrics.words("plans") == [text.stem("plans")]


def test_a_number_is_read_with_the_power_of_ten_of_its_scale():
    assert text.number("1,200") == (1200, 0)
    assert text.number("65", "Billion") == (65, 9)
    assert text.number("2.5", "bn") == (Decimal("2.5"), 9)
    assert text.scale_pattern(("m", "mn", "million")) == "million|mn|m"  # "5 million" is not "5 m" + "illion"


def test_grounding_and_the_eval_read_numbers_with_one_scale_table():
    from rag import arithmetic, verify
    from rag.eval import metrics
    assert arithmetic.amounts("USD20bn and $5m") == [(20e9, "USD20bn"), (5e6, "$5m")]
    assert verify.numbers("$65bn or 65 billion") == {"65e9"}
    assert metrics.number_forms("$65 billion") == {"65", "65000000000"}
    assert metrics.number_forms("5 m") == {"5"}  # grading reads no one-letter scale: "5 m" may be metres


def test_grounding_and_the_compact_context_read_counts_written_as_words_alike():
    from rag import arithmetic, verify
    for word in ("sixty", "hundreds", "twelve"):
        assert arithmetic.states_quantity(f"{word} of them") and verify.gives_quantity("How many?", f"{word} of them")
    assert verify.gives_quantity("How many?", "one of them") and not arithmetic.states_quantity("one of them")


def test_a_message_body_is_the_line_without_its_time_stamp_and_writer():
    assert text.message_body("[2025-03-07 09:00] Sam: the hall is booked.") == "the hall is booked."
    assert text.message_body("  [12/02/2025, 20:11] Sam Smith: hi") == "hi"
    assert text.message_body("Kim: Thanks!") == "Thanks!"
    assert text.message_body("Changed in version 3.7: now ordered") == "Changed in version 3.7: now ordered"
    assert text.message_body("plain text: with a colon later") == "plain text: with a colon later"


def test_the_month_of_a_date_written_in_digits_is_read():
    assert text.months_in("[2025-03-07 09:12] Nadia: done") == {"march"}
    assert text.months_in("07/03/2025, 09:12 - Nadia: done") == {"march", "july"}  # day or month first
    assert text.months_in("on 25/12/2025 and 3.7.25") == {"december", "march", "july"}
    assert text.months_in("version 3.11.7, 1990-2025, 12:30") == set()


def test_numbers_written_as_words_are_read_as_digits():
    assert text.with_digits("ten weeks, Twenty-one people, forty two") == "10 weeks, 21 people, 42"
    assert text.with_digits("often a tenant") == "often a tenant"


def test_a_date_in_digits_is_written_with_its_months_name():
    assert text.dates_in_words("on 2025-03-07 13:02, then 08/08/2025") == "on 7 March 2025 13:02, then 8 August 2025"
    assert text.dates_in_words("version 3.11.7 in 1990-2025") == "version 3.11.7 in 1990-2025"
