"""The time between two events, and their order, worked out by the program, not the model: "How
long was it between A and B?", "How many days passed between A and B?", "How many years after
(before) A was B?", "Did A happen before B?", "Which came first, and in what year: A or B?".

A small model copies a date well and counts the days between two badly. For such a question the
model is asked for the date of each event with its citation, as it is asked for the two amounts
of a comparison (`rag.arithmetic`); once both sentences are verified, the time between the dates
they state is computed here and added as a sentence that cites both."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from .arithmetic import Comparison
from .citations import MARKER
from .text import MONTHS, content_words, with_digits

UNITS = ("days", "weeks", "months", "years")
KINDS = ("interval", "before", "after", "first")  # the Comparison kinds of this module: worked out from two dates

_PASSED = r"(?:(?:have|had|has)\s+)?(?:passed|elapsed|gone\s+by|went\s+by|were\s+there|was\s+it|is\s+it|are\s+there)"
# "How long was it between A and B?"  "How many days passed between A and B?"
_BETWEEN = re.compile(rf"^\W*how\s+(?:long|much\s+time|many\s+(?P<unit>{'|'.join(UNITS)}))(?:\s+{_PASSED})?"
                      r"\s+between\s+(?P<events>.+?)\W*$", re.I | re.S)
# "How many years after A was B?"  "How long before A did B start?"
_AFTER = re.compile(rf"^\W*how\s+(?:long|much\s+time|many\s+(?P<unit>{'|'.join(UNITS)}))\s+(?:after|before)\s+"
                    r"(?P<first>.+?)\s+(?:was|were|did|had|is|does)\s+(?P<second>.+?)\W*$", re.I | re.S)
# where "A and B" divides: best before a word an event's name opens with ("the", "her", "Nadia's")
_EVENT_START = re.compile(r"(?:the|a|an|his|her|their|its|our|my|[A-Z][\w'’.-]*['’]s?)\b")


def interval(question: str) -> Comparison | None:
    """The two events a question asks the time between, or None for another question. The events
    of "between A and B" divide at an "and" that does not join two capitalised words (which name
    one thing: "the French and Indian War", "van der Maaten and Hinton"), the first one before a
    word an event opens with ("the", "her", "Nadia's") if any: "the start of the French and
    Indian War and the revocation of the Edict" divides before "the revocation"."""
    question = question.strip()
    if m := _BETWEEN.match(question):
        events = m["events"]
        cuts = list(re.finditer(r"\s+and\s+", events))
        apart = [c for c in cuts if not (_capitalised_before(events, c.start()) and events[c.end():][:1].isupper())]
        opening = [c for c in apart if _EVENT_START.match(events, c.end())]
        cut = (opening or apart or cuts or [None])[0]
        if cut is None:
            return None
        first, second = events[:cut.start()].strip(" ,"), events[cut.end():].strip(" ,")
        if first and second:
            return Comparison("interval", first, second, unit=(m["unit"] or "").lower())
        return None
    if m := _AFTER.match(question):
        return Comparison("interval", m["first"].strip(" ,"), m["second"].strip(" ,"), unit=(m["unit"] or "").lower())
    return None


# "Did A happen before B?"  "Was A after B?"  "Did Nadia adopt Pickle before she moved?"
_ORDER = re.compile(r"^\W*(?:did|was|were|had|has|is|does)\s+(?P<first>.+?)\s+(?:(?:happen|come|take\s+place|occur)"
                    r"\s+)?(?P<kind>before|after)\s+(?P<second>.+?)\W*$", re.I | re.S)


def order(question: str) -> Comparison | None:
    """The two events a yes/no question asks the order of ("Did A happen before B?": kind
    "before"), or None for another question."""
    m = _ORDER.match(question.strip())
    if not m or " or " in m["second"]:  # "... before A or B?" offers a choice
        return None
    return Comparison(m["kind"].lower(), m["first"].strip(" ,"), m["second"].strip(" ,"))


# "Which came first, and in what year: A or B?"  "Which is older, A or B?"  "What happened earlier: A or B?"
_FIRST = re.compile(r"^\W*(?:which|what)\s+(?:[\w'’-]+\s+){0,3}?(?:first|older|earlier|sooner)\b"
                    r"(?P<rest>.*?)[\s?.!]*$", re.I | re.S)


def first_of(question: str) -> Comparison | None:
    """The two events a question asks which came first of (kind "first"), or None for another
    question. The events follow the last colon, or else the comma after "first", and divide at
    their "or" (", or" when there are several). Not for a version ("in which version"), which
    is no date."""
    m = _FIRST.match(question.strip())
    if not m or re.search(r"\bversions?\b", question, re.I):
        return None
    rest = m["rest"]
    if re.search(r":\s", rest):  # not the colon of a time, "9:00"
        events = re.split(r":\s", rest)[-1]
    elif rest.startswith(","):
        events = rest[1:]
    else:
        return None
    cuts = list(re.finditer(r",?\s+or\s+", events))
    if len(cuts) > 1:
        cuts = [c for c in cuts if c.group().startswith(",")]
    if len(cuts) != 1 or re.search(r",\s", events[:cuts[0].start()]) and not cuts[0].group().startswith(","):
        return None  # "A, B or C" offers three; the comma of "the ',' option" divides nothing
    first, second = events[:cuts[0].start()].strip(" ,"), events[cuts[0].end():].strip(" ,")
    return Comparison("first", first, second) if first and second else None


def _capitalised_before(text: str, end: int) -> bool:
    words = text[:end].split()
    return bool(words) and words[-1][:1].isupper()


@dataclass(frozen=True)
class When:
    year: int
    month: int | None  # None: only the year is known
    day: int | None
    written: str  # as the text writes it

    def date(self) -> datetime.date | None:
        return datetime.date(self.year, self.month, self.day) if self.month and self.day else None


# a month's name as dates write it, capitalised, whole or cut short ("May", "Sept.", "Oct"):
# "5 may be" is no date
_MONTH = r"(?P<month>" + "|".join(f"{m}|{m[:4]}|{m[:3]}" for m in map(str.capitalize, MONTHS)) + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>1\d{3}|20\d{2})"
_DATES = [  # the most precise first: where two match at one place, the first wins
    re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})\b"),
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR})?\b"),
    re.compile(rf"\b{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?\b(?!:)"),
    re.compile(rf"\b{_MONTH}\s+(?:of\s+)?{_YEAR}\b"),
    re.compile(rf"(?<![\w$€£.,]){_YEAR}(?![\w%,.]\d|\d|%)"),
]


# "2025-03-07_chat_with_Tom.txt", "20250307 notes.md", "2025_03_07.txt": a date a file is named by
_NAME_DATE = re.compile(rf"(?<!\d){_YEAR}(?P<sep>[-_.]?)(?P<month>0[1-9]|1[0-2])(?P=sep)"
                        r"(?P<day>0[1-9]|[12]\d|3[01])(?!\d)")


def name_date(name: str) -> str | None:
    """The date a file's name gives, as "2025-03-07", or None: a diary, a day's log or a meeting's
    notes is often dated by its name alone ("2025-03-07_chat_with_Tom.txt", "20250307 notes.md")."""
    m = _NAME_DATE.search(name)
    if not m or not _real(int(m["year"]), int(m["month"]), int(m["day"])):
        return None
    return f"{m['year']}-{m['month']}-{m['day']}"


# "When ...?", "On what date ...?", "Which year ...?", "How long ago ...?"
_ASKS_WHEN = re.compile(r"^\W*(?:and\s+)?when\b|\b(?:what|which)\s+(?:date|day|year|month)\b"
                        r"|\bhow\s+long\s+(?:ago|since)\b|\bsince\s+when\b", re.I)


def asks_when(question: str, compared: Comparison | None = None) -> bool:
    """Does the question ask when, or the time between or order of two events?"""
    return bool(_ASKS_WHEN.search(question)) or bool(compared and compared.kind in KINDS)


def header_dates(chunk, when: bool = True) -> list[str]:
    """The dates a passage's header gives the model: its file name's (`name_date`) and, for a
    question that asks when (`when`), its document's metadata's (`Chunk.date`), each once."""
    dates = [name_date(chunk.name), chunk.date if when else None]
    return [d for n, d in enumerate(dates) if d and d not in dates[:n]]


def _month(text: str) -> int:
    if text.isdigit():
        return int(text)
    return next(n for n, name in enumerate(MONTHS, start=1) if name.startswith(text.lower().rstrip(".")[:3]))


def dates_in(text: str, year: int | None = None) -> list[When]:
    """The dates a text states, in order: "2025-03-07", "7 March 2025", "March 7, 2025",
    "October 1973", "1636". A day and month without a year take `year` (the year of the passage
    they come from), and are left out without one. A bare number is a year only from 1000 to
    2099 and not as an amount ("$2025", "1,500")."""
    return [w for w, _ in dated_phrases(text, year)]


def dated_phrases(text: str, year: int | None = None) -> list[tuple[When, str]]:
    """dates_in(), each with the words that go with it: the text from the date before it (or the
    start) to its end ("Sam moved to Leeds on 2025-03-07")."""
    text = MARKER.sub("", text)
    found: list[tuple[int, int, When]] = []
    for pattern in _DATES:
        for m in pattern.finditer(text):
            if any(s < m.end() and m.start() < e for s, e, _ in found):
                continue
            groups = m.groupdict()
            y = int(groups["year"]) if groups.get("year") else year
            if y is None:
                continue
            month = _month(groups["month"]) if groups.get("month") else None
            day = int(groups["day"]) if groups.get("day") else None
            if month is not None and not 1 <= month <= 12 or day is not None and not _real(y, month, day):
                continue
            found.append((m.start(), m.end(), When(y, month, day, m.group().strip())))
    found.sort(key=lambda f: f[0])
    return [(w, text[(found[i - 1][1] if i else 0):end]) for i, (_, end, w) in enumerate(found)]


def of_events(dated: list[tuple[When, str]], first: str, second: str) -> tuple[int, int]:
    """Which of the dates (with their words) is the first event's and which the second's: each goes
    to the event whose words it shares more of ("Sam moved to Leeds on 2025-03-07" to "Sam's move
    to Leeds"); where the words do not tell, the dates are taken in the order asked. Indexes into
    `dated`, which holds two dates or more."""
    events = content_words(first), content_words(second)
    leans = [len(content_words(words) & events[0]) - len(content_words(words) & events[1]) for _, words in dated]
    a = next((i for i, lean in enumerate(leans) if lean > 0), None)
    b = next((i for i, lean in enumerate(leans) if lean < 0), None)
    if a is None and b is None:
        return 0, 1
    if a is None:
        a = next(i for i in range(len(dated)) if i != b)
    if b is None:
        b = next(i for i in range(len(dated)) if i != a)
    return a, b


def _real(year: int, month: int, day: int) -> bool:
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


def passage_year(text: str) -> int | None:
    """The year a passage's dates without one belong to: the first full date or year it states
    (a chat line's stamp "[2025-03-07 10:35]"), None when it states none."""
    found = dates_in(text)
    return found[0].year if found else None


def between(a: When, b: When, unit: str = "") -> str | None:
    """The time from the earlier to the later date, in the unit asked ("days", "weeks", "months",
    "years"; "" picks one): "25 days", "3 weeks and 4 days", "2 months", "163 years", "254 days,
    about 8 months". Dates known only to the month or year give months or years. None for no time
    between them, or for days or weeks asked of dates without a day."""
    a, b = sorted((a, b), key=lambda w: (w.year, w.month or 0, w.day or 0))
    da, db = a.date(), b.date()
    if not (da and db):
        if unit in ("days", "weeks"):
            return None
        months = (b.year - a.year) * 12 + b.month - a.month if a.month and b.month else None
        if months is not None and (months < 12 or months < 24 and unit != "years"):
            return _count(months, "month") if months else None
        return _count(b.year - a.year, "year") if b.year > a.year else None
    days = (db - da).days
    months = (db.year - da.year) * 12 + db.month - da.month - (db.day < da.day)
    if days <= 0:
        return None
    if unit == "weeks":
        weeks, rest = divmod(days, 7)
        return _count(weeks, "week") + (f" and {_count(rest, 'day')}" if rest else "")
    if unit == "months" and months:
        return _count(months, "month")
    if unit == "years" and months >= 12:
        return _count(months // 12, "year")
    if days < 60 or unit:
        return _count(days, "day")
    about = _count(round(days / 30.44), "month") if days < 730 else _count(round(days / 365.25), "year")
    return f"{_count(days, 'day')}, about {about}"


_SPAN = re.compile(r"\b(\d+)\s+(day|week|month|year)s?\b", re.I)


def stated_spans(answer: str, passages: str) -> bool:
    """Does the answer give a time span ("four days", "14 weeks"), and do the passages state each
    one it gives? A span the program did not count must be one the documents state: the model's
    own count of the days between two dates is not trusted."""
    def spans(text: str) -> set[tuple[int, str]]:
        return {(int(n), unit.lower()) for n, unit in _SPAN.findall(with_digits(MARKER.sub("", text)))}
    given = spans(answer)
    return bool(given) and given <= spans(passages)


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}" + ("" if n == 1 else "s")


def _at(w: When, precision: int) -> tuple[int, ...]:
    return (w.year, w.month or 0, w.day or 0)[:precision]


def _earlier(first: When, second: When) -> bool | None:
    """Is the first date before the second, to the precision both give? None when they are the same."""
    precision = min(3 if w.day else 2 if w.month else 1 for w in (first, second))
    a, b = _at(first, precision), _at(second, precision)
    return None if a == b else a < b


def order_sentence(first: When, second: When, kind: str) -> str | None:
    """The answer to "Did A happen before (after) B?" from A's and B's dates: "Yes: 1598 is before
    1754 (computed)."; None when the dates, to the precision both give, are the same."""
    earlier = _earlier(first, second)
    if earlier is None:
        return None
    said = "Yes" if earlier == (kind == "before") else "No"
    return f"{said}: {first.written} is {'before' if earlier else 'after'} {second.written} (computed)."


def first_sentence(first: When, second: When, events: tuple[str, str]) -> str | None:
    """The answer to "Which came first: A or B?" from A's and B's dates: "The revocation came
    first: 1685 is before 1754 (computed)."; None when the dates, to the precision both give,
    are the same."""
    earlier = _earlier(first, second)
    if earlier is None:
        return None
    (early, event), late = ((first, events[0]), second) if earlier else ((second, events[1]), first)
    return f"{event[:1].upper()}{event[1:]} came first: {early.written} is before {late.written} (computed)."


def computed_sentence(first: When, second: When, unit: str = "") -> str | None:
    """"From 7 March 2025 to 1 April 2025 is 25 days (computed)."; None when the two dates give
    no time between them in the unit asked."""
    span = between(first, second, unit)
    if span is None:
        return None
    early, late = sorted((first, second), key=lambda w: (w.year, w.month or 0, w.day or 0))
    return f"From {early.written} to {late.written} is {span} (computed)."
