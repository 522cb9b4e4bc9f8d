"""The text basics that grounding, the browser chat and the eval share: one stop-word list, one
stemmer, one way to take a text's words and content words, and one way to read a number (digits
with their scale, or a count written as a word). Sentences are split in rag/chunking.py, [n]
markers are read in rag/citations.py, amounts (with currencies and ranges) are found in
rag/arithmetic.py."""

from __future__ import annotations

import re
from decimal import Decimal

STOPWORDS = frozenset("""a about above after again against all also am an and any are as at be because been
before being below between both but by can could did do does doing down during each few for from further had
has have having he her here hers herself him himself his how i if in into is it its itself just me
more most my myself no nor not now of off on once only or other our ours ourselves out over own same she
should so some such than that the their theirs them themselves then there these they this those through to too
under until up very was we were what when where which while who whom why will with would you your yours
yourself yourselves said says say according like well much many one it's that's there's""".split())

_WORD = re.compile(r"[a-z][a-z'’-]*")
_LETTERS = re.compile(r"[a-z]+")


# the past forms of common irregular verbs, as their base form: an answer restating "did X become Y"
# as "X became Y" adds no word to it
_IRREGULAR = dict(pair.split(":") for pair in """became:become began:begin begun:begin broke:break broken:break
brought:bring built:build bought:buy came:come chose:choose chosen:choose did:do done:do drew:draw drawn:draw
drove:drive driven:drive ate:eat eaten:eat fell:fall fallen:fall felt:feel fought:fight found:find flew:fly
flown:fly forgot:forget forgotten:forget froze:freeze frozen:freeze gave:give given:give got:get gotten:get
went:go gone:go grew:grow grown:grow held:hold hid:hide hidden:hide kept:keep knew:know known:know led:lead
left:leave lent:lend lost:lose made:make meant:mean met:meet paid:pay ran:run rose:rise risen:rise saw:see
seen:see sold:sell sent:send shown:show sang:sing sung:sing sat:sit slept:sleep spoke:speak
spoken:speak spent:spend stood:stand stole:steal stolen:steal swam:swim took:take taken:take taught:teach
told:tell thought:think threw:throw thrown:throw understood:understand woke:wake wore:wear worn:wear won:win
wrote:write written:write""".split())


# a verb made of one of these and an irregular verb keeps the verb's past forms: overtook, withheld
_VERB_PREFIXES = ("over", "under", "mis", "out", "with", "fore", "up")


def _prefixed_irregular(word: str) -> str | None:
    """"overtook" -> "overtake", "misled" -> "mislead": an irregular past form after a prefix."""
    for prefix in _VERB_PREFIXES:
        if word.startswith(prefix) and word[len(prefix):] in _IRREGULAR:
            return prefix + _IRREGULAR[word[len(prefix):]]
    return None


def stem(word: str) -> str:
    """A light stemmer, enough to match "used"/"use", "planned"/"plans", "Microsoft's"/"Microsoft",
    and a common irregular verb's past forms with its base ("became"/"become", "wrote"/"write",
    "overtook"/"overtake").
    (Snowball's English stemmer was measured in its place and changed answers for the worse:
    docs/decisions.md.)"""
    word = _IRREGULAR.get(word) or _prefixed_irregular(word) or word
    for suffix in ("'s", "’s", "ies", "es", "s", "ing", "ed", "d"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word[-1] == word[-2]:
        word = word[:-1]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def words(text: str) -> list[str]:
    """The lower-case words of a text (letters, inner apostrophes and hyphens), in order."""
    return _WORD.findall(text.lower())


def letters(text: str) -> list[str]:
    """The runs of letters of a lower-cased text, in order: "isn't high-level" gives isn, t, high,
    level (what the opposite and denial checks compare word by word)."""
    return _LETTERS.findall(text.lower())


def content_words(text: str) -> set[str]:
    """The stems of a text's words that carry content: not stop words, three letters or more."""
    return {stem(w) for w in words(text) if w not in STOPWORDS and len(w) > 2}


# what starts a line of a message log: its time in brackets, its writer (up to three capitalised
# words), or both ("[2025-03-07 09:00] Sam: the hall is booked", "Kim Lee: Thanks!")
_MESSAGE_HEAD = re.compile(r"^\s*(?:\[[^\]\n]{1,40}\]\s*)?(?:[A-Z][^\W\d_]*(?:[ .'-][A-Z][^\W\d_]*){0,2}:\s)?")


def message_body(line: str) -> str:
    """A line without the time stamp and writer a message log puts before each message: what
    the message says. Any other line is returned as it is."""
    return _MESSAGE_HEAD.sub("", line, count=1)


MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
# a date written in digits: "2025-03-07", or day and month in either order, "07/03/2025", "3.7.25"
NUMERIC_DATE = re.compile(r"\b(?:\d{4}-(?P<month>\d{1,2})-\d{1,2}"
                          r"|(?P<first>\d{1,2})(?P<sep>[/.-])(?P<second>\d{1,2})(?P=sep)(?:\d{4}|\d{2}))\b")


def months_in(text: str) -> set[str]:
    """The names of the months of the dates a text writes in digits, so that "7 March" is found
    in a message stamped "2025-03-07"; "07/03/2025" gives March and July (day or month first)."""
    out = set()
    for m in NUMERIC_DATE.finditer(text):
        for part in filter(None, (m["month"], m["first"], m["second"])):
            if 1 <= int(part) <= 12:
                out.add(MONTHS[int(part) - 1])
    return out


def dates_in_words(text: str) -> str:
    """The text with its dates written in digits written with the month's name: "2025-08-08" and
    "08/08/2025" -> "8 August 2025"; a date is read day first unless its first number cannot be a
    month ("12/25/2025" -> "25 December 2025")."""
    def spelled(m: re.Match) -> str:
        parts = re.findall(r"\d+", m.group())
        if m["month"]:
            year, month, day = parts
        else:
            day, month, year = parts if int(parts[1]) <= 12 else (parts[1], parts[0], parts[2])
        if not 1 <= int(month) <= 12:
            return m.group()
        return f"{int(day)} {MONTHS[int(month) - 1].capitalize()} {year}"
    return NUMERIC_DATE.sub(spelled, text)


# a number written with digits: "1,200", "2.5", "65"
DIGITS = r"\d[\d,]*(?:\.\d+)?"

# the whole numbers written as words: zero to nineteen, and the tens
_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
          "sixteen seventeen eighteen nineteen").split()
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), start=2)}
# counts written as words ("ten million", "four events", "hundreds of billions"); not "one"
COUNT_WORDS = (*_UNITS[2:13], *_TENS, "dozens?", "hundreds?", "thousands?", "millions?", "billions?", "trillions?")
_SPELLED = re.compile(rf"\b(?:({'|'.join(_TENS)})(?:[- ]({'|'.join(_UNITS[1:10])}))?|({'|'.join(_UNITS)}))\b", re.I)


def with_digits(text: str) -> str:
    """The text with the whole numbers from zero to ninety-nine that it writes as words written in
    digits: "ten weeks" -> "10 weeks", "twenty-one" -> "21"."""
    def digits(m: re.Match) -> str:
        if m[3]:
            return str(_UNITS.index(m[3].lower()))
        return str(_TENS[m[1].lower()] + (_UNITS.index(m[2].lower()) if m[2] else 0))
    return _SPELLED.sub(digits, text)


# the power of ten each scale word or suffix stands for ("5 billion", "USD20bn", "$5m")
SCALE = {"thousand": 3, "k": 3, "million": 6, "m": 6, "mn": 6, "billion": 9, "bn": 9, "b": 9,
         "trillion": 12, "tn": 12, "tr": 12}


def scale_pattern(words=tuple(SCALE)) -> str:
    """A regex alternation of scale words, the longest first, so that "bn" is not read as "b"."""
    return "|".join(sorted(words, key=len, reverse=True))


def number(digits: str, scale: str = "") -> tuple[Decimal, int]:
    """A number as written, and the power of ten of its scale word: ("1,200", "") gives
    (1200, 0), ("65", "billion") gives (65, 9), ("2.5", "bn") gives (2.5, 9)."""
    return Decimal(digits.replace(",", "")), SCALE[scale.lower()] if scale else 0
