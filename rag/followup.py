"""Follow-up questions: checks on the model's standalone rewrite, and the fallback when it fails."""

from __future__ import annotations

import re
from typing import Sequence

from .citations import MARKER
from .text import content_words, stem, words

History = Sequence[tuple[str, str]]  # (question, answer text) pairs, oldest first
HISTORY_TURNS = 2  # earlier question/answer pairs every face sends with a follow-up

_QUESTION_WORD = re.compile(r"\b(what|who|whom|whose|which|when|where|why|how)\b")


def acceptable(rewritten: str, question: str, history: History) -> bool:
    """A small model's rewrite may drop the question or repeat an earlier one: keep it only if
    it is new, asks with the same question word, and holds more than half of the follow-up's
    content words (when it has two or more: "Starting when?" may become "When does Tesla start",
    but "How much of that drop was Acme's?" must keep "drop", not only "Acme")."""
    if _same(rewritten, question) or any(_same(rewritten, q) for q, _ in history):
        return False
    asked = _QUESTION_WORD.findall(question.lower())
    if asked and asked[0] not in _QUESTION_WORD.findall(rewritten.lower()):
        return False  # "What does he suggest" must not become "Who did he suggest"
    own = content_words(question)
    return len(own) < 2 or len(own & content_words(rewritten)) > len(own) / 2


_REFERENCE = re.compile(r"\b(he|she|it|its|they|them|their|his|her|him|this|that|these|those|there|then|"
                        r"the company|the same)\b", re.I)
_CONTINUATION = re.compile(r"^\W*(and|so|also|but|what about|how about)\b", re.I)


def needs_context(question: str) -> bool:
    """Does a follow-up lean on the conversation (a pronoun, "that", "And ...?", or too few
    words to stand alone)? One that does not is asked as it is, without a rewrite call."""
    return bool(_REFERENCE.search(question) or _CONTINUATION.match(question)) or len(content_words(question)) < 2


def combined(question: str, history: History, refusal: str = "") -> str:
    """The retrieval query when a follow-up could not be rewritten: the last question, its
    answer (what "he" or "that" most often points at) unless it was the refusal, then the
    follow-up."""
    last_question, last_answer = history[-1]
    last_answer = MARKER.sub("", last_answer).strip()
    if refusal and last_answer.startswith(refusal.strip()):
        last_answer = ""
    return " ".join(part for part in (last_question.strip(), last_answer, question.strip()) if part)


def _same(a: str, b: str) -> bool:
    return a.strip().lower().rstrip("?.! ") == b.strip().lower().rstrip("?.! ")


# ---------- elliptical follow-ups: "And the garage?", "What about Ann's?", "And in March?" ----------

_ELLIPSIS = re.compile(r"^\W*(?:and|what about|how about)\s+(?P<rest>[^?]+?)\W*$", re.I)
_ONE_OF = re.compile(r"\b(?:one|ones|else)\b", re.I)  # "the other one", "someone else"
_PREPOSITIONS = frozenset("of in on for at to from with by about during after before since until under over into "
                          "between than per".split())
_DETERMINERS = frozenset("the a an his her their its my your our this these those".split())
_AUXILIARIES = frozenset("do does did will would can could should may might must".split())
_VERBS = _AUXILIARIES | frozenset("is are was were be been being has have had".split())
_PHRASE_ENDS = _PREPOSITIONS | _VERBS | frozenset("and or if that which who whom whose what when where why how".split())
_TOKEN = re.compile(r"'[^'\s]*'|\"[^\"]*\"|[^\s?!,;:]+")
_POSSESSIVE = re.compile(r"[A-Z][\w-]*'s")
_MAX_PHRASE = 6  # words of a phrase after its determiner or preposition


def fragment(question: str) -> str | None:
    """The phrase of an elliptical follow-up ("And the garage?" gives "the garage"): one that
    asks nothing itself (no question word or verb) and points at nothing earlier ("its"), so
    that it can only mean the last question asked again of something else."""
    m = _ELLIPSIS.match(question)
    rest = m.group("rest").strip() if m else ""
    asks = _QUESTION_WORD.search(rest.lower()) or not _VERBS.isdisjoint(rest.lower().split())
    points = _REFERENCE.search(rest) or _ONE_OF.search(rest)
    return rest if rest and len(rest.split()) <= _MAX_PHRASE and not asks and not points else None


def elliptical(question: str, asked: Sequence[str]) -> str | None:
    """An elliptical follow-up as the last question asked (`asked`: the earlier questions, oldest
    first) asked again of its phrase, without a model: the phrase takes the place of the last
    question's phrase that it stands for, found by the same preposition ("in March" for "in early
    February"), the same head noun ("the -x flag" for "the -v flag"), a possessive for a
    possessive ("Ann's" for "Bob's"), or the one phrase of its kind (a name for a name, "the
    garage" for "his shed"). A last question that was elliptical itself is first made
    whole the same way. None when the follow-up is not elliptical or the choice is not clear:
    the model rewrites it then."""
    frag = fragment(question)
    if frag is None or not asked:
        return None
    last_question = asked[-1]
    if fragment(last_question) is not None:
        last_question = elliptical(last_question, asked[:-1])
        if last_question is None:
            return None
    tokens = _tokens(last_question)
    spans = list(_phrases(tokens))

    def put(text: str, first: int, last: int) -> str:
        return last_question[:tokens[first][1]] + text + last_question[tokens[last][2]:]

    head, *rest = frag.split()
    prepositional = head.lower() in _PREPOSITIONS
    if prepositional:
        same = [(i, j) for kind, i, j in spans if kind == "prep" and tokens[i][0].lower() == head.lower()]
        if same:
            return put(frag, *same[-1])
        frag, head = " ".join(rest), (rest or [""])[0]
    noun = _head(frag)
    for kind, i, j in spans if noun else ():
        same_noun = [k for k in range(i, j + 1) if kind != "prep" and _head(tokens[k][0]) == noun]
        if same_noun:
            return put(frag, i, same_noun[0])
    if prepositional:  # "And in March?" after a question with no "in ...": what it stands for is not clear
        return None
    if _POSSESSIVE.fullmatch(head):
        owners = [(i, j) for kind, i, j in spans if kind == "det" and _POSSESSIVE.fullmatch(tokens[i][0])]
        if owners:
            i, j = owners[-1]
            return put(frag, i, i if frag == head else j)
    same_kind = [(i, j) for kind, i, j in spans if kind == ("name" if head[:1].isupper() else "det")]
    return put(frag, *same_kind[0]) if len(same_kind) == 1 else None


def _tokens(text: str) -> list[tuple[str, int, int]]:
    """Words with their spans; a quoted token ("','") is one word, a final full stop is not part of one."""
    out = []
    for m in _TOKEN.finditer(text):
        token, start, end = m.group(), m.start(), m.end()
        while len(token) > 1 and token[-1] in ".!?" and token[0] not in "'\"":
            token, end = token[:-1], end - 1
        out.append((token, start, end))
    return out


def _phrases(tokens: list[tuple[str, int, int]]):
    """(kind, first, last) token spans of a question's phrases: "det" (a determiner or a
    possessive and the words after it), "prep" (a preposition and its words) and "name" (a
    run of capitalised words after the first word), each up to the next function word."""
    for i, (token, _, _) in enumerate(tokens):
        low = token.lower()
        if low in _DETERMINERS or low in _PREPOSITIONS or _POSSESSIVE.fullmatch(token):
            j = i + 1
            while j < len(tokens) and tokens[j][0].lower() not in _PHRASE_ENDS and j - i <= _MAX_PHRASE:
                j += 1
            if low not in _PREPOSITIONS and i and tokens[i - 1][0].lower() in _AUXILIARIES and j == len(tokens) \
                    and j - i >= 3:
                j -= 1  # "What does the -X option print?": the subject, then its verb
            if j > i + 1:
                yield ("prep" if low in _PREPOSITIONS else "det"), i, j - 1
        if i and token[:1].isupper() and not tokens[i - 1][0][:1].isupper():
            j = i + 1
            while j < len(tokens) and tokens[j][0][:1].isupper():
                j += 1
            yield "name", i, j - 1


def _head(text: str) -> str:
    found = words(text)
    return stem(found[-1]) if found else ""
