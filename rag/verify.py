"""Check each answer sentence against the passages it cites, without a judge model.

A sentence is supported by a set of passages when every number and every name in it is
found there, and enough of its content words are. An unsupported citation is moved to the
passage that does support the sentence, if one does; otherwise the sentence is unsupported."""

from __future__ import annotations

import itertools
import re
from .chunking import all_sentences
from .citations import MARKER, markers_in
from .types import SentenceCheck

STOPWORDS = frozenset("""a about above after again against all also am an and any are as at be because been
before being below between both but by can could did do does doing down during each few for from further had
has have having he her here hers herself him himself his how i if in into is it its itself just me more most my
myself no nor not now of off on once only or other our ours ourselves out over own same she should so some such
than that the their theirs them themselves then there these they this those through to too under until up very
was we were what when where which while who whom why will with would you your yours yourself yourselves said
says say according like well much many one would also it's that's there's""".split())

_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_SCALE = {"thousand": "e3", "k": "e3", "million": "e6", "m": "e6", "mn": "e6", "billion": "e9", "bn": "e9",
          "b": "e9", "trillion": "e12", "tn": "e12"}


def numbers(text: str) -> set[str]:
    """Numbers as normalised strings: "1,000" and "1000" are equal; "$65bn" gives "65"."""
    return {m.group().replace(",", "").rstrip(".").removesuffix(".0") for m in _NUMBER.finditer(text)}


def names(sentence: str) -> set[str]:
    """Capitalised words (the first word too, unless a stopword) and acronyms, lower-cased
    and stemmed so that "Microsoft's" matches "Microsoft"."""
    out = set()
    for w in re.findall(r"[A-Za-z][\w'’&.-]*", sentence):
        w = w.strip(".'’-")
        if w[:1].isupper() and w.lower() not in STOPWORDS:
            out.add(_stem(w.lower()))
    return out


def _stem(word: str) -> str:
    for suffix in ("'s", "’s", "ies", "es", "s", "ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    return {_stem(w) for w in re.findall(r"[a-z][a-z'’-]*", text.lower()) if w not in STOPWORDS and len(w) > 2}


def support(sentence: str, passages: list[str], min_overlap: float = 0.5,
            question: str = "") -> tuple[bool, tuple[str, ...]]:
    """Is the sentence supported by these passages together? Returns (ok, missing numbers/names).
    Names the user wrote in the question may be repeated without support ("Microsoft" for "MSFT")."""
    joined = " ".join(passages) + " " + " ".join(names(question))
    haystack_numbers = numbers(joined)
    lowered = joined.lower()
    missing = [n for n in numbers(sentence) if n not in haystack_numbers]
    missing += [n for n in names(sentence) if n not in lowered]
    words = content_words(sentence)
    if not words and not numbers(sentence):
        return False, tuple(missing)
    found = content_words(joined)
    overlap = len(words & found) / len(words) if words else 1.0
    return (not missing and overlap >= min_overlap), tuple(missing)


def check(text: str, passages: dict[int, str], min_overlap: float = 0.5,
          question: str = "") -> list[SentenceCheck]:
    """Each sentence of a cleaned answer against the passages (n -> text) shown to the model."""
    checks = []
    for s, e in all_sentences(text):
        raw = text[s:e]
        plain = MARKER.sub("", raw).strip()
        if not plain:
            continue
        cited = tuple(n for n in dict.fromkeys(markers_in(raw)) if n in passages)
        ok, missing = support(plain, [passages[n] for n in cited], min_overlap, question) if cited else (False, ())
        if ok:
            checks.append(SentenceCheck(plain, cited, True))
            continue
        best = _best_support(plain, passages, min_overlap, question)
        if best:
            checks.append(SentenceCheck(plain, best, True, reattributed=True))
        else:
            if not cited:
                _, missing = support(plain, list(passages.values()), min_overlap, question)
            checks.append(SentenceCheck(plain, cited, False, missing=missing))
    return checks


def _best_support(sentence: str, passages: dict[int, str], min_overlap: float, question: str) -> tuple[int, ...]:
    """The single passage, or else the pair, that supports the sentence with most word overlap."""
    words = content_words(sentence)
    ranks = sorted(passages)
    for size in (1, 2):
        best, best_overlap = (), -1.0
        for group in itertools.combinations(ranks, size):
            texts = [passages[n] for n in group]
            if support(sentence, texts, min_overlap, question)[0]:
                overlap = len(words & content_words(" ".join(texts))) / max(len(words), 1)
                if overlap > best_overlap:
                    best, best_overlap = group, overlap
        if best:
            return best
    return ()


def render(checks: list[SentenceCheck], keep_unsupported: bool = False) -> str:
    """The answer text from checked sentences: supported ones with their markers."""
    parts = []
    for c in checks:
        if not c.supported and not keep_unsupported:
            continue
        body = c.text
        marks = "".join(f"[{n}]" for n in c.cited)
        if marks and body[-1:] in ".!?":
            body = f"{body[:-1]} {marks}{body[-1]}"
        elif marks:
            body = f"{body} {marks}"
        parts.append(body)
    return " ".join(parts)
