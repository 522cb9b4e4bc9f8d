"""Yes/no questions: the answer is Yes or No together with the passage sentence that decides it,
and that sentence, not the model's restatement of the question, is what gets checked.

A small model opens nearly every answer with "Yes" and restates the question, which no word check
can verify. Its reading is taken from the weight it gives "No" against "Yes" as its first word
(`leaning`), or else from how its draft opens; the program finds the sentence of the passages the
model read that is closest to the question's claim, and:
- when the passages hold `min_overlap` of the claim's content words (they are about it), the
  answer is "No" if that sentence denies the claim (a negation the question lacks, or the
  contrary of one of its words: "hard" for "easy", "after" for "before"), whatever the model
  said, and the model's "Yes" when the sentence with its neighbours holds `min_overlap` of them
  and at least one of those that are not the question's names (what the claim says of them:
  a sentence that names Acme and Bolt as rivals does not say that Acme acquired Bolt), or
  `min_overlap` of those that are not names (a sentence may say it of "our model" or "he",
  named sentences before);
- the model's "No" stands when the passages hold half of the claim's words (they are about it
  and say otherwise);
- otherwise, or when a name of the question is in none of the passages, or when `UNSETTLED`
  words of what the claim says of its names (its words that are not names: "crane" and "lift"
  in "Did Ann use a crane to lift the boat?") are in none of them, there is no answer:
  passages about the names alone settle nothing, whatever the model leans to.
A sentence that is itself a question decides nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .chunking import all_sentences
from .citations import MARKER
from .text import content_words
from .verify import META, claim_words, denies, names


@dataclass(frozen=True)
class Decision:
    said: str  # "Yes" or "No"
    passage: int  # the number of the passage holding the deciding sentence
    sentence: str  # the deciding sentence, as the passage has it

    @property
    def text(self) -> str:
        return f"{self.said}: \u201c{self.sentence}\u201d"


_POLARITY = re.compile(r"^\W*(yes|no)\b", re.I)


def polarity(sentence: str) -> str:
    """"yes" or "no" for a sentence that opens with Yes or No, else ""."""
    m = _POLARITY.match(sentence)
    return m.group(1).lower() if m else ""


# "No" is the model's reading when it gives "No" at least this share of the weight it gives "Yes".
# On the 28 yes/no questions of the four tuning halves, No's weight against Yes's was 0.003 to
# 0.37 where the answer is Yes (15), 0.58 to 1.9 where it is No for 11 of 13, and 0.03 for two
# (docs/evaluation.md)
NO_WEIGHT = 0.5


# A yes/no claim is unsettled by passages that lack this many of the words it says of its names
# (chosen on the tuning halves: docs/evaluation.md, twelfth pass)
UNSETTLED = 2


def leaning(odds: dict[str, float] | None) -> str:
    """"no" or "yes" as the model leans, from the probabilities it gives "Yes" and "No" as its
    first word; "" without them. A small model writes "Yes" first even when it gives "No" half
    the weight, and those are mostly questions whose answer is No: the passages say otherwise."""
    if not odds or not (odds.get("Yes", 0.0) or odds.get("No", 0.0)):
        return ""
    return "no" if odds.get("No", 0.0) >= NO_WEIGHT * odds.get("Yes", 0.0) else "yes"


def draft_says(question: str, draft: str) -> str:
    """"yes" or "no" as the model's draft opens, "yes" for a draft that only restates the question
    ("Tom painted his kitchen navy."), else the Yes or No a later sentence opens with ("It was
    tested on Monday. No, it failed."), else "" (the draft is checked sentence by sentence)."""
    said = polarity(draft.strip())
    if said:
        return said
    spans = all_sentences(draft)
    first = next((draft[s:e] for s, e in spans), "")
    restated = content_words(MARKER.sub("", first))
    if restated and restated <= claim_words(question) | META:
        return "yes"
    return next((said for s, e in spans[1:] if (said := polarity(draft[s:e]))), "")


def asks(sentence: str) -> bool:
    """A sentence that asks something ("what did you call him, Biscuit?") states nothing: it
    cannot decide a yes/no question."""
    return sentence.rstrip(" \"'\u201d\u2019)]").endswith("?")


def decide(question: str, said: str, passages: dict[int, str], min_overlap: float) -> Decision | None:
    """The answer to a yes/no question from the passages (number -> text), given what the model
    said ("yes" or "no"); None when the passages do not decide it."""
    words = claim_words(question)
    joined = "\n".join(passages.values())
    asked_names = names(" ".join(["x"] + question.split()[1:]))
    if not words or any(n not in joined.lower() for n in asked_names):
        return None
    # what the claim says of its names: one word of it may be the value the passages give another
    # of ("red" where they say blue), two missing are a claim they do not make
    relation = words - content_words(" ".join(asked_names))
    passage_words = content_words(joined)
    if len(relation - passage_words) >= UNSETTLED:
        return None
    candidates = []  # (passage, sentence, the sentence with its neighbours)
    for n, text in sorted(passages.items()):
        spans = [(s, e) for s, e in all_sentences(text) if not asks(text[s:e])]
        for i, (s, e) in enumerate(spans):
            around = " ".join(text[a:b] for a, b in spans[max(i - 1, 0):i + 2])
            candidates.append((n, text[s:e], around))
    if not candidates:
        return None
    # the closest sentence: most of the claim's words, then with its neighbours; the better-ranked
    # passage on a tie
    n, sentence, around = max(candidates, key=lambda c: (len(words & content_words(c[1])),
                                                        len(words & content_words(c[2]))))
    there = len(words & passage_words) / len(words)
    around_words = content_words(around)
    stated = len(words & around_words) / len(words)
    if denies(question, sentence):
        return Decision("No", n, sentence) if there >= min_overlap else None
    # the names are there (checked above): a Yes needs the claim's other words, what it says of
    # them; a sentence may state that of "our model" or "he", named in the sentences before
    told = relation & around_words
    if said == "yes" and ((stated >= min_overlap and (not relation or told))
                          or (relation and len(told) / len(relation) >= min_overlap)):
        return Decision("Yes", n, sentence)
    if said == "no" and there >= min_overlap / 2:
        return Decision("No", n, sentence)
    return None
