"""Question sets: JSON lines, one question per line.

    {"question": "How much will Meta spend on capex in 2025?", "answers": ["$60 billion", "60 billion"],
     "sources": ["003_1e363a2095f710fa.txt"], "id": "meta-capex", "tags": ["numbers"]}
    {"question": "What is Apple's capex for 2025?", "answerable": false}
    {"question": "And Microsoft?", "history": [["How much will Meta spend on capex?", "Over $60 billion [1]."]]}

Fields: question (required); answers: acceptable answers; sources: file names, paths or chunk
ids that hold the answer; answerable (default true); history: [question, answer] pairs before
this one; id (default: q + line number); tags; split: "tune" (questions to tune on) or
"heldout" (kept for the final measurement). Unknown fields are errors, to catch typos."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

from ..errors import RagError

FIELDS = ("question", "answers", "sources", "answerable", "history", "id", "tags", "split")
SPLITS = ("tune", "heldout")


@dataclass(frozen=True)
class Case:
    question: str
    answers: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    answerable: bool = True
    history: tuple[tuple[str, str], ...] = ()
    id: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    split: str = ""  # "tune", "heldout", or "" (none given)

    def to_dict(self) -> dict:
        return {"id": self.id, "question": self.question, "answers": list(self.answers),
                "sources": list(self.sources), "answerable": self.answerable,
                "history": [list(h) for h in self.history], "tags": list(self.tags), "split": self.split}


class CaseError(RagError):
    pass


def _strings(value, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CaseError(f"'{name}' must be a list of non-empty strings, got {json.dumps(value)}")
    return tuple(value)


def _history(value) -> tuple[tuple[str, str], ...]:
    ok = isinstance(value, list) and all(
        isinstance(turn, (list, tuple)) and len(turn) == 2 and all(isinstance(t, str) for t in turn)
        for turn in value)
    if not ok:
        raise CaseError("'history' must be a list of [previous question, previous answer] pairs")
    return tuple((q, a) for q, a in value)


def _split(value) -> str:
    if value not in SPLITS:
        raise CaseError(f"'split' must be one of {', '.join(map(repr, SPLITS))}, got {json.dumps(value)}")
    return value


def parse_case(obj, default_id: str = "") -> Case:
    """A dict (one JSON line) to a Case, or CaseError saying what is wrong."""
    if isinstance(obj, Case):
        return obj if obj.id or not default_id else replace(obj, id=default_id)
    if not isinstance(obj, dict):
        raise CaseError(f"expected a JSON object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - set(FIELDS))
    if unknown:
        raise CaseError(f"unknown field {', '.join(map(repr, unknown))} (fields: {', '.join(FIELDS)})")
    question = obj.get("question")
    if not isinstance(question, str) or not question.strip():
        raise CaseError("'question' is missing or empty")
    answerable = obj.get("answerable", True)
    if not isinstance(answerable, bool):
        raise CaseError(f"'answerable' must be true or false, got {json.dumps(answerable)}")
    answers = _strings(obj.get("answers", []), "answers")
    if answers and not answerable:
        raise CaseError("'answers' given for a question marked \"answerable\": false")
    case_id = obj.get("id", default_id)
    if not isinstance(case_id, (str, int)) or isinstance(case_id, bool):
        raise CaseError(f"'id' must be a string, got {json.dumps(case_id)}")
    return Case(question=question.strip(), answers=answers, sources=_strings(obj.get("sources", []), "sources"),
                answerable=answerable, history=_history(obj.get("history", [])), id=str(case_id),
                tags=_strings(obj.get("tags", []), "tags"), split=_split(obj["split"]) if "split" in obj else "")


def check_ids(cases: list[Case]) -> list[Case]:
    seen: set[str] = set()
    for c in cases:
        if c.id in seen:
            raise CaseError(f"id '{c.id}' is used by more than one question")
        seen.add(c.id)
    return cases


def select_split(cases: list[Case], split: str | None) -> list[Case]:
    """The cases of one split (all of them for None); CaseError for an unknown split or none in it."""
    if split is None:
        return cases
    _split(split)
    picked = [c for c in cases if c.split == split]
    if not picked:
        raise CaseError(f"no question has \"split\": \"{split}\" ({len(cases)} questions in the set)")
    return picked


def select_tag(cases: list[Case], tag: str | None) -> list[Case]:
    """The cases with this tag (all of them for None); CaseError when none has it."""
    if tag is None:
        return cases
    picked = [c for c in cases if tag in c.tags]
    if not picked:
        known = sorted({t for c in cases for t in c.tags})
        raise CaseError(f"no question has the tag \"{tag}\" (tags in the set: {', '.join(known) or 'none'})")
    return picked


def load_cases(path: str | Path) -> list[Case]:
    """Read and check a question set; errors name the file and line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise CaseError(f"Question set not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise CaseError(f"Cannot read question set {path}: {e}") from None
    cases = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise CaseError(f"{path}:{number}: not valid JSON ({e.msg} at column {e.colno})") from None
        try:
            cases.append(parse_case(obj, default_id=f"q{number:03d}"))
        except CaseError as e:
            raise CaseError(f"{path}:{number}: {e}") from None
    if not cases:
        raise CaseError(f"{path} holds no questions (one JSON object per line, with a \"question\" field)")
    return check_ids(cases)


def as_cases(cases: Iterable | str | Path) -> list[Case]:
    """Cases from a path, or from Case objects / dicts (ids default to q001, q002, ...)."""
    if isinstance(cases, (str, Path)):
        return load_cases(cases)
    out = []
    for number, obj in enumerate(cases, start=1):
        try:
            out.append(parse_case(obj, default_id=f"q{number:03d}"))
        except CaseError as e:
            raise CaseError(f"question {number}: {e}") from None
    return check_ids(out)


def matches(chunk, source: str) -> bool:
    """A retrieved chunk belongs to a gold source: its chunk id, file path, file name or path tail."""
    path = chunk.source.replace("\\", "/")
    source = source.replace("\\", "/")
    return source in (chunk.id, path, chunk.name) or path.endswith("/" + source.lstrip("./"))
