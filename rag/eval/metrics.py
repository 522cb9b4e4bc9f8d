"""Metrics as small pure functions: retrieval (BEIR definitions), answers (SQuAD), citations
(ALCE-style, lexical), refusals, numbers, speed, and bootstrap intervals.

A function returns None when the metric is undefined for its input (no gold sources, no
answer sentences, no refusals...); aggregates skip None values and report how many counted."""

from __future__ import annotations

import datetime
import math
import re
import string
from collections import Counter
from decimal import Decimal
from typing import Callable, Iterable, Sequence

import numpy as np

from ..chunking import all_sentences
from ..citations import MARKER, markers_in
from ..text import STOPWORDS as SHARED_STOPWORDS, dates_in_words, number, scale_pattern, stem, with_digits

# ---------- retrieval (document level, binary relevance) ----------


def first_ranks(keys: Iterable[str]) -> list[str]:
    """Each key once, at its first (best) rank: chunk hits mapped to documents."""
    seen: set[str] = set()
    out = []
    for key in keys:
        if key not in seen:
            seen.add(key)
            out.append(key)
    return out


def hit_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float | None:
    if not relevant:
        return None
    return float(any(d in relevant for d in ranked[:k]))


def recall_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float | None:
    if not relevant:
        return None
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def mrr_at_k(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float | None:
    if not relevant:
        return None
    for rank, d in enumerate(ranked[:k], start=1):
        if d in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float | None:
    if not relevant:
        return None
    dcg = sum(1.0 / math.log2(rank + 1) for rank, d in enumerate(ranked[:k], start=1) if d in relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    return dcg / ideal


# ---------- answers (official SQuAD normalisation) ----------

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation) | set("‘’“”–—")  # typographic quotes and dashes too


def normalize_answer(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (SQuAD v1.1/v2.0 evaluate script)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _refusal_pattern(refusal: str) -> re.Pattern:
    return re.compile(r"\W+".join(re.findall(r"\w+", refusal)) + r"\W*", re.IGNORECASE)


def strip_answer(text: str, refusal: str = "") -> str:
    """The answer as a reader would score it: no [n] markers and no refusal sentence."""
    text = MARKER.sub("", text)
    if refusal.strip():
        text = _refusal_pattern(refusal.strip()).sub(" ", text)
    return " ".join(text.split())


def _f1(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, golds: Sequence[str]) -> float | None:
    if not golds:
        return None
    return max(float(normalize_answer(prediction) == normalize_answer(g)) for g in golds)


def token_f1(prediction: str, golds: Sequence[str]) -> float | None:
    if not golds:
        return None
    return max(_f1(prediction, g) for g in golds)


# a possessive 's, left out where a name is compared ("Liang Wenfang's" is "Liang Wenfang")
_POSSESSIVE = re.compile(r"['\u2019]s\b", re.IGNORECASE)


def contains_answer(prediction: str, golds: Sequence[str]) -> float | None:
    """1 if some normalised gold answer occurs, as whole words, in the normalised prediction
    (a possessive counts as the name: "Liang Wenfang's company" contains "Liang Wenfang")."""
    if not golds:
        return None
    pred = " " + normalize_answer(_POSSESSIVE.sub("", prediction)) + " "
    return float(any(normalize_answer(g) and f" {normalize_answer(g)} " in pred for g in golds))


LENIENT_SHARE = 0.6
_WHOLE_DECIMALS = re.compile(r"(\d)\.0+(?!\d|\.\d)")  # "£62.00" and "0.0." are "£62" and "0." (but "3.10" and "3.0.1" stay)
YES_NO = ("yes", "no")


def _lenient(prediction: str, gold: str) -> bool:
    """Right the way a person would judge it: a "Yes"/"No" gold by the answer's first word;
    another gold when it is contained, or LENIENT_SHARE of its content words (and every
    number in it) are in the answer. A number may be written in words or digits ("ten weeks"
    is "10 weeks"), a date with its month's name or in digits ("08/08/2025" is "8 August")."""
    gold_norm = normalize_answer(gold)
    if gold_norm in YES_NO:
        return normalize_answer(prediction).split()[:1] == [gold_norm]
    prediction, gold = with_digits(dates_in_words(prediction)), with_digits(dates_in_words(gold))
    if contains_answer(_WHOLE_DECIMALS.sub(r"\1", prediction), [_WHOLE_DECIMALS.sub(r"\1", gold)]):
        return True
    content = content_words(gold)
    if not content or len(content & content_words(prediction)) / len(content) < LENIENT_SHARE:
        return False
    known = number_forms(prediction)
    return all(forms & known for _, forms in number_mentions(gold))


def lenient_match(prediction: str, golds: Sequence[str]) -> float | None:
    """1 if the (stripped) answer is right for some gold answer by `_lenient`; an empty
    prediction (a refusal) is never right, nor one that starts with the opposite of a
    Yes/No gold ("Yes, it is sage green" for golds "No" and "sage green")."""
    if not golds:
        return None
    first = normalize_answer(prediction).split()[:1]
    opposite = {"yes": "no", "no": "yes"}
    if any(first == [opposite[g]] for g in map(normalize_answer, golds) if g in YES_NO):
        return 0.0
    return float(bool(first) and any(_lenient(prediction, g) for g in golds))


# ---------- numbers ----------

# the scale words grading reads: not the one-letter suffixes ("5 m" may be metres) nor "mn" and "tr"
_GRADED_SCALES = ("thousand", "million", "billion", "trillion", "bn", "tn")
_NUMBER = re.compile(rf"(?<![\w.,])(\d{{1,3}}(?:,\d{{3}})+|\d+)(\.\d+)?"
                     rf"(?:\s*({scale_pattern(_GRADED_SCALES)})\b)?", re.IGNORECASE)
_CURRENCY = re.compile(r"\b(USD|EUR|GBP|CHF|JPY|CNY|RMB|US\$)(?=\d)")


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def number_mentions(text: str) -> list[tuple[str, set[str]]]:
    """Each number written with digits, with its equivalent forms: "$65 billion" ->
    ("65 billion", {"65", "65000000000"}); "1,000" -> ("1,000", {"1000"}). Digits glued to
    letters ("R1", "H100") are names, not numbers, except after a currency code ("USD20bn")."""
    text = _CURRENCY.sub(r"\1 ", MARKER.sub(" ", text))
    out = []
    for m in _NUMBER.finditer(text):
        value, power = number(m.group(1) + (m.group(2) or ""), m.group(3) or "")
        forms = {_plain(value)}
        if power:
            forms.add(_plain(value.scaleb(power)))
        out.append((m.group(0), forms))
    return out


def number_forms(text: str) -> set[str]:
    return {f for _, forms in number_mentions(text) for f in forms}


def unsupported_numbers(answer: str, passages: Sequence[str], question: str = "") -> list[str]:
    """Numbers in the answer that appear in no passage (nor in the question) and are not the
    ratio of two that do ("$60 billion is about 12 times $5 billion"), nor the right count of a
    computed interval ("From 1830 to 1962 is 132 years (computed)")."""
    known = number_forms(question)
    for p in passages:
        known |= number_forms(p)
    answer = _COMPUTED_INTERVAL.sub(lambda m: f"From {m['a']} to {m['b']}" if interval_right(m.group())
                                    else m.group(), MARKER.sub("", answer))
    mentions = number_mentions(answer)
    found = [max(float(f) for f in forms) for _, forms in mentions if forms & known]
    return [raw for raw, forms in mentions if not forms & known and not _ratio_of(float(min(forms)), found)]


def _ratio_of(value: float, found: list[float]) -> bool:
    """Is value, within 10%, how many times one found number is another?"""
    return any(b > 0 and a > b and abs(a / b - value) <= 0.1 * value
               for a in found for b in found)


# a sentence the program computed: "From 24 September to 15 November is 52 days (computed)."
_COMPUTED_INTERVAL = re.compile(r"From (?P<a>[^.]+?) to (?P<b>[^.]+?) is (?P<n>\d+) (?P<unit>day|week|month|year)s?"
                                r"(?: and \d+ days?)?(?:, about \d+ \w+)? \(computed\)")
_DATE_FORMATS = ("%Y-%m-%d", "%d %B %Y", "%B %d, %Y", "%B %Y", "%Y", "%d %B", "%B %d")


def _read_date(text: str) -> tuple[datetime.datetime, str] | None:
    """(the date, the format it was read with), with a few common formats; None otherwise."""
    for f in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text.strip(), f), f
        except ValueError:
            continue
    return None


def _read_dates(m: re.Match) -> tuple[tuple[datetime.datetime, str], tuple[datetime.datetime, str]] | None:
    """The dates a computed sentence names ("a" and "b"), each with its format; a date without a
    year takes the other's. None when either cannot be read."""
    a, b = _read_date(m["a"]), _read_date(m["b"])
    if a is None or b is None:
        return None
    (a_date, a_format), (b_date, b_format) = a, b
    if "%Y" in a_format and "%Y" not in b_format:
        b = b_date.replace(year=a_date.year), b_format
    elif "%Y" in b_format and "%Y" not in a_format:
        a = a_date.replace(year=b_date.year), a_format
    return a, b


def interval_right(sentence: str) -> bool:
    """Is a computed interval's count right for its two dates, read here on their own (not with
    the program's reading)? A date without a year takes the other's; between two dates with
    months, years and months may be one fewer (the later one's day comes before the earlier's)."""
    m = _COMPUTED_INTERVAL.search(sentence)
    read = m and _read_dates(m)
    if not read:
        return False
    (a, a_format), (b, b_format) = read
    n, unit = int(m["n"]), m["unit"]
    if unit == "year":
        both_months = a_format != "%Y" and b_format != "%Y"
        return n == b.year - a.year or both_months and n == b.year - a.year - 1
    months = (b.year - a.year) * 12 + b.month - a.month
    days = (b - a).days
    return {"day": days == n, "week": days // 7 == n, "month": n in (months, months - 1)}[unit]


# "Yes: 1598 is before 1754 (computed)." for "Did A happen before B?"
_COMPUTED_ORDER = re.compile(r"(?:Yes|No): (?P<a>[^.]+?) is (?P<rel>before|after) (?P<b>[^.]+?) \(computed\)")


def order_right(sentence: str) -> bool:
    """Does a computed order sentence say rightly which of its two dates comes first, the dates
    read here on their own? A date without a year takes the other's."""
    m = _COMPUTED_ORDER.search(sentence)
    read = m and _read_dates(m)
    if not read:
        return False
    (a, _), (b, _) = read
    return a != b and (a < b) == (m["rel"] == "before")


# ---------- citations (lexical support, no judge model) ----------

# the shared stop words, and the words an answer uses to point at its sources
STOPWORDS = SHARED_STOPWORDS | {"passage", "passages", "document", "documents", "however", "let", "per", "may",
                              "might", "must", "shall"}

SUPPORT_THRESHOLD = 0.6
_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(_POSSESSIVE.sub("", text.lower()))]


def content_words(text: str) -> set[str]:
    return {w for w in words(MARKER.sub(" ", text)) if len(w) > 1 and not w.isdigit() and w not in STOPWORDS}


def names(sentence: str) -> set[str]:
    """Capitalised words other than the sentence's first word ("Meta", "NVIDIA", "LeCun")."""
    tokens = _WORD.findall(_POSSESSIVE.sub("", MARKER.sub(" ", sentence)))
    return {stem(t.lower()) for t in tokens[1:] if t[0].isupper() and t.lower() not in STOPWORDS}


def supports(sentence: str, passages: Sequence[str], threshold: float = SUPPORT_THRESHOLD) -> bool:
    """The passages together contain at least `threshold` of the sentence's content words,
    and every number and capitalised name in it; for a computed interval or order, its two
    dates' numbers, and what it says of them is right (`interval_right`, `order_right`)."""
    if not passages:
        return False
    joined = "\n".join(passages)
    for pattern, right in ((_COMPUTED_INTERVAL, interval_right), (_COMPUTED_ORDER, order_right)):
        if m := pattern.search(sentence):  # its dates from the passages, what it says of them right
            known = number_forms(joined)
            return right(sentence) and all(forms & known for _, forms in number_mentions(m["a"] + " " + m["b"]))
    vocabulary = set(words(joined))
    content = content_words(sentence)
    if content and len(content & vocabulary) / len(content) < threshold:
        return False
    if not names(sentence) <= vocabulary:
        return False
    known = number_forms(joined)
    return all(forms & known for _, forms in number_mentions(sentence))


def answer_sentences(text: str) -> list[tuple[str, list[int]]]:
    """(sentence without markers, distinct marker numbers in it) for each sentence that says
    something: list numbers like "3." and bare punctuation are left out."""
    out = []
    for s, e in all_sentences(text):
        raw = text[s:e]
        clean = " ".join(MARKER.sub("", raw).split())
        if content_words(clean):
            out.append((clean, list(dict.fromkeys(markers_in(raw)))))
    return out


def citation_validity(raw_text: str, shown: set[int]) -> float | None:
    """Share of [n] markers in the model's raw output that point at a passage it was shown."""
    marks = markers_in(raw_text)
    if not marks:
        return None
    return sum(n in shown for n in marks) / len(marks)


def citation_verdicts(text: str, passages: dict[int, str], threshold: float = SUPPORT_THRESHOLD) -> list[dict]:
    """Per answer sentence: its citations, whether they support it together, and which of
    them are precise (needed or sufficient for that support)."""
    out = []
    for sentence, cited in answer_sentences(text):
        cited = [n for n in cited if n in passages]
        supported = bool(cited) and supports(sentence, [passages[n] for n in cited], threshold)
        precise = []
        for n in cited:
            alone = supports(sentence, [passages[n]], threshold)
            rest = [passages[m] for m in cited if m != n]
            needed = not (rest and supports(sentence, rest, threshold))
            precise.append(supported and (alone or needed))
        out.append({"sentence": sentence, "cites": cited, "supported": supported, "precise": precise})
    return out


def citation_coverage(verdicts: list[dict]) -> float | None:
    if not verdicts:
        return None
    return sum(bool(v["cites"]) for v in verdicts) / len(verdicts)


def citation_support(verdicts: list[dict]) -> float | None:
    """ALCE citation recall: share of sentences whose citations together support them."""
    if not verdicts:
        return None
    return sum(v["supported"] for v in verdicts) / len(verdicts)


def citation_precision(verdicts: list[dict]) -> float | None:
    """ALCE citation precision: share of citations that are needed or sufficient."""
    flags = [p for v in verdicts for p in v["precise"]]
    if not flags:
        return None
    return sum(flags) / len(flags)


# ---------- refusals ----------


def refusal_scores(answerable: Sequence[bool], refused: Sequence[bool]) -> dict[str, float | None]:
    """Refusal as a detector of unanswerable questions, and over-refusal on answerable ones."""
    pairs = list(zip(answerable, refused))
    true_refusals = sum(1 for a, r in pairs if r and not a)
    refusals = sum(1 for _, r in pairs if r)
    unanswerable = sum(1 for a, _ in pairs if not a)
    answerable_n = len(pairs) - unanswerable
    precision = true_refusals / refusals if refusals else None
    recall = true_refusals / unanswerable if unanswerable else None
    if precision is None or recall is None:
        f1 = None
    else:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    over = sum(1 for a, r in pairs if r and a) / answerable_n if answerable_n else None
    return {"precision": precision, "recall": recall, "f1": f1, "over_refusal": over}


# ---------- speed ----------


def percentile(values: Sequence[float], q: float) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.percentile(values, q)) if values else None


def reading_s(timings: dict) -> float:
    """Seconds before generation (plan, retrieve, build the context) in a record's timings; a
    record made before the stages were timed apart has them all in retrieve_s."""
    return timings.get("plan_s", 0.0) + timings["retrieve_s"] + timings.get("context_s", 0.0)


def tokens_per_second(tokens: Sequence[int], seconds: Sequence[float]) -> float | None:
    """Generation speed after the first token: all tokens over all generation time."""
    total = sum(seconds)
    return sum(tokens) / total if total > 0 else None


# ---------- aggregation with bootstrap intervals ----------


def mean(values: Iterable[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def stat(value: float | None, n: int, ci: tuple[float, float] | None) -> dict:
    return {"value": value, "n": n, "ci95": list(ci) if ci else None}


def mean_stat(values: Iterable[float | None], seed: int = 0, resamples: int = 1000) -> dict:
    """Mean of the defined values, their count and a percentile bootstrap 95% interval."""
    arr = np.array([v for v in values if v is not None], dtype=float)
    if not len(arr):
        return stat(None, 0, None)
    rng = np.random.default_rng(seed)
    means = arr[rng.integers(0, len(arr), size=(resamples, len(arr)))].mean(axis=1)
    return stat(float(arr.mean()), len(arr), (float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))))


def bootstrap_stat(items: Sequence, fn: Callable[[Sequence], float | None], n: int,
                   seed: int = 0, resamples: int = 1000) -> dict:
    """fn over the items, with a 95% interval from resampling the items; n is the count the
    rate is over (e.g. its denominator)."""
    value = fn(items)
    if value is None or not items:
        return stat(value, n if value is not None else 0, None)
    rng = np.random.default_rng(seed)
    results = []
    for _ in range(resamples):
        picked = [items[i] for i in rng.integers(0, len(items), size=len(items))]
        r = fn(picked)
        if r is not None:
            results.append(r)
    ci = (float(np.percentile(results, 2.5)), float(np.percentile(results, 97.5))) if results else None
    return stat(float(value), n, ci)
