"""Comparisons worked out by the program, not the model: "how many times" and "which is larger".

A small model copies numbers well and compares them badly. For a question that compares two
amounts, the model is asked for the two amounts with their citations; once both are verified,
the ratio (or which is larger) is computed here and added as a sentence that cites both."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .citations import MARKER
from .text import COUNT_WORDS, DIGITS, number, scale_pattern

_BE = r"(?:is|was|are|were|will be|would be)"
_COMPARATIVE = r"(?:(?:as (?:much|large|big|high) as)|(?:(?:more|larger|bigger|greater|higher)(?: than)?))"
# "A was (roughly) how many times (as large as) B?"
_A_HOW_MANY_TIMES_B = re.compile(rf"^(.+?)\s+{_BE}\s+(?:roughly |about |approximately )?how many times\s+"
                                 rf"(?:{_COMPARATIVE}\s+)?(.+?)\W*$", re.I)
# "How many times (larger) is A than B?"
_HOW_MANY_TIMES_A_THAN_B = re.compile(rf"^how many times\s+(?:more|larger|bigger|greater|higher)\s+{_BE}\s+"
                                      rf"(.+?)\s+than\s+(.+?)\W*$", re.I)
# not "more" or "less": "Which is more important, A or B?" compares no amounts
_LARGER = {"larger": "larger", "bigger": "larger", "greater": "larger", "higher": "larger",
           "smaller": "smaller", "lower": "smaller"}
_WHICH = rf"(?:which|what)(?: one)?\s+{_BE}\s+(?:the\s+)?({'|'.join(_LARGER)})\b"
# "Which is larger, A or B?"  "Which is the bigger budget: A or B?"
_WHICH_A_OR_B = re.compile(rf"^{_WHICH}[^,:]*[,:]\s*(.+?)\s+or\s+(.+?)\W*$", re.I)
# "Of A and B, which is the larger?"  "Of A's and B's budgets, what is the larger one?"
_OF_A_AND_B_WHICH = re.compile(rf"^of\s+(.+?)\s+(?:and|or)\s+(.+?),\s*{_WHICH}.*$", re.I)


@dataclass(frozen=True)
class Comparison:
    kind: str  # "times", "larger" or "smaller" of two amounts, or "interval": the time between two dates
    first: str  # what the first amount is of ("Acme's 2024 budget"), or the first event
    second: str
    unit: str = ""  # of an interval: "days", "weeks", "months" or "years" as asked, "" for any


def comparison(question: str) -> Comparison | None:
    """What a question compares, or None for another question: "Was A how many times B?",
    "How many times larger is A than B?", "Which is larger, A or B?" and "Of A and B, which
    is the smaller?". In "Of A's and B's budgets", A is given the words B shares: "A's budgets"."""
    question = question.strip()
    for pattern in (_A_HOW_MANY_TIMES_B, _HOW_MANY_TIMES_A_THAN_B):
        if m := pattern.match(question):
            return Comparison("times", m.group(1).strip(), m.group(2).strip())
    if m := _WHICH_A_OR_B.match(question):
        return Comparison(_LARGER[m.group(1).lower()], m.group(2).strip(), m.group(3).strip())
    if m := _OF_A_AND_B_WHICH.match(question):
        first, second = m.group(1).strip(), m.group(2).strip()
        head, _, shared = second.partition(" ")
        if " " not in first and shared:
            first = f"{first} {shared}"
        return Comparison(_LARGER[m.group(3).lower()], first, second)
    return None


# "$60-65 billion", "USD20bn", "5 billion", "1,200"; a range takes its lower end
_AMOUNT = re.compile(rf"(?<![\w.])(?:USD|EUR|GBP|US\$|\$|€|£)?\s?({DIGITS})(?:\s?[-–]\s?\$?{DIGITS})?"
                     rf"(?:\s?({scale_pattern()})\b)?", re.I)


def amounts(text: str) -> list[tuple[float, str]]:
    """The amounts a text states, as (value, as written): "over $60-65 billion" gives
    (60e9, "$60-65 billion"). Years ("in 2025") and quarter numbers ("Q1") are not amounts."""
    return [(value, written) for value, written, _ in amounts_at(MARKER.sub("", text))]


def amounts_at(text: str) -> list[tuple[float, str, int]]:
    """amounts(), each with where it starts in the text."""
    out = []
    for m in _AMOUNT.finditer(text):
        value, power = number(m.group(1), m.group(2) or "")
        written = m.group().strip()
        if not power and written[:1] not in "$€£U" and re.fullmatch(r"(19|20)\d\d", m.group(1).replace(",", "")):
            continue  # a year
        if m.start() > 0 and text[m.start() - 1:m.start()] in "QH":
            continue
        out.append((float(value) * 10.0 ** power, written, m.start() + m.group().index(written)))
    return out


_NUMBER_WORD = re.compile(rf"\b(?:{'|'.join(COUNT_WORDS)})\b", re.I)


def states_quantity(text: str) -> bool:
    """Does the text state an amount ("USD20bn", "5,000 GPUs", "ten million people", "hundreds
    of billions")? A year or a quarter ("Q1 2025") alone is not one."""
    return bool(amounts(text) or _NUMBER_WORD.search(text))


def times(big: float, small: float) -> str:
    """How many times `small` fits in `big`, written as a person would: "4", "2.5", "12"."""
    ratio = big / small
    return f"{ratio:.0f}" if ratio >= 10 else f"{ratio:.1f}".removesuffix(".0")


def computed_sentence(kind: str, first: str, second: str) -> str | None:
    """The comparison, worked out, of the first amounts of two verified sentences: "$60 million
    is about 12 times $5 million (computed)." or "USD80bn is larger than $60 billion (computed).";
    None when either states no amount or they cannot be compared (zero, or the same amount)."""
    a, b = amounts(first), amounts(second)
    if not a or not b or a[0][0] <= 0 or b[0][0] <= 0 or a[0][0] == b[0][0]:
        return None
    (big, big_written), (small, small_written) = sorted([a[0], b[0]], reverse=True)
    if kind == "larger":
        return f"{big_written} is larger than {small_written} (computed)."
    if kind == "smaller":
        return f"{small_written} is smaller than {big_written} (computed)."
    return f"{big_written} is about {times(big, small)} times {small_written} (computed)."
