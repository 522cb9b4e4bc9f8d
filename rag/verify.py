"""Check each answer sentence against the passages it cites, without a judge model.

A sentence is supported by a set of passages when every number and every name in it is
found there (a year may also be the one their paragraph is about), and enough of its content
words are. An unsupported citation is moved to the passage that does support the sentence,
if one does; otherwise the sentence is unsupported."""

from __future__ import annotations

import dataclasses
import itertools
import re
from dataclasses import dataclass
from typing import Callable

from . import years
from .chunking import all_sentences
from .citations import MARKER, RUN, markers, markers_in
from .text import COUNT_WORDS, DIGITS, STOPWORDS, content_words, letters, months_in, number, scale_pattern, stem
from .types import SentenceCheck

_NUMBER = re.compile(DIGITS)
_QUANTITY = re.compile(rf"({DIGITS})(?:\s*({scale_pattern()})\b)?", re.I)


def quantities(text: str) -> dict[str, str]:
    """Numbers with their scale, normalised, mapped to how the text writes them: "$65bn" and
    "65 billion" give "65e9", "1,000" and "1000.0" give "1000"."""
    out = {}
    for m in _QUANTITY.finditer(text):
        digits = m.group(1).replace(",", "").rstrip(".").removesuffix(".0")
        _, power = number(m.group(1), m.group(2) or "")
        out.setdefault(digits + (f"e{power}" if power else ""), m.group().strip())
    return out


def numbers(text: str) -> set[str]:
    return set(quantities(text))


def _found_numbers(text: str) -> set[str]:
    """What a number of a sentence may match in a passage: "$5 billion" needs 5 billions (not the
    5 of "3-5 years"), while a bare "5" may match any 5."""
    keys = numbers(text)
    # a date's "08" is the 8 of "August 8" (but an answer's "00042" is not the question's "42")
    return keys | {k.split("e")[0] for k in keys} | {k.lstrip("0") for k in keys if re.fullmatch(r"0\d", k)}


_NAME_WORD = re.compile(r"[A-Za-z][\w'’&.-]*")  # a word that may be a name: "Microsoft's", "AT&T", "U.S."


def names(sentence: str) -> list[str]:
    """Capitalised words (the first word too, unless a stopword) and acronyms, lower-cased,
    without a possessive 's, so that "Microsoft's" matches "Microsoft"; each once, in the order
    the sentence names them."""
    out = {}
    for w in _NAME_WORD.findall(sentence):
        w = w.strip(".'’-")
        if w[:1].isupper() and w.lower() not in STOPWORDS:
            out.setdefault(re.sub(r"['’]s$", "", w.lower()))
    return list(out)


# code and literal terms: `anything`, "one-token", an option (-O, --help), a dotted or called name
# (dict.popitem(), sys.exception()), a dunder (__debug__)
_TERM = re.compile(r"`([^`\n]{1,60})`|[\"\u201c]([^\s\"\u201d]{1,40})[\"\u201d]|(?<![\w-])(-{1,2}[A-Za-z][\w-]*)"
                   r"|\b([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?:\(\))?|[A-Za-z_]\w*\(\)|__\w+__)")


def terms(text: str) -> set[str]:
    """Code and literal terms, lower-cased and without a call's "()": what a manual's answer often
    is ("-O", "sys.exception()", "Ellipsis" in quotes), and what word checks cannot see. Dotted
    abbreviations ("e.g", "U.S") are not terms."""
    out = set()
    for m in _TERM.finditer(text):
        term = next(g for g in m.groups() if g).strip().lower().removesuffix("()")
        if term and not ("." in term and all(len(part) <= 1 for part in term.split("."))):
            out.add(term)
    return out


_CAPITALS = re.compile(r"\b[A-Z]{3,6}\b")


def short_forms(text: str, words: set[str]) -> dict[str, str]:
    """The short forms in capitals in the text that stand for one of the (content) words, as
    {short form: word}: "MSFT" for microsoft, "TSLA" for tesla (the word's letters in order,
    from its first)."""
    out = {}
    for short in set(_CAPITALS.findall(text)):
        for word in words:
            letters = iter(word)
            if len(word) > len(short) and word[0] == short[0].lower() and all(c in letters for c in short.lower()):
                out[short.lower()] = word
    return out


# words that talk about the passages rather than the answer ("as mentioned in passage [1]")
META = frozenset("passage passages mentioned mention mentions text document documents provided information "
                 "context stated states according question answer".split())


def support(sentence: str, passages: list[str], min_overlap: float = 0.5, names_in: str = "",
            question: str = "", years_in: frozenset[str] = frozenset()) -> tuple[bool, tuple[str, ...]]:
    """Is the sentence supported by these passages together? Returns (ok, missing numbers/names).
    Numbers must be in the passages, or be `years_in` (the years their paragraphs give them);
    names in the passages or in `names_in` (their documents, so "Microsoft" is found for a
    passage that says "MSFT"). At least `min_overlap` of its content words must be there, and
    of the words it adds to the question. A code or literal term it adds (`terms`: "-O",
    "sys.exception()") must be there as written, and is a claim of its own. A sentence that only
    restates the question (no content word, term or number beyond it; "MSFT" for Microsoft is no
    new word) supports nothing."""
    # a date the passages write in digits may be written with its month's name
    joined = " ".join(passages)
    joined += " " + " ".join(sorted(months_in(joined)))
    found = _found_numbers(joined) | years_in
    missing = [written for key, written in quantities(sentence).items() if key not in found]
    lowered = (joined + " " + names_in).lower()
    missing += [n for n in names(sentence) if not _mentioned(n, lowered)]
    new_terms = terms(sentence) - terms(question)
    missing += [t for t in sorted(new_terms) if t not in joined.lower()]
    if len(passages) > 1 and not missing:
        missing += _mixed(sentence, passages)
    words = content_words(sentence) - META
    asked = content_words(question)
    short = set(short_forms(sentence, asked))
    added = words - asked - short
    # a short name ("room B", "Plan A") is the answer's claim even when no content word is new
    new_names = set(names(sentence)) - set(names(question)) - set(letters(question)) - short
    if not (added or new_terms or new_names or numbers(sentence) - numbers(question)):
        return False, tuple(missing)
    there = content_words(joined)
    overlap = len(words & there) / len(words) if words else 1.0
    # the words it adds to the question are its claim: a restated question around one invented
    # word ("Meta would not spend money on deepfakes") is not supported by the restated part
    added_overlap = len(added & there) / len(added) if added else 1.0
    return (not missing and min(overlap, added_overlap) >= min_overlap), tuple(missing)


def _mentioned(name: str, lowered: str) -> bool:
    """Is a lower-cased name in the lower-cased text? A name of one or two characters ("b" of
    "room B", "ai") only as a word of its own, not inside another ("about")."""
    if len(name) > 2:
        return name in lowered
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", lowered) is not None


def denies(question: str, sentence: str) -> bool:
    """Does a sentence deny a yes/no question's claim: it has a negation the question lacks ("it is
    not possible to jump into the middle of a for loop" for "Does jump let you jump into the middle
    of a for loop?"), or the opposite of one of its words ("hard" for "easy") without the word itself."""
    if _NEGATION.search(question):
        return False
    said = {stem(w) for w in letters(sentence)}
    contrary = any(w not in said and _CONTRARY.get(w, set()) & said for w in map(stem, letters(question)))
    # "None" written with a capital is a value ("False", "None" and zero are false), not a denial
    negated = any(m.group() != "None" for m in _NEGATION.finditer(sentence))
    return contrary or (negated and not _EITHER_WAY.search(sentence))


def _mixed(sentence: str, passages: list[str]) -> list[str]:
    """In a sentence that states several amounts from several passages ("A's is $6 million,
    while B's is $5 million"), each amount must come from a passage that names who it belongs
    to: the name just before it in the sentence. Returns the names whose amount is not theirs."""
    out = []
    for owner, amount in _owned_amounts(sentence):
        key = next(iter(quantities(amount)))
        holders = [p.lower() for p in passages if key in _found_numbers(p)]
        if owner and holders and not any(owner.group().lower() in p for p in holders):
            out.append(owner.group())
    return out


def _owned_amounts(sentence: str) -> list[tuple[re.Match | None, str]]:
    """The amounts of a sentence that states two or more, each with the last name written
    between it and the amount before it: "A's is $6 million, while B's is $5 million"."""
    found = list(_QUANTITY.finditer(sentence))
    if len(found) < 2:
        return []
    out, start = [], 0
    for m in found:
        owners = [n for n in re.finditer(r"[A-Z][\w&.-]*", sentence[:m.start()])
                  if n.start() >= start and n.group().lower() not in STOPWORDS
                  and not re.fullmatch(r"[QH]\d", n.group())]
        out.append((owners[-1] if owners else None, m.group().strip()))
        start = m.end()
    return out


_ASKS_QUANTITY = re.compile(r"\bhow (?:much|many)\b", re.I)
# a count written as a word, and the words that state a quantity of their own ("one", "half", "twice")
_QUANTITY_WORD = re.compile(rf"\b(?:{'|'.join(COUNT_WORDS + ('one', 'half', 'twice', 'double', 'triple'))})\b", re.I)


def gives_quantity(question: str, answer: str) -> bool:
    """A "how much / how many" question is answered only by a text that states a quantity;
    "DeepSeek used less powerful hardware" does not answer "how many GPUs"."""
    answer = MARKER.sub("", answer)
    return not _ASKS_QUANTITY.search(question) or bool(_NUMBER.search(answer) or _QUANTITY_WORD.search(answer))


@dataclass(frozen=True)
class AnswerCheck:
    """A rule that refuses a supported answer which does not answer the question. `refuses` takes
    (question, answer, cited documents, cited passages); its docstring names the failure class."""
    name: str
    refuses: Callable[[str, str, str, str], bool]


def _no_quantity(question: str, answer: str, documents: str, passages: str) -> bool:
    """A "how much / how many" question answered without any quantity."""
    return not gives_quantity(question, answer)


def _only_the_kind(question: str, answer: str, documents: str, passages: str) -> bool:
    """An answer that names only the kind of thing asked for ("Acme chips" for "which Acme chip")."""
    return names_only_the_kind(question, answer)


def _says_the_opposite(question: str, answer: str, documents: str, passages: str) -> bool:
    """Cited passages that say the contrary of what is asked (`opposite`); not for a yes/no
    question, whose answer may be "No"."""
    return not is_yes_no(question) and opposite(question, passages)


# "subject-not-in-cited-documents" (the cited documents must name what the question is about) was
# removed: on chat logs, where a conversation rarely names the place or firm it is about, it refused
# 11 answerable questions of the tuning half (8 of them answered right without it) for 2 unanswerable
# ones; on the dev set it prevented 2 wrong answers (docs/decisions.md)
ANSWER_CHECKS = (AnswerCheck("no-quantity", _no_quantity), AnswerCheck("only-the-kind", _only_the_kind),
                 AnswerCheck("says-the-opposite", _says_the_opposite))


def failed_check(question: str, answer: str, cited_documents: str, cited_passages: str = "") -> str:
    """The name of the first answer check that refuses a supported answer, or ""."""
    return next((c.name for c in ANSWER_CHECKS if c.refuses(question, answer, cited_documents, cited_passages)), "")


_YES_NO_QUESTION = re.compile(r"^\W*(?:is|are|was|were|am|do|does|did|has|have|had|can|could|will|would|should|"
                              r"shall|may|might|must|isn['’]t|aren['’]t|wasn['’]t|doesn['’]t|didn['’]t)\b", re.I)


# a phrase before the comma that a yes/no question may open with ("In 1972, did Norway join ...?"),
# not a question word ("In what year, did ...?" asks which year)
_FRONTED = re.compile(r"^(?![^,?]*\b(?:what|which|who|whom|whose|when|where|why|how)\b)[^,?]{3,80},\s*")


def is_yes_no(question: str) -> bool:
    """A question answered by yes or no: it opens with an auxiliary verb, or with a phrase and a
    comma before one ("With stochastic gradients, does momentum ...?"), and offers no choice
    ("Is it A or B?" asks which)."""
    asked = _FRONTED.sub("", question.strip(), count=1)
    return bool(_YES_NO_QUESTION.match(asked)) and not re.search(r"\bor\b", question, re.I)


def claim_words(question: str) -> set[str]:
    """The content words of what a yes/no question asks to confirm ("Did Tom paint his kitchen
    navy?" -> tom, paint, kitchen, navy)."""
    return content_words(_YES_NO_QUESTION.sub("", question)) - META


def copies_example(draft: str, examples: tuple[str, ...], passages: str, question: str) -> bool:
    """Does a draft repeat the prompt's worked example instead of reading the passages: a number
    or a word of an example answer that neither the passages nor the question have?"""
    draft = MARKER.sub("", draft)
    known_numbers = _found_numbers(passages) | numbers(question)
    known_words = content_words(passages) | content_words(question)
    examples = [MARKER.sub("", example) for example in examples]
    return any((numbers(example) & numbers(draft)) - known_numbers
               or (content_words(example) & content_words(draft)) - known_words for example in examples)


def restates(draft: str, question: str) -> bool:
    """Does a draft only say the question back, with no content word or number of its own ("The
    committee chose the venue." for "Which venue did the committee choose?"): it gives nothing
    that answers."""
    draft = MARKER.sub("", draft)
    return bool(content_words(draft)) and not (content_words(draft) - content_words(question)
                                               or numbers(draft) - numbers(question))


_NEGATION = re.compile(r"\b(?:not|never|no|none|nothing|neither|nor|without|except|cannot)\b|n['’]t\b", re.I)
_LEAST = re.compile(r"\b(?:least|fewest)\b", re.I)
# a "not" that negates nothing asked: "whether or not", "may or may not", and one that qualifies what is
# counted ("How long is the talk, not counting questions?", "... not including VAT")
_EITHER_WAY = re.compile(r"\b(?:or|may)\s+(?:may\s+)?not\b|\bnot\s+(?=(?:counting|including)\b)", re.I)


_PREFIXED = re.compile(r"\b(?:un|non-?)([a-z]{4,})\b", re.I)  # "uninvited", "non-member"
# words whose opposite in a passage says the contrary of what is asked ("lowest" vs "highest"). Not
# comparatives ("more", "larger"): "Which spends more, A or B?" is answered by "B spends less than
# A". Not before/after, north/south or began/ended, which ask about something else.
_OPPOSITES = [("high", "low"), ("highest", "lowest"), ("increase", "decrease"), ("increased", "decreased"),
              ("increasing", "decreasing"), ("rise", "fall"), ("rose", "fell"), ("most", "least"),
              ("largest", "smallest"), ("maximum", "minimum"), ("easiest", "hardest"), ("best", "worst"),
              ("strong", "weak"), ("strongest", "weakest"), ("first", "last"), ("earliest", "latest"),
              ("simple", "complex"), ("simplicity", "complexity"), ("success", "failure"),
              ("accepted", "rejected"), ("inside", "outside")]
# more pairs that deny a yes/no question's claim ("hard" for "Was it easy?"); not used by `opposite`,
# where a passage with "late" may well answer "What was the earliest ...?"
_DENYING = _OPPOSITES + [("easy", "hard"), ("true", "false"), ("early", "late"), ("cheap", "expensive"),
                         ("open", "closed"), ("allowed", "forbidden"), ("before", "after"), ("support", "oppose")]


def _both_ways(pairs) -> dict[str, set[str]]:
    """word -> its opposites, from (word, opposite) pairs."""
    table: dict[str, set[str]] = {}
    for a, b in pairs:
        table.setdefault(a, set()).add(b)
        table.setdefault(b, set()).add(a)
    return table


_OPPOSITE = _both_ways(_OPPOSITES)
_CONTRARY = _both_ways((stem(a), stem(b)) for a, b in _DENYING)  # on stems


def opposite(question: str, passages: str) -> bool:
    """Could the passages be saying the opposite of what is asked? "What was not needed for a
    state to survive?" is not answered by a passage that says what was needed: a question with
    a negation (or "least") needs one in the passages too. So does a word negated by "un-" or
    "non-" ("Who uninvited him?"), when the passages have the word only without it, and a word
    such as "lowest" when they have only its opposite ("highest")."""
    question = _EITHER_WAY.sub("", question)
    if any(rx.search(question) and not rx.search(passages) for rx in (_NEGATION, _LEAST)):
        return True
    lowered = passages.lower()
    asked, said = set(letters(question)), set(letters(lowered))
    if any(w not in said and (_OPPOSITE[w] & said) - asked for w in asked & _OPPOSITE.keys()):
        return True
    return not _NEGATION.search(passages) and any(
        m.group().lower() not in lowered and re.search(rf"\b{re.escape(m.group(1).lower())}", lowered)
        for m in _PREFIXED.finditer(question))


def names_only_the_kind(question: str, answer: str) -> bool:
    """Does the answer name nothing but the kind of thing asked for? "Acme chips" does not
    answer "Which exact Acme chip was fitted ...?". (Not applied when the question offers a
    choice: "Which company, Meta or Google, ...")."""
    kind = _TYPE_PHRASE.match(question)
    if not kind or re.search(r"\bor\b", kind.group(2), re.I):
        return False
    said = set(names(MARKER.sub("", answer)))
    return bool(said) and said <= set(names(kind.group(2)))


_AUXILIARY = r"(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|should)"
# "Which [new Nvidia chips] does ...": up to four words between the question word and a verb
_TYPE_PHRASE = re.compile(rf"^(\W*(?:which|what)\s+)(?!{_AUXILIARY}\b)((?:[\w'’&.-]+\s+){{0,3}}?[\w'’&.-]+)"
                          rf"\s+(?={_AUXILIARY}\b)", re.I)
# a clause that sets something aside from what is asked: "..., not counting Q&A?", "excluding VAT"
_SET_ASIDE = re.compile(r"\b(?:not\s+(?:counting|including)|excluding)\b[^,;:?!.]*", re.I)


def unknown_terms(question: str, documents: str) -> list[str]:
    """Names (after a sentence's first word), code or literal terms (`terms`) and numbers of a
    question that the documents never mention: a question about "Amazon", or about
    "asyncio.TaskGroup", over documents without it cannot be answered from them. A dotted term
    is mentioned when its last part is ("popitem()" on the dict page answers "dict.popitem()").
    What a question sets aside ("How long is the talk, not counting Q&A?") is not what it asks
    about: documents that never mention it may still answer."""
    question = _SET_ASIDE.sub("", question)
    lowered = documents.lower()
    # the first word of each sentence is capitalised as a first word, not as a name
    after_first = [" ".join(_NAME_WORD.findall(question[s:e])[1:]) for s, e in all_sentences(question)]
    asked = names(" ".join(["x"] + after_first))
    code = [t for t in sorted(terms(question)) if t not in lowered and t.rsplit(".", 1)[-1] not in lowered]
    return [n for n in sorted(asked) if n not in lowered] + code + \
           [n for n in sorted(numbers(question)) if n not in _found_numbers(documents)]


def check(text: str, passages: dict[int, str], min_overlap: float = 0.5, question: str = "",
          documents: dict[int, str] | None = None, asked_years: set[str] | None = None,
          joined: dict[int, str] | None = None) -> list[SentenceCheck]:
    """Each sentence of a cleaned answer against the passages (n -> text) shown to the model;
    documents (n -> the passage's whole document) is where names may also be found, and where
    an amount's year is read: it must be one of `asked_years` (default: the question's years).
    `joined` (n -> text) is what a passage gives a sentence it supports together with another
    passage, when that is less than its text (`stages.evidence`)."""
    documents = documents or {}
    joined = joined or {}
    asked_years = years.years(question) if asked_years is None else asked_years

    paragraph_years = {n: _paragraph_years(p, documents.get(n, "")) for n, p in passages.items()}

    def supported(sentence, group):
        texts = [passages[n] for n in group] if len(group) == 1 else [joined.get(n, passages[n]) for n in group]
        return support(sentence, texts, min_overlap,
                       " ".join(documents.get(n, "") for n in group), question,
                       frozenset().union(*(paragraph_years[n] for n in group)))

    checks = []
    for s, e in all_sentences(text):
        raw = text[s:e]
        plain = MARKER.sub("", raw).strip()
        if not plain:
            continue
        cited = tuple(n for n in dict.fromkeys(markers_in(raw)) if n in passages)
        ok, missing = supported(plain, cited) if cited else (False, ())
        if ok:
            checks.append(SentenceCheck(plain, _own_support(plain, cited, supported, passages, question), True))
            continue
        parts = cited_parts(raw, passages)
        if len(parts) > 1 and all(supported(part, group)[0] for part, group in parts) \
                and len({bool(content_words(part)) for part, _ in parts}) == 1:
            checks.append(SentenceCheck(plain, cited, True))
            continue
        best = _best_support(plain, passages, supported)
        if best:
            checks.append(SentenceCheck(plain, best, True, reattributed=True))
            continue
        if not cited:
            _, missing = supported(plain, tuple(passages))
        checks.append(_trimmed(plain, cited, missing, passages, supported)
                      or SentenceCheck(plain, cited, False, missing=missing))
    return [_in_time(c, asked_years, passages, documents) for c in checks]


def _paragraph_years(passage: str, document: str) -> frozenset[str]:
    """The years a passage is about by its paragraph ("... for FY 2025. MSFT spent USD20bn in
    Q1" makes the second sentence's year 2025), found where the passage is in its document."""
    where = document.find(passage)
    return frozenset(years.scope(document, where) or ()) if where >= 0 else frozenset()


def _in_time(c: SentenceCheck, asked: set[str], passages: dict[int, str], documents: dict[int, str]) -> SentenceCheck:
    """A supported sentence whose amount its passages give for another year than the one asked
    about is not supported: "$5 billion" so far does not answer "How much in 2025?"."""
    if not c.supported:
        return c
    late = years.out_of_time(asked, c.text, [passages[n] for n in c.cited], [documents.get(n, "") for n in c.cited])
    if not late:
        return c
    return dataclasses.replace(c, supported=False, missing=tuple(f"{w} in {' or '.join(sorted(asked))}" for w in late))


_LINKS = "at|in|on|of|for|by|with|from|to|about|around|after|before|since|during|including|and|while|which|who"
_CUT = re.compile(rf",\s|\s\(|\s(?=(?:{_LINKS})\s)", re.I)
_DANGLING = re.compile(rf"\b(?:{_LINKS})$", re.I)  # a head that ends "..., and"


def _trimmed(sentence: str, cited: tuple[int, ...], missing: tuple[str, ...], passages: dict[int, str],
             supported) -> SentenceCheck | None:
    """A sentence whose only fault is an ending the passages lack ("... has died at age 59" when
    the passage breaks off at "at age"): the sentence without that ending, if it is supported."""
    lowered = sentence.lower()
    where = [lowered.find(m.lower()) for m in missing]
    # an amount stated after another goes with the name just before it: "..., while B's is $5 million"
    owned = {amount: owner.start() for owner, amount in _owned_amounts(sentence)[1:] if owner}
    where = [owned.get(m, w) for m, w in zip(missing, where)]
    if not missing or min(where) < 0:
        return None
    cuts = [c.start() for c in _CUT.finditer(sentence) if c.start() < min(where)
            and not _DANGLING.search(sentence[:c.start()].rstrip(" ,;:-"))]
    if not cuts:
        return None
    head = sentence[:cuts[-1]].rstrip(" ,;:-") + "."
    if len(head.split()) < 3:
        return None
    group = cited if cited and supported(head, cited)[0] else _best_support(head, passages, supported)
    if not group:
        return None
    return SentenceCheck(head, group, True, reattributed=group != cited, dropped=sentence[cuts[-1]:].strip(" ,"))


def cited_parts(sentence: str, passages: dict[int, str]) -> list[tuple[str, tuple[int, ...]]]:
    """A sentence's parts that each end in their own citations, with them: "Sam moved on 2025-03-07
    [1] and started on 2025-04-01 [2]" is ("Sam moved on 2025-03-07", (1,)) and ("and started on
    2025-04-01", (2,)). Empty unless every part that says something cites a passage shown.

    `check` holds a sentence whose parts are each supported by what they cite as supported,
    though their passages do not support it together: each passage is read with its own
    header's date, which is not joined to another passage's event. Either every part is a claim
    of its own, or every part is a bare value whose meaning the question gives ("2025-03-07 [1]
    and 2025-04-01 [2]" for the dates of two events); a bare value cited apart from the words it
    goes with ("Sam moved to Leeds [1] on 2025-04-01 [2]") is not a part of its own."""
    pieces = re.split(f"({RUN.pattern})", sentence)  # the sentence is cleaned: each marker is [n]
    if re.search(r"\w", pieces[-1]):
        return []
    parts = []
    for text, run in zip(pieces[0::2], pieces[1::2]):
        group = tuple(n for n in dict.fromkeys(markers_in(run)) if n in passages)
        if not group or not re.search(r"\w", text):
            return []
        parts.append((text.strip(), group))
    return parts


def _own_support(sentence: str, cited: tuple[int, ...], supported, passages: dict[int, str],
                 question: str) -> tuple[int, ...]:
    """Of the passages a supported sentence cites, those that support it on their own: "Over $60
    billion [1][3]" keeps [1] alone when [3] says nothing of it. All of them when none does alone
    (a sentence that joins what two passages say); and a passage that alone holds a name the
    question asks about stays ("Which came first, A or B?" needs the passage about B)."""
    if len(cited) < 2:
        return cited
    alone = [n for n in cited if supported(sentence, (n,))[0]]
    if not alone:
        return cited
    kept = " ".join(passages[n] for n in alone).lower()
    wanted = {n for n in names(question) if n not in kept}
    return tuple(n for n in cited if n in alone or any(w in passages[n].lower() for w in wanted))


def _best_support(sentence: str, passages: dict[int, str], supported) -> tuple[int, ...]:
    """The single passage, or else the pair, that supports the sentence with most word overlap."""
    words = content_words(sentence)
    for size in (1, 2):
        best, best_overlap = (), -1.0
        for group in itertools.combinations(sorted(passages), size):
            if supported(sentence, group)[0]:
                overlap = len(words & content_words(" ".join(passages[n] for n in group))) / max(len(words), 1)
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
        marks = markers(c.cited)
        if marks and body[-1:] in ".!?":
            body = f"{body[:-1]} {marks}{body[-1]}"
        elif marks:
            body = f"{body} {marks}"
        parts.append(body)
    return " ".join(parts)
