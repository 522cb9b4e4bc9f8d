"""Grading the way people judge: the lenient verdict."""

import pytest

from rag.eval import metrics as m


# ---------- the lenient verdict ----------

@pytest.mark.parametrize("prediction, gold, right", [
    ("Meta's chief AI scientist is Yann LeCun.", "Yann LeCun", 1.0),  # contained
    ("Exercise lowers the blood pressure.", "lower blood pressure in adults", 1.0),  # 3 of 4 content words
    ("alpha beta gamma", "alpha beta gamma delta epsilon", 1.0),  # 3 of 5 = 60%
    ("alpha beta", "alpha beta gamma delta epsilon", 0.0),  # 2 of 5
    ("They are red.", "dark red cherries", 0.0),
    ("It takes 27 days per orbit.", "orbits every 27 days", 1.0),
    ("It takes 72 days per orbit.", "orbits every 27 days", 0.0),  # the words are there, the number is not
    ("Every 72 days.", "27 days", 0.0),
])
def test_lenient_contains_or_most_content_words_and_every_number(prediction, gold, right):
    assert m.lenient_match(prediction, [gold]) == right


@pytest.mark.parametrize("prediction, gold, right", [
    ("Yes, it does.", "Yes", 1.0),
    ("**Yes** - the report says so.", "yes", 1.0),
    ("\"No.\" It was cancelled.", "No", 1.0),
    ("No, it does not.", "Yes", 0.0),
    ("It is not clear; yes or no cannot be said.", "Yes", 0.0),  # contains "yes", but does not start with it
    ("Not really.", "No", 0.0),
])
def test_lenient_yes_no_by_the_first_word(prediction, gold, right):
    assert m.lenient_match(prediction, [gold]) == right


def test_lenient_any_gold_counts_and_no_gold_or_no_answer():
    assert m.lenient_match("It is dark red.", ["crimson", "dark red"]) == 1.0
    assert m.lenient_match("anything", []) is None
    assert m.lenient_match("", ["dark red"]) == 0.0  # a refusal is stripped to nothing: never right
    assert m.lenient_match("   ", ["Yes"]) == 0.0
