"""Ratios worked out by the program, not the model: "how many times" questions.

A small model copies numbers well and divides them badly. For a question that asks how many
times one amount is another, the model is asked for the two amounts with their citations;
once both are verified, the ratio is computed here and added as a sentence that cites both."""

from __future__ import annotations

import re

from .citations import MARKER

_BE = r"(?:is|was|are|were|will be|would be)"
_COMPARATIVE = r"(?:(?:as (?:much|large|big|high) as)|(?:(?:more|larger|bigger|greater|higher)(?: than)?))"
# "A was (roughly) how many times (as large as) B?"
_A_HOW_MANY_TIMES_B = re.compile(rf"^(.+?)\s+{_BE}\s+(?:roughly |about |approximately )?how many times\s+"
                                 rf"(?:{_COMPARATIVE}\s+)?(.+?)\W*$", re.I)
# "How many times (larger) is A than B?"
_HOW_MANY_TIMES_A_THAN_B = re.compile(rf"^how many times\s+(?:more|larger|bigger|greater|higher)\s+{_BE}\s+"
                                      rf"(.+?)\s+than\s+(.+?)\W*$", re.I)
_SCALE = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6, "billion": 1e9, "bn": 1e9,
          "b": 1e9, "trillion": 1e12, "tn": 1e12, "tr": 1e12}
# "$60-65 billion", "USD20bn", "5 billion", "1,200"; a range takes its lower end
_AMOUNT = re.compile(r"(?<![\w.])(?:USD|EUR|GBP|US\$|\$|€|£)?\s?(\d[\d,]*(?:\.\d+)?)"
                     r"(?:\s?[-–]\s?\$?\d[\d,]*(?:\.\d+)?)?"
                     r"(?:\s?(thousand|million|billion|trillion|bn|mn|tn|tr|k|m|b)\b)?", re.I)


def ratio_parts(question: str) -> tuple[str, str] | None:
    """The two things a "how many times" question compares, or None for another question:
    "Was A how many times B?" and "How many times larger is A than B?" give (A, B)."""
    question = question.strip()
    for pattern in (_A_HOW_MANY_TIMES_B, _HOW_MANY_TIMES_A_THAN_B):
        if m := pattern.match(question):
            return m.group(1).strip(), m.group(2).strip()
    return None


def amounts(text: str) -> list[tuple[float, str]]:
    """The amounts a text states, as (value, as written): "over $60-65 billion" gives
    (60e9, "$60-65 billion"). Years ("in 2025") and quarter numbers ("Q1") are not amounts."""
    out = []
    text = MARKER.sub("", text)
    for m in _AMOUNT.finditer(text):
        digits, scale = m.group(1).replace(",", ""), (m.group(2) or "").lower()
        written = m.group().strip()
        if not scale and written[:1] not in "$€£U" and re.fullmatch(r"(19|20)\d\d", digits):
            continue  # a year
        if m.start() > 0 and text[m.start() - 1:m.start()] in "QH":
            continue
        out.append((float(digits) * _SCALE.get(scale, 1.0), written))
    return out


def times(big: float, small: float) -> str:
    """How many times `small` fits in `big`, written as a person would: "4", "2.5", "12"."""
    ratio = big / small
    return f"{ratio:.0f}" if ratio >= 10 else f"{ratio:.1f}".removesuffix(".0")


def ratio_sentence(first: str, second: str) -> str | None:
    """The computed comparison of the first amounts of two verified sentences, or None when
    either states no amount or they cannot be compared (zero, or the same amount)."""
    a, b = amounts(first), amounts(second)
    if not a or not b or a[0][0] <= 0 or b[0][0] <= 0 or a[0][0] == b[0][0]:
        return None
    (big, big_written), (small, small_written) = sorted([a[0], b[0]], reverse=True)
    return f"{big_written} is about {times(big, small)} times {small_written} (computed)."
