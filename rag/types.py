"""The data that flows: Document -> Chunk -> Hit -> Answer (with Citations)."""

from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass, field, fields


@dataclass(frozen=True)
class Document:
    source: str  # file path as given (absolute)
    text: str
    # (page number, start offset in text); empty when the format has no pages
    pages: tuple[tuple[int, int], ...] = ()
    title: str = ""  # from the document itself (loaders.title_of), "" when it has none
    # (start offset in text, "2025-03-07" or None): the date its metadata gives the text from there on
    # (a PDF's or .docx's creation date, an HTML page's publication date, each e-mail message's Date);
    # empty when it gives none
    dates: tuple[tuple[int, str | None], ...] = ()

    def page_at(self, offset: int) -> int | None:
        i = bisect.bisect_right([start for _, start in self.pages], offset)
        return self.pages[i - 1][0] if i else None

    def date_at(self, offset: int) -> str | None:
        i = bisect.bisect_right([start for start, _ in self.dates], offset)
        return self.dates[i - 1][1] if i else None


def page_label(source: str, page: int | None) -> str:
    """Where in its file a passage is, as its reader names it: "slide 3" in a slide deck, "page 3"
    elsewhere, "" when the format has no pages."""
    if page is None:
        return ""
    return f"{'slide' if source.lower().endswith('.pptx') else 'page'} {page}"


@dataclass(frozen=True)
class Chunk:
    id: str  # stable: "<source sha>:<start>-<end>"
    source: str
    text: str
    start: int  # character span in the source document's text
    end: int
    page: int | None = None
    date: str | None = None  # "2025-03-07": the date its document's metadata gives it (Document.date_at)

    @property
    def name(self) -> str:
        return self.source.replace("\\", "/").rsplit("/", 1)[-1]

    @property
    def position(self) -> str:
        """Where the passage is, for its reader: "page 2, chars 0-549" ("slide 2" in a deck), and
        the date its document's metadata gives it ("..., dated 2025-03-07")."""
        where = f"{page_label(self.source, self.page)}, " if self.page is not None else ""
        dated = f", dated {self.date}" if self.date else ""
        return f"{where}chars {self.start}-{self.end}{dated}"


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # of the retriever used (fused score for hybrid)
    rank: int  # 1-based; the [n] the model sees
    dense: float | None = None  # cosine similarity to the query, when known
    lexical: float | None = None  # BM25 score, when known

    def to_dict(self) -> dict:
        c = self.chunk
        return {"n": self.rank, "score": _number(self.score), "chunk_id": c.id, "source": c.source, "name": c.name,
                "page": c.page, "date": c.date, "start": c.start, "end": c.end, "text": c.text,
                "dense": _number(self.dense), "lexical": _number(self.lexical)}


@dataclass(frozen=True)
class Citation:
    n: int  # the marker number, as shown in the answer
    chunk_id: str
    source: str
    page: int | None
    start: int  # span of the cited passage in its source
    end: int
    text: str  # the passage text
    sentence: str = ""  # the answer sentence that carries the marker
    supported: bool | None = None  # set by citation verification, None = not checked
    date: str | None = None  # the date the cited passage's document metadata gives it (Chunk.date)

    @property
    def name(self) -> str:
        return self.source.replace("\\", "/").rsplit("/", 1)[-1]

    def to_dict(self) -> dict:
        return asdict(self) | {"name": self.name}


@dataclass(frozen=True)
class SentenceCheck:
    """One answer sentence after citation verification."""
    text: str  # the sentence without markers
    cited: tuple[int, ...]  # passage numbers (after re-attribution)
    supported: bool
    reattributed: bool = False
    missing: tuple[str, ...] = ()  # numbers or names found in no cited passage
    dropped: str = ""  # an unsupported ending cut from the model's sentence ("at age 59")
    computed: bool = False  # written by the program from the verified sentences (a ratio)


@dataclass(frozen=True)
class Timings:
    """Seconds each stage took (rag/stages.py), and from the question's arrival to the model's
    first token and in all."""
    plan_s: float = 0.0  # the question within limits, a follow-up rewritten, its parts
    retrieve_s: float = 0.0  # the searches, instructions left out, the relevance decision
    context_s: float = 0.0  # the compact context
    generate_s: float = 0.0  # the model reading the prompt and writing
    check_s: float = 0.0  # the final check of the answer, and a second look when there is one
    first_token_s: float | None = None
    total_s: float = 0.0
    prompt_tokens: int = 0
    cached_tokens: int = 0  # of the prompt, already in the model's cache (the prefix the last call left)
    completion_tokens: int = 0

    @property
    def read_s(self) -> float:
        """The stages before generation: plan, retrieve, build the context."""
        return self.plan_s + self.retrieve_s + self.context_s


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    passages: tuple[Hit, ...] = ()
    refused: bool = False
    timings: Timings = field(default_factory=Timings)
    query: str = ""  # the query used for retrieval (rewritten for follow-ups)
    raw_text: str = ""  # the model's output before marker clean-up
    sentences: tuple[SentenceCheck, ...] = ()  # verification of each sentence the model wrote
    retrieved: tuple[Hit, ...] = ()  # the whole chunks retrieved (passages may be parts of them)
    second_look: bool = False  # answered on a second try (the best passage alone; a date question asked as it is)
    # of a yes/no question: the weight the model gave "Yes" and "No" as its first word (None when
    # the model cannot tell, or the question is not yes/no)
    odds: dict | None = None
    notices: tuple[str, ...] = ()  # what the user should know about how the question was taken
    # why the answer is the refusal: "no-passages" and "no-relevant-passages" (nothing in the documents
    # is about it), "unknown-terms", "model-refused", "unsupported", "incomplete-comparison",
    # "yes-no-undecided" (no passage sentence decides a yes/no question), or the
    # name of the answer check that refused it (verify.ANSWER_CHECKS)
    refusal_reason: str = ""
    # the stage that decided the refusal: "retrieve" (nothing relevant found, no generation),
    # "generate" (the model wrote the refusal, or nothing) or "check" (verification withheld the draft)
    refusal_stage: str = ""

    @property
    def cited_passages(self) -> tuple[Hit, ...]:
        cited = {c.n for c in self.citations}
        return tuple(h for h in self.passages if h.rank in cited)

    def to_dict(self) -> dict:
        """The Answer as plain JSON-ready data: the one form the CLI (--json), the HTTP API and the
        eval give it. Passages and citations carry their file name; a passage's "n" is its [n]."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


def _plain(value):
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    return value


def _number(value):
    return None if value is None else float(value)


@dataclass(frozen=True)
class IndexedFile:
    source: str
    sha256: str
    chunks: int
    added: str  # ISO timestamp
    title: str = ""  # the document's own title, "" when it has none (or was indexed before titles)

    @property
    def name(self) -> str:
        return self.source.replace("\\", "/").rsplit("/", 1)[-1]
