"""Ratios are computed by the program from two verified amounts, never taken from the model."""

from rag import arithmetic
from rag.eval.metrics import unsupported_numbers


def test_the_two_sides_of_a_how_many_times_question():
    assert arithmetic.ratio_parts("Acme's 2024 budget was roughly how many times Bolt's payroll so far?") == \
        ("Acme's 2024 budget", "Bolt's payroll so far")
    assert arithmetic.ratio_parts("How many times larger is the lake than the pond?") == ("the lake", "the pond")
    assert arithmetic.ratio_parts("How many times did the bell ring?") is None
    assert arithmetic.ratio_parts("What is Acme's budget?") is None


def test_amounts_keep_their_scale_and_skip_years_and_quarters():
    assert arithmetic.amounts("Acme spent USD20bn in Q1 2024 [2].") == [(20e9, "USD20bn")]
    assert arithmetic.amounts("over $30-35 million") == [(30e6, "$30-35 million")]
    assert arithmetic.amounts("1,200 lamps") == [(1200.0, "1,200")]


def test_the_ratio_sentence_puts_the_larger_amount_first():
    assert arithmetic.ratio_sentence("Bolt paid $5 million [2].", "Acme paid $60 million [1].") == \
        "$60 million is about 12 times $5 million (computed)."
    assert arithmetic.ratio_sentence("A: USD20bn.", "B: $8 billion.") == "USD20bn is about 2.5 times $8 billion (computed)."
    assert arithmetic.ratio_sentence("A paid $5 million.", "B paid nothing.") is None
    assert arithmetic.ratio_sentence("A paid $5 million.", "B paid $5 million.") is None


def test_the_judge_counts_a_correct_ratio_as_supported_and_a_wrong_one_as_invented():
    passages = ["Acme will spend over $60 million.", "Bolt has spent $5 million."]
    assert unsupported_numbers("$60 million is about 12 times $5 million [1][2].", passages) == []
    assert unsupported_numbers("$60 million is about 3 times $5 million [1][2].", passages) == ["3"]
