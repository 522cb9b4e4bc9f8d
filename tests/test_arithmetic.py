"""Comparisons (ratios, which is larger) are computed by the program from two verified amounts,
never taken from the model."""

from rag import arithmetic
from rag.eval.metrics import unsupported_numbers


def test_the_two_sides_of_a_how_many_times_question():
    C = arithmetic.Comparison
    assert arithmetic.comparison("Acme's 2024 budget was roughly how many times Bolt's payroll so far?") == \
        C("times", "Acme's 2024 budget", "Bolt's payroll so far")
    assert arithmetic.comparison("How many times larger is the lake than the pond?") == C("times", "the lake", "the pond")
    assert arithmetic.comparison("How many times did the bell ring?") is None
    assert arithmetic.comparison("What is Acme's budget?") is None


def test_the_two_sides_of_a_which_is_larger_question():
    C = arithmetic.Comparison
    assert arithmetic.comparison("Which is larger, the lake or the pond?") == C("larger", "the lake", "the pond")
    assert arithmetic.comparison("Which was the lower bid: Acme's or Bolt's?") == C("smaller", "Acme's", "Bolt's")
    # the words the two sides share go to both
    assert arithmetic.comparison("Of Acme's and Bolt's budgets for 2024, what is the larger one?") == \
        C("larger", "Acme's budgets for 2024", "Bolt's budgets for 2024")
    assert arithmetic.comparison("Of the lake and the pond, which is bigger?") == C("larger", "the lake", "the pond")
    assert arithmetic.comparison("Which is the larger company in the article?") is None
    assert arithmetic.comparison("Which is more important, the lake or the pond?") is None


def test_amounts_keep_their_scale_and_skip_years_and_quarters():
    assert arithmetic.amounts("Acme spent USD20bn in Q1 2024 [2].") == [(20e9, "USD20bn")]
    assert arithmetic.amounts("over $30-35 million") == [(30e6, "$30-35 million")]
    assert arithmetic.amounts("1,200 lamps") == [(1200.0, "1,200")]


def test_the_ratio_sentence_puts_the_larger_amount_first():
    assert arithmetic.computed_sentence("times", "Bolt paid $5 million [2].", "Acme paid $60 million [1].") == \
        "$60 million is about 12 times $5 million (computed)."
    assert arithmetic.computed_sentence("times", "A: USD20bn.", "B: $8 billion.") == \
        "USD20bn is about 2.5 times $8 billion (computed)."
    assert arithmetic.computed_sentence("times", "A paid $5 million.", "B paid nothing.") is None
    assert arithmetic.computed_sentence("times", "A paid $5 million.", "B paid $5 million.") is None


def test_which_is_larger_or_smaller_is_worked_out_with_the_scales():
    assert arithmetic.computed_sentence("larger", "A: over $60-65 billion.", "B: USD80bn.") == \
        "USD80bn is larger than $60-65 billion (computed)."
    assert arithmetic.computed_sentence("smaller", "A: $900 million.", "B: $2 billion.") == \
        "$900 million is smaller than $2 billion (computed)."
    assert arithmetic.computed_sentence("larger", "A: 3 lamps.", "B: 3 lamps.") is None


def test_quantities_are_told_from_years_and_quarters():
    assert arithmetic.states_quantity("It spent USD20bn in its Q1.")
    assert arithmetic.states_quantity("hundreds of billions of dollars over the long term")
    assert arithmetic.states_quantity("territory with ten million people")
    assert not arithmetic.states_quantity("one of the largest lakes")
    assert not arithmetic.states_quantity("Its CFO spoke about Q2 FY 2025.")


def test_the_judge_counts_a_correct_ratio_as_supported_and_a_wrong_one_as_invented():
    passages = ["Acme will spend over $60 million.", "Bolt has spent $5 million."]
    assert unsupported_numbers("$60 million is about 12 times $5 million [1][2].", passages) == []
    assert unsupported_numbers("$60 million is about 3 times $5 million [1][2].", passages) == ["3"]
