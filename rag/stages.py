"""The stages of one answer. Each is a small function of the typed Turn; Bot (rag/pipeline.py)
wires them together and owns the models, the store and the lock.

    question, history
      │ plan            within limits, follow-up made standalone, the parts to search
      ▼
    Turn(query, standalone, compared, parts)
      │ retrieve        a ranking per part, instructions left out, the relevance decision
      ▼
    Turn(+ rankings, hits, documents, refusal_reason)  ── refusal_reason ──▶ the refusal
      │ build_context   the compact context: the sentences that matter, within a budget
      ▼
    Turn(+ passages)
      │ generate        the model streams its draft
      ▼
    str pieces, then Draft(text, first token, tokens)
      │ check           citations verified, answer checks, a comparison, interval or order worked out
      ▼
    Answer  ── an interval or order without two dates ──▶ as_asked, asked_plainly ──▶ Answer
            ── withheld, copies the worked example ──▶ second_look ──▶ Answer
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

from . import arithmetic, citations, conjunction, followup, injection, intervals, verify, years, yesno
from . import context as compact
from .arithmetic import Comparison
from .config import Settings
from .followup import History
from .prompts import answer_messages, example_answers, template
from .types import Answer, Hit, SentenceCheck, Timings


@dataclass(frozen=True)
class Turn:
    """One question as it flows through the stages. plan sets the question, query and parts;
    retrieve the rankings, hits, documents and refusal_reason; build_context the passages."""
    question: str
    history: tuple = ()
    query: str = ""  # what is searched (a follow-up made standalone)
    standalone: str | None = None  # the rewritten follow-up, None when the model reads the chat itself
    compared: Comparison | None = None  # "how many times / which is larger / how long between / before B?"
    parts: tuple[str, ...] = ()  # the queries searched: the query, or one per side or part
    rankings: tuple[tuple[Hit, ...], ...] = ()  # one per part, instructions to the assistant left out
    hits: tuple[Hit, ...] = ()  # the chunks retrieved, taken in turn from the rankings, numbered
    passages: tuple[Hit, ...] = ()  # what the model reads (parts of the hits in the compact context)
    documents: dict = field(default_factory=dict)  # source -> the indexed text of each retrieved document
    refusal_reason: str = ""  # set by retrieve when nothing relevant was found: no generation follows
    notices: tuple[str, ...] = ()
    odds: dict | None = None  # of a yes/no question: the model's probabilities of "Yes" and "No" as its first word
    start: float = 0.0  # time.perf_counter() at the question's arrival
    timings: Timings = field(default_factory=Timings)  # plan_s, retrieve_s, context_s

    @property
    def several_parts(self) -> bool:
        """A comparison or a "both A and B" question: a passage is needed for each part."""
        return len(self.parts) > 1

    @property
    def read_s(self) -> float:
        return self.timings.read_s


@dataclass(frozen=True)
class Draft:
    """What the model wrote, and how long it took."""
    text: str
    first_token: float | None  # time.perf_counter() of the first piece, None when there was none
    generate_s: float
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0


def refusal(settings: Settings) -> str:
    """The one fixed refusal sentence."""
    return template(settings.prompts_dir, "refusal")


# ---------- plan ----------

def comparison_of(query: str) -> Comparison | None:
    """The two amounts a question compares (`arithmetic.comparison`), or the two events it asks
    the time between (`intervals.interval`), the order of (`intervals.order`) or which came first
    of (`intervals.first_of`), or None."""
    return (arithmetic.comparison(query) or intervals.interval(query) or intervals.order(query)
            or intervals.first_of(query))


def plan(question: str, history: History, settings: Settings,
         rewrite: Callable[[str, History], str | None]) -> Turn:
    """The question and history within limits, the retrieval query (a follow-up made standalone
    by `rewrite`, which is called only when one leans on the conversation) and the parts to
    search: the two sides of a comparison or the two events of an interval or order, the two
    halves of a "both A and B" question, or the query alone."""
    question, history, notices = within_limits(question, history, settings.max_question_chars)
    query, standalone = follow_up(question, history, settings, rewrite)
    compared = comparison_of(query) if settings.verify else None
    # "A is how many times B?" and "named both as A and as B" retrieve for A and for B: one query may miss one
    parts = (compared.first, compared.second) if compared else conjunction.parts(query) or (query,)
    return Turn(question=question, history=tuple(history), query=query, standalone=standalone,
                compared=compared, parts=parts, notices=notices)


def within_limits(question: str, history: History, limit: int) -> tuple[str, History, tuple[str, ...]]:
    """The question and each turn of the history cut to `limit` characters, so that a prompt fits
    the model's context; what was cut is said in a notice."""
    notices = []
    if len(question) > limit:
        question = question[:limit].rstrip()
        notices.append(f"The question was cut to its first {limit} characters.")
    cut = [(q[:limit], a[:limit]) for q, a in history]
    if any(len(q) > limit or len(a) > limit for q, a in history):
        notices.append(f"Earlier messages were cut to {limit} characters each.")
    return question, cut, tuple(notices)


def follow_up(question: str, history: History, settings: Settings,
              rewrite: Callable[[str, History], str | None]) -> tuple[str, str | None]:
    """The retrieval query, and the standalone question (None when there is none): a follow-up
    that leans on the conversation is rewritten (an elliptical one, "And the garage?", as the last
    question asked of its phrase, without the model); when the rewrite is not usable, the query is
    the last exchange followed by the follow-up."""
    if not history or not settings.rewrite:
        return question, None
    if not followup.needs_context(question):
        return question, question
    standalone = followup.elliptical(question, [q for q, _ in history]) or rewrite(question, history)
    return standalone or followup.combined(question, history, refusal(settings)), standalone


def standalone(question: str, history: History, settings: Settings, rewriter) -> str | None:
    """The model's standalone rewrite of a follow-up (one short call), None when not acceptable."""
    lines = [f"User: {q}\nAssistant: {a}" for q, a in history[-followup.HISTORY_TURNS:]]
    prompt = template(settings.prompts_dir, "rewrite").format(history="\n".join(lines), question=question)
    out = "".join(rewriter.stream([{"role": "user", "content": prompt}], 64, 0.0))
    out = out.strip().splitlines()[0].strip().strip('"') if out.strip() else ""
    return out if followup.acceptable(out, question, history) else None


# ---------- retrieve ----------

MISSING_PASSAGES = 2  # passages added for each asked term the retrieved documents never mention


def retrieve(turn: Turn, settings: Settings, *, search: Callable[[str], list[Hit]],
             source_text: Callable[[str], str], naming: Callable[[list[str], str], list[list[Hit]]]) -> Turn:
    """A ranking for each part (`search`), with the sentences that give orders to an assistant
    left out (and a notice of how many), the hits taken in turn from the rankings, their
    documents (`source_text`), and whether anything relevant was found. A name or number the
    user wrote that the retrieved documents never mention is searched for (`naming`: the
    passages that name each term, closest first) before it refuses."""
    rankings = [search(q) for q in turn.parts]
    notices = turn.notices
    if settings.verify:
        rankings, cut = zip(*(injection.without_instructions(r) for r in rankings))
        if sum(cut):
            notices += (f"{sum(cut)} sentence(s) of your documents that give orders to an assistant "
                        f"were left out of what the model read.",)
    found = _found(dataclasses.replace(turn, notices=notices), rankings, source_text)
    reason = relevance(found, settings)
    if settings.verify and not reason and (missing := missing_terms(found)):
        found = _found(found, with_passages_naming(found, missing, naming), source_text)
        if missing := missing_terms(found):
            reason = "unknown-terms"
            found = dataclasses.replace(found, notices=found.notices + (never_mentioned(missing, turn.question),))
    return dataclasses.replace(found, refusal_reason=reason)


def never_mentioned(terms: list[str], question: str) -> str:
    """The notice of a question refused for terms no document mentions, as the user wrote them."""
    written = [as_written(t, question) or t for t in terms]
    return "Your documents never mention " + ", ".join(f"\u201c{w}\u201d" for w in written) + "."


def _found(turn: Turn, rankings, source_text: Callable[[str], str]) -> Turn:
    hits = in_turn(rankings)
    return dataclasses.replace(turn, rankings=tuple(map(tuple, rankings)), hits=tuple(hits),
                               documents={h.chunk.source: source_text(h.chunk.source) for h in hits})


def relevance(turn: Turn, settings: Settings) -> str:
    """Why nothing relevant was found, or "": no passages, or none with a cosine of min_score."""
    best = max((h.dense for h in turn.hits if h.dense is not None), default=None)
    if not turn.hits:
        return "no-passages"
    if best is not None and best < settings.min_score:
        return "no-relevant-passages"
    return ""


def missing_terms(turn: Turn) -> list[str]:
    """The names and numbers the user wrote that no retrieved document mentions."""
    return asked_terms(verify.unknown_terms(turn.query, "\n".join(turn.documents.values())), turn.question)


def with_passages_naming(turn: Turn, terms: list[str], naming) -> list[list[Hit]]:
    """The rankings, each followed by the passages closest to the query among those that name
    an asked term the retrieved documents never mention (the rankings of the parts that name it,
    or the first). A question joining two documents often retrieves only one of them; a term the
    index never holds stays missing."""
    rankings = [list(r) for r in turn.rankings]
    for term, named in zip(terms, naming(terms, turn.query)):
        for n in [n for n, q in enumerate(turn.parts) if term in q.lower()] or [0]:
            rankings[n] += injection.without_instructions(named[:MISSING_PASSAGES])[0]
    return rankings


def asked_terms(terms: list[str], question: str) -> list[str]:
    """The terms the user wrote. A follow-up made standalone names what the conversation named, in
    its spelling ("Jamal Reid" for "he"), which the documents that answer may write otherwise."""
    return [t for t in terms if as_written(t, question)]


def as_written(term: str, question: str) -> str | None:
    """A (lower-cased) term as the question writes it, or None when it does not."""
    m = re.search(rf"(?<!\w){re.escape(term)}(?!\w)", question, re.I)
    return m.group() if m else None


def in_turn(rankings) -> list[Hit]:
    """Hits from several rankings taken in turn (first of each, then second...), without
    repeating a passage or one whose text an earlier passage holds, numbered again from 1."""
    out: list[Hit] = []
    for hit in itertools.chain.from_iterable(itertools.zip_longest(*rankings)):
        if hit is not None and not any(_within(hit.chunk, h.chunk) for h in out):
            out.append(hit)
    return [dataclasses.replace(h, rank=n) for n, h in enumerate(out, start=1)]


def _within(inner, outer) -> bool:
    return inner.id == outer.id or (inner.source == outer.source and outer.start <= inner.start
                                    and inner.end <= outer.end)


# ---------- build the context ----------

def build_context(turn: Turn, settings: Settings, embedder, sentences) -> Turn:
    """The passages the model reads: with `compact`, the sentences of each part's ranking that
    matter for that part, within an equal share of context_tokens (`sentences` embeds them,
    a CachedEmbedder); otherwise, or for a question that asks for a number of items
    (`context.wants_items`), the hits. Nothing is built for a turn already refused."""
    if not settings.compact or turn.refusal_reason or compact.wants_items(turn.query):
        return dataclasses.replace(turn, passages=turn.hits)
    # a side of a comparison ("Microsoft's capex in Q1") says nothing of the amount it wants;
    # a "how much" question does, and a bonus there only brought in other amounts (SQuAD)
    budget = settings.context_tokens // len(turn.parts)
    passages = in_turn([compact.select(q, embedder.embed_query(q), list(ranking), sentences, budget,
                                       wants_amount=bool(turn.compared) and turn.compared.kind not in intervals.KINDS)
                        for q, ranking in zip(turn.parts, turn.rankings)])
    return dataclasses.replace(turn, passages=tuple(passages))


# ---------- generate ----------

def asked(turn: Turn, settings: Settings) -> tuple[str, tuple]:
    """What the model is asked, and the conversation it reads: without a standalone question the
    model reads the conversation and the follow-up itself; for a comparison it is asked for the
    two amounts (check works out the comparison)."""
    in_chat = bool(turn.history) and turn.standalone is None
    if turn.compared:
        name = {"interval": "interval", "before": "order", "after": "order", "first": "first"}.get(
            turn.compared.kind, "compare")
        question = template(settings.prompts_dir, name).format(first=turn.compared.first,
                                                               second=turn.compared.second)
    else:
        question = turn.question if in_chat else turn.query
    return question, turn.history if in_chat else ()


def prompt(turn: Turn, settings: Settings) -> list[dict]:
    """The messages the model reads for the turn: its passages, and what it is asked."""
    question, history = asked(turn, settings)
    return answer_messages(settings.prompts_dir, question, list(turn.passages), history,
                           when=intervals.asks_when(turn.query, turn.compared))


def lean(turn: Turn, settings: Settings, generator) -> Turn:
    """A yes/no question's odds: how much weight the model gives "Yes" and "No" as its first word
    over the turn's prompt (yesno.leaning). The prompt it reads is cached for `generate`, so this
    costs about one token; a generator that cannot tell leaves them unset."""
    odds_of = getattr(generator, "first_word_odds", None)
    if not (settings.verify and odds_of and verify.is_yes_no(turn.query) and not turn.compared):
        return turn
    return dataclasses.replace(turn, odds=odds_of(prompt(turn, settings), ("Yes", "No")))


def generate(turn: Turn, settings: Settings, generator) -> Iterator[str | Draft]:
    """The model's pieces as it writes them, over the turn's passages, then the whole Draft."""
    messages = prompt(turn, settings)
    parts, first = [], None
    start = time.perf_counter()
    for piece in generator.stream(messages, settings.max_tokens, settings.temperature):
        if first is None:
            first = time.perf_counter()
        parts.append(piece)
        yield piece
    yield Draft(text="".join(parts), first_token=first, generate_s=time.perf_counter() - start,
                prompt_tokens=getattr(generator, "last_usage", (0, 0))[0], completion_tokens=len(parts),
                cached_tokens=getattr(generator, "last_cached", 0))


# ---------- check ----------

def evidence(passages, when: bool = False) -> dict[int, str]:
    """What the model read of each passage, by its number: the text, and the dates its header
    gives (`intervals.header_dates`: its file name's; its metadata's for a question that asks
    when), which may be all that dates the text ("Moved to Leeds today." in "2025-03-07 diary.txt")."""
    out = {}
    for h in passages:
        # after the text, so that its own dates come first (`intervals.passage_year`) and no amount
        # of it reads as the header's date (`years`)
        dates = [d for d in intervals.header_dates(h.chunk, when) if d not in h.chunk.text]
        out[h.rank] = "\n".join([h.chunk.text] + [f"({d})" for d in dates])
    return out


def check(turn: Turn, raw: str, settings: Settings) -> Answer:
    """A draft made the Answer, or the refusal: markers cleaned, a yes/no question decided on a
    passage sentence, each sentence verified against the passages it cites, a comparison worked
    out, and the answer checks (verify.failed_check). The refusal says why (refusal_reason) and
    whether the model ("generate") or the check ("check") decided it."""
    s, passages = settings, list(turn.passages)
    read = evidence(turn.passages, intervals.asks_when(turn.query, turn.compared))
    common = dict(question=turn.question, passages=turn.passages, retrieved=turn.hits, query=turn.query,
                  raw_text=raw, notices=turn.notices, odds=turn.odds)
    refused = dict(text=refusal(s), refused=True, refusal_stage="check")
    if citations.is_refusal(raw, refusal(s)) or not raw.strip():
        return Answer(**(refused | {"refusal_stage": "generate"}), refusal_reason="model-refused", **common)
    text = citations.clean_markers(citations.numbered(raw, passages), len(passages))
    query = turn.query
    if s.verify and verify.is_yes_no(query) and not turn.compared and (said := yesno.draft_says(query, text)):
        said = yesno.leaning(turn.odds) or said
        decision = yesno.decide(query, said, read, s.min_overlap)
        if decision is None:
            return Answer(**refused, refusal_reason="yes-no-undecided", **common)
        sentence = SentenceCheck(decision.text, (decision.passage,), True)
        text = verify.render([sentence])
        return Answer(text=text, citations=citations.extract(text, passages), sentences=(sentence,), **common)
    checks: list = []
    supported: set[int] = set()
    if s.verify:
        compared = turn.compared
        # each side of a comparison may be of its own year: only a year both name is checked
        both_years = years.years(compared.first) & years.years(compared.second) if compared else None
        # a date only a file's name gives is what that file's own words are dated by: it is not
        # joined to an event another passage tells of ("first day at the lab on 2025-03-07 [1][2]")
        checks = verify.check(text, read, s.min_overlap, query,
                              {h.rank: turn.documents.get(h.chunk.source, "") for h in passages}, both_years,
                              joined={h.rank: h.chunk.text for h in passages})
        if compared and compared.kind in intervals.KINDS:
            checks = with_dates(checks, compared, read)
        elif compared:
            checks = with_comparison(checks, compared.kind)
        supported = {n for c in checks if c.supported for n in c.cited}
        cited_documents = "\n".join(turn.documents.get(source, "") for source in
                                    {h.chunk.source for h in passages if h.rank in supported})
        cited_passages = "\n".join(read[n] for n in sorted(supported))
        reason = ("unsupported" if not supported
                  else verify.failed_check(query, verify.render(checks), cited_documents, cited_passages)
                  or ("incomplete-comparison" if compared and not any(c.computed for c in checks)
                      else ""))  # one amount compares nothing
        if reason:
            return Answer(**refused, sentences=tuple(checks), refusal_reason=reason, **common)
        text = verify.render(checks, keep_unsupported=s.keep_unsupported)
    cites = tuple(dataclasses.replace(c, supported=c.n in supported) if s.verify else c
                  for c in citations.extract(text, passages))
    return Answer(text=text, citations=cites, sentences=tuple(checks), **common)


def with_comparison(checks: list, kind: str) -> list:
    """The verified sentences, then the comparison (a ratio, or which is larger) of the amounts
    the first two of them state."""
    stating = [c for c in checks if c.supported and arithmetic.amounts(c.text)]
    if len(stating) < 2:
        return checks
    first, second = stating[:2]
    sentence = arithmetic.computed_sentence(kind, first.text, second.text)
    if sentence is None:
        return checks
    cited = tuple(dict.fromkeys(first.cited + second.cited))
    return [*checks, SentenceCheck(sentence, cited, True, computed=True)]


def with_dates(checks: list, compared: Comparison, passages: dict[int, str]) -> list:
    """The verified sentences with what the dates they state answer: the time between the two
    events' dates after the sentences, or, for "Did A happen before B?", the Yes or No before
    them (its first word answers the question), or for "Which came first: A or B?" the event that
    came first, before them. A date without a year takes the year of the
    passage it cites; each date goes to the event whose words it shares (`intervals.of_events`)."""
    dated, cites = [], []  # (date, its words), the citations of its sentence
    for c in checks:
        if c.supported and c.cited:
            found = intervals.dated_phrases(c.text, intervals.passage_year(passages[c.cited[0]]))
            dated += found
            cites += [c.cited] * len(found)
    if len(dated) < 2:
        return checks
    a, b = intervals.of_events(dated, compared.first, compared.second)
    first, second = dated[a][0], dated[b][0]
    cited = tuple(dict.fromkeys(cites[a] + cites[b]))
    if compared.kind == "interval":
        sentence = intervals.computed_sentence(first, second, compared.unit)
        return checks if sentence is None else [*checks, SentenceCheck(sentence, cited, True, computed=True)]
    if compared.kind == "first":
        sentence = intervals.first_sentence(first, second, (compared.first, compared.second))
    else:
        sentence = intervals.order_sentence(first, second, compared.kind)
    return checks if sentence is None else [SentenceCheck(sentence, cited, True, computed=True), *checks]


def dates_unworked(turn: Turn, answer: Answer) -> bool:
    """An interval or order question whose draft gave no two verified dates: the documents may
    state the time itself ("four days after the banquet") or the order in words ("after its
    merger") rather than two dates."""
    return (turn.compared is not None and turn.compared.kind in intervals.KINDS and answer.refused
            and answer.refusal_stage == "check")


def as_asked(turn: Turn) -> Turn:
    """The turn planned as a question that nothing is worked out for: one search for the query."""
    return dataclasses.replace(turn, compared=None, parts=(turn.query,), rankings=(), hits=(), passages=(),
                               documents={}, refusal_reason="")


def asked_plainly(turn: Turn, first: Answer, settings: Settings, generator, interval: bool) -> Answer:
    """A turn read `as_asked`, answered and checked (a yes/no question as any other, with the
    model's odds); for an interval the answer must give a time span its passages state
    (`intervals.stated_spans`). The first answer's refusal stands when this one is refused too,
    or when the search found nothing relevant."""
    if turn.refusal_reason:
        return first
    turn = lean(turn, settings, generator)
    *_, draft = generate(turn, settings, generator)
    answer = check(turn, draft.text, settings)
    stated = not interval or intervals.stated_spans(answer.text, "\n".join(h.chunk.text for h in turn.passages))
    return first if answer.refused or not stated else dataclasses.replace(answer, second_look=True)


# ---------- second look ----------

def second_look_wanted(turn: Turn, answer: Answer, settings: Settings) -> bool:
    """Reading several passages, a small model sometimes copies the prompt's worked example, or
    says the question back without its answer; when verification withheld such a draft, the
    model gets one more try on the best passage alone. Not when the question needs a passage for
    each of its parts, nor for a yes/no question (its answer says the question back by nature)."""
    s, passages, draft = settings, turn.passages, answer.raw_text
    copied = verify.copies_example(draft, example_answers(s.prompts_dir),
                                   "\n".join(h.chunk.text for h in passages), answer.query)
    said_back = verify.restates(draft, answer.query) and not verify.is_yes_no(answer.query)
    return (s.verify and s.second_look and answer.refused and bool(draft.strip())
            and len(passages) > 1 and not turn.several_parts and (copied or said_back))


def second_look(turn: Turn, first: Answer, settings: Settings, generator) -> Answer:
    """The model asked again with the best passage alone (the first of the context), and that
    draft checked; the first answer's refusal stands when this one is refused too."""
    best = dataclasses.replace(turn, passages=turn.passages[:1], compared=None, odds=None)
    *_, draft = generate(best, settings, generator)
    answer = check(best, draft.text, settings)
    return first if answer.refused else dataclasses.replace(answer, second_look=True)
