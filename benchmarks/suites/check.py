"""Check the development suites: fields, tags, split, gold answers in their sources.

    python benchmarks/suites/check.py [NAME ...]      (default: chat manual encyclopedia papers email)

Plain Python 3.11 standard library; builds each corpus into a temporary folder with build.py.
For every question it checks:
- the fields: exactly id, question, answers, sources, answerable, history, tags, split (the
  fields of rag/eval/cases.py plus split), with the right types; ids and questions unique
  (questions compared lower-cased without punctuation);
- tags from the vocabulary, the first tag being the primary one; "unanswerable" if and only if
  answerable is false; unanswerable questions have no answers and no sources, answerable ones
  have both;
- yes-no: the first gold answer is "Yes" or "No"; follow-up: a history; two-docs: two or more
  sources;
- every source is a file of the built corpus; chat files are named DATE_chat_with_NAME.txt and
  hold one message a line, "[YYYY-MM-DD HH:MM] Name: text", in time order; every email .eml file
  parses with the standard library's email package, has From, Date (readable, its day and time
  those of the file name DATE_HHMM_slug.eml), Subject and Message-ID, and the .mbox files parse
  with mailbox.mbox, each message with From, Date and Subject;
- gold in source, for answerable questions that are not yes-no: some gold answer occurs in the
  text of its sources (case-insensitive, whitespace collapsed); for a list question it is also
  enough that every item of a gold answer ("a, b and c") occurs;
- unanswerable questions: benchmarks/suites/NAME/absent_terms.json gives, for each, the key terms
  that would answer it, and none of them may occur anywhere in the corpus (case-insensitive,
  as whole words);
- the split: "tune" or "heldout"; within every primary tag the halves differ by at most one
  and, for tags with two or more questions, both halves have some.
The question sets of QUESTION_SETS, if the suite has them (check_question_set): "how long between
two events", "did A happen before/after B" and single-fact questions, checked for fields, tags,
sources in the corpus, the near misses' absent key terms (how_long_absent.json,
order_absent.json) and split balance; a fact's gold is looked for in its sources (the others'
golds are computed).
And per suite the counts the brief asks for (30+ single-fact, 10+ yes-no with Yes and No
about even, 8+ when/which-first, 8+ two-docs, 6+ lists, 5+ follow-ups, 12+ unanswerable, 80+
in all). It prints counts per tag and split, and every problem; the exit status is 1 if any."""

from __future__ import annotations

import json
import re
import string
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build  # noqa: E402

HERE = Path(__file__).resolve().parent
SUITES = ("chat", "manual", "encyclopedia", "papers", "email")
FIELDS = ("id", "question", "answers", "sources", "answerable", "history", "tags", "split")
TAGS = ("single-fact", "yes-no", "when", "which-first", "two-docs", "list", "number", "follow-up",
        "unanswerable", "how-long", "before-after")
MINIMUM = {"all": 80, "single-fact": 30, "yes-no": 10, "when/which-first": 8, "two-docs": 8,
           "list": 6, "follow-up": 5, "unanswerable": 12}


def squash(text: str) -> str:
    return " ".join(text.lower().split())


def question_key(text: str) -> str:
    return " ".join("".join(c for c in text.lower() if c not in string.punctuation).split())


def occurs(term: str, text: str) -> bool:
    """term in text as whole words (text already squashed)."""
    return re.search(r"(?<!\w)" + re.escape(squash(term)) + r"(?!\w)", text) is not None


def list_items(gold: str) -> list[str]:
    return [p.strip() for p in re.split(r",\s*(?:and\s+)?|\s+and\s+", gold) if p.strip()]


def gold_in_text(q: dict, text: str) -> bool:
    text = squash(text)
    if any(squash(g) in text for g in q["answers"]):
        return True
    if "list" in q["tags"]:
        return any(all(squash(item) in text for item in list_items(g)) for g in q["answers"])
    return False


CHAT_LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d) \d\d:\d\d\] [^:\]]+: \S.*$")
CHAT_NAME = re.compile(r"^(\d{4}-\d\d-\d\d)_chat_with_[A-Za-z_]+\.txt$")


def check_chat_corpus(files: dict[str, str]) -> list[str]:
    """Every chat file is NAME-dated, one message a line, '[YYYY-MM-DD HH:MM] Name: text', in time
    order, starting on the file's date."""
    problems = []
    for fname, text in sorted(files.items()):
        m = CHAT_NAME.match(fname)
        if not m:
            problems.append(f"chat corpus: {fname}: name is not DATE_chat_with_NAME.txt")
            continue
        lines = text.splitlines()
        bad = [n for n, line in enumerate(lines, 1) if not CHAT_LINE.match(line)]
        if bad:
            problems.append(f"chat corpus: {fname}: lines {bad[:5]} are not '[DATE TIME] Name: text'")
        stamps = [line[1:17] for line in lines]
        if stamps != sorted(stamps):
            problems.append(f"chat corpus: {fname}: messages out of time order")
        if lines and lines[0][1:11] != m.group(1):
            problems.append(f"chat corpus: {fname}: first message is not on the file's date")
    return problems


EMAIL_NAME = re.compile(r"^(\d{4}-\d\d-\d\d)_(\d\d)(\d\d)_[a-z0-9-]+\.eml$")


def check_email_corpus(files: dict[str, str]) -> list[str]:
    """Every .eml parses (email package), has From, Date, Subject and Message-ID, its Date readable
    and on the day and time of its name (the sender's clock); every .mbox parses (mailbox.mbox),
    each message with From, Date and Subject."""
    import email
    import mailbox
    from email import policy
    from email.utils import parsedate_to_datetime
    problems = []
    for fname, text in sorted(files.items()):
        if fname.endswith(".eml"):
            m = EMAIL_NAME.match(fname)
            if not m:
                problems.append(f"email corpus: {fname}: name is not DATE_HHMM_slug.eml")
            try:
                message = email.message_from_bytes(text.encode("utf-8"), policy=policy.default)
            except Exception as e:  # noqa: BLE001 - any parser failure is a problem to report
                problems.append(f"email corpus: {fname}: does not parse ({e})")
                continue
            missing = [h for h in ("From", "Date", "Subject", "Message-ID") if not message[h]]
            if missing:
                problems.append(f"email corpus: {fname}: no {', '.join(missing)} header")
                continue
            try:
                sent = parsedate_to_datetime(str(message["Date"]))
            except (TypeError, ValueError):
                problems.append(f"email corpus: {fname}: Date {message['Date']!r} cannot be read")
                continue
            if m and f"{sent:%Y-%m-%d %H%M}" != f"{m.group(1)} {m.group(2)}{m.group(3)}":
                problems.append(f"email corpus: {fname}: Date {message['Date']} is not the name's day and time")
            if message.get_body(preferencelist=("plain",)) is None:
                problems.append(f"email corpus: {fname}: no text/plain part")
        elif fname.endswith(".mbox"):
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / fname
                path.write_bytes(text.encode("utf-8"))
                box = mailbox.mbox(str(path), create=False)
                try:
                    messages = [email.message_from_bytes(box.get_bytes(k), policy=policy.default) for k in box.keys()]
                finally:
                    box.close()
            if not messages:
                problems.append(f"email corpus: {fname}: no messages")
            for n, message in enumerate(messages, 1):
                missing = [h for h in ("From", "Date", "Subject") if not message[h]]
                if missing:
                    problems.append(f"email corpus: {fname}: message {n} has no {', '.join(missing)} header")
        else:
            problems.append(f"email corpus: {fname}: neither .eml nor .mbox")
    return problems


def check_fields(q: dict, where: str) -> list[str]:
    problems = []
    keys = set(q)
    if keys != set(FIELDS):
        missing, extra = set(FIELDS) - keys, keys - set(FIELDS)
        problems.append(f"{where}: fields: missing {sorted(missing)}, unknown {sorted(extra)}")
        return problems
    for name in ("id", "question", "split"):
        if not isinstance(q[name], str) or not q[name].strip():
            problems.append(f"{where}: '{name}' must be a non-empty string")
    for name in ("answers", "sources", "tags"):
        if not isinstance(q[name], list) or not all(isinstance(v, str) and v.strip() for v in q[name]):
            problems.append(f"{where}: '{name}' must be a list of non-empty strings")
    if not isinstance(q["answerable"], bool):
        problems.append(f"{where}: 'answerable' must be true or false")
    h = q["history"]
    if not (isinstance(h, list) and all(isinstance(t, list) and len(t) == 2 and all(isinstance(s, str) for s in t)
                                        for t in h)):
        problems.append(f"{where}: 'history' must be a list of [question, answer] pairs")
    return problems


def check_suite(name: str) -> tuple[list[str], dict]:
    problems: list[str] = []
    path = HERE / name / "questions.jsonl"
    questions = []
    if not path.is_file():
        return [f"{name}: {path} not found"], {"questions": 0, "split": {}, "tags": {}, "primary": {},
                                                "yes/no": {}, "corpus files": 0}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                questions.append((f"{name}:{number}", json.loads(line)))
            except json.JSONDecodeError as e:
                problems.append(f"{name}:{number}: not JSON ({e})")
    with tempfile.TemporaryDirectory() as tmp:
        files = build.build(name, Path(tmp))
    corpus_all = squash("\n".join(files.values()))
    if name == "chat":
        problems += check_chat_corpus(files)
    if name == "email":
        problems += check_email_corpus(files)
    absent_path = HERE / name / "absent_terms.json"
    absent = json.loads(absent_path.read_text(encoding="utf-8")) if absent_path.exists() else {}

    ids, texts = Counter(), Counter()
    good = []
    for where, q in questions:
        field_problems = check_fields(q, where)
        problems += field_problems
        if field_problems:
            continue
        where = f"{where} ({q['id']})"
        good.append(q)
        ids[q["id"]] += 1
        texts[question_key(q["question"])] += 1
        tags = q["tags"]
        if not tags:
            problems.append(f"{where}: no tags")
            continue
        bad = [t for t in tags if t not in TAGS]
        if bad:
            problems.append(f"{where}: tags not in the vocabulary: {bad}")
        if len(set(tags)) != len(tags):
            problems.append(f"{where}: a tag twice")
        if q["split"] not in ("tune", "heldout"):
            problems.append(f"{where}: split must be 'tune' or 'heldout'")
        if ("unanswerable" in tags) == q["answerable"]:
            problems.append(f"{where}: 'unanswerable' tag and answerable={q['answerable']} disagree")
        for s in q["sources"]:
            if s not in files:
                problems.append(f"{where}: source {s!r} is not a file of the {name} corpus")
        if q["answerable"]:
            if not q["answers"] or not q["sources"]:
                problems.append(f"{where}: an answerable question needs answers and sources")
            elif "yes-no" in tags:
                if q["answers"][0] not in ("Yes", "No"):
                    problems.append(f"{where}: a yes-no question's first answer must be Yes or No")
            else:
                text = "\n".join(files.get(s, "") for s in q["sources"])
                if not gold_in_text(q, text):
                    problems.append(f"{where}: no gold answer found in its sources {q['sources']}")
        else:
            if q["answers"] or q["sources"]:
                problems.append(f"{where}: an unanswerable question has answers or sources")
            terms = absent.get(q["id"])
            if not terms:
                problems.append(f"{where}: no key terms for it in {absent_path.name}")
            else:
                for t in terms:
                    if occurs(t, corpus_all):
                        problems.append(f"{where}: key term {t!r} occurs in the corpus")
        if "follow-up" in tags and not q["history"]:
            problems.append(f"{where}: a follow-up without history")
        if "two-docs" in tags and len(q["sources"]) < 2:
            problems.append(f"{where}: two-docs with fewer than two sources")
    for i, n in ids.items():
        if n > 1:
            problems.append(f"{name}: id {i!r} used {n} times")
    for t, n in texts.items():
        if n > 1:
            problems.append(f"{name}: question {t!r} asked {n} times")
    extra = set(absent) - set(ids)
    if extra:
        problems.append(f"{name}: {absent_path.name} names unknown ids {sorted(extra)}")

    # split balance, per primary tag
    strata: dict[str, Counter] = {}
    for q in good:
        strata.setdefault(q["tags"][0], Counter())[q["split"]] += 1
    for tag, c in sorted(strata.items()):
        total = c["tune"] + c["heldout"]
        if abs(c["tune"] - c["heldout"]) > 1 or (total >= 2 and not (c["tune"] and c["heldout"])):
            problems.append(f"{name}: primary tag {tag}: unbalanced split {dict(c)}")

    # counts
    tag_counts = Counter(t for q in good for t in q["tags"])
    yes_no = Counter(q["answers"][0] for q in good if "yes-no" in q["tags"] and q["answers"])
    have = {"all": len(good), "when/which-first": sum(1 for q in good if {"when", "which-first"} & set(q["tags"]))}
    for key, minimum in MINIMUM.items():
        n = have.get(key, tag_counts.get(key, 0))
        if n < minimum:
            problems.append(f"{name}: {n} {key} questions, fewer than {minimum}")
    if yes_no and abs(yes_no["Yes"] - yes_no["No"]) > max(2, len(yes_no) // 5):
        problems.append(f"{name}: yes-no answers unbalanced: {dict(yes_no)}")
    summary = {
        "questions": len(good),
        "split": dict(Counter(q["split"] for q in good)),
        "tags": {t: tag_counts[t] for t in TAGS if tag_counts[t]},
        "primary": {t: dict(strata[t]) for t in TAGS if t in strata},
        "yes/no": dict(yes_no),
        "corpus files": len(files),
    }
    return problems, summary


def check_probes(name: str) -> list[str]:
    """unsettled_yes_no.jsonl, if the suite has one: yes/no questions that its documents neither
    state nor deny, each with the key terms that would settle it (unsettled_absent.json), none of
    them in the corpus."""
    path = HERE / name / "unsettled_yes_no.jsonl"
    if not path.exists():
        return []
    problems = []
    absent = json.loads((HERE / name / "unsettled_absent.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        corpus_all = squash("\n".join(build.build(name, Path(tmp)).values()))
    questions = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for q in questions:
        where = f"{name}: {path.name} ({q.get('id')})"
        problems += check_fields(q, where)
        if q.get("tags") != ["yes-no", "unanswerable"] or q.get("answerable") or q.get("answers"):
            problems.append(f"{where}: must be an unanswerable yes-no question")
        if q.get("split") not in ("tune", "heldout"):
            problems.append(f"{where}: split must be 'tune' or 'heldout'")
        terms = absent.get(q.get("id"), {}).get("absent")
        if not terms:
            problems.append(f"{where}: no key terms for it in unsettled_absent.json")
        problems += [f"{where}: key term {t!r} occurs in the corpus" for t in terms or () if occurs(t, corpus_all)]
    return problems


# (file, its first tag, whether its golds are spans of the sources' text)
QUESTION_SETS = (("how_long.jsonl", "how-long", False), ("order.jsonl", "before-after", False),
                 ("facts.jsonl", "single-fact", True), ("facts2.jsonl", "single-fact", True),
                 ("which_first.jsonl", "which-first", True))


def check_question_set(name: str, filename: str, first_tag: str, spans: bool = False) -> tuple[list[str], dict]:
    """A question set of its own, if the suite has the file: how_long.jsonl (first tag
    "how-long", the time between two dated events), order.jsonl ("before-after", did one come
    before the other), facts.jsonl and facts2.jsonl ("single-fact") or which_first.jsonl
    ("which-first", which of two dated events came first). Fields as questions.jsonl, the first tag
    first_tag, the others from "two-docs" and "unanswerable"; an answerable one has answers and
    sources in the corpus (two for two-docs), and with `spans` a gold in its sources' text (the
    golds of the first two are computed, "26 days", "Yes"); an unanswerable one has neither, and
    key terms (STEM_absent.json beside the file) none of which the corpus holds; the halves differ
    by at most one. Returns the problems and counts per split."""
    path = HERE / name / filename
    if not path.exists():
        return [], {}
    allowed = (first_tag, "two-docs", "unanswerable")
    absent_name = f"{path.stem}_absent.json"
    absent_path = HERE / name / absent_name
    absent = json.loads(absent_path.read_text(encoding="utf-8")) if absent_path.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        files = build.build(name, Path(tmp))
    corpus_all = squash("\n".join(files.values()))
    questions = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    problems = []
    for q in questions:
        where = f"{name}: {path.name} ({q.get('id')})"
        problems += check_fields(q, where)
        tags = q.get("tags") or [""]
        if tags[0] != first_tag or set(tags) - set(allowed) or ("unanswerable" in tags) == q.get("answerable"):
            problems.append(f"{where}: tags {tags} (the first {first_tag!r}; 'unanswerable' as the answerable flag says)")
        if q.get("answerable") != bool(q.get("answers")) or q.get("answerable") != bool(q.get("sources")):
            problems.append(f"{where}: answers and sources go with an answerable question, and only there")
        problems += [f"{where}: source {s!r} is not a file of the corpus"
                     for s in q.get("sources", ()) if s not in files]
        if "two-docs" in tags and len(set(q.get("sources", ()))) < 2:
            problems.append(f"{where}: two-docs with fewer than two sources")
        if spans and q.get("answerable") and not gold_in_text(q, "\n".join(files.get(s, "") for s in q["sources"])):
            problems.append(f"{where}: no gold answer occurs in its sources")
        if not q.get("answerable"):
            terms = absent.get(q.get("id"), {}).get("absent")
            if not terms:
                problems.append(f"{where}: no key terms for it in {absent_name}")
            problems += [f"{where}: key term {t!r} occurs in the corpus" for t in terms or () if occurs(t, corpus_all)]
    split = Counter(q.get("split") for q in questions)
    if set(split) - {"tune", "heldout"} or abs(split["tune"] - split["heldout"]) > 1:
        problems.append(f"{name}: {path.name}: split {dict(split)} (tune and heldout, differing by one at most)")
    counts = {kind: Counter(q["split"] for q in questions if keep(q)) for kind, keep in (
        ("all", lambda q: True), ("answerable", lambda q: q.get("answerable")),
        ("unanswerable", lambda q: not q.get("answerable")), ("two-docs", lambda q: "two-docs" in q.get("tags", ())))}
    return problems, counts


def main(argv: list[str]) -> int:
    names = argv or list(SUITES)
    failed = False
    for name in names:
        problems, summary = check_suite(name)
        problems += check_probes(name)
        sets = {}
        for filename, first_tag, spans in QUESTION_SETS:
            set_problems, sets[filename] = check_question_set(name, filename, first_tag, spans)
            problems += set_problems
        print(f"== {name}: {summary['questions']} questions over {summary['corpus files']} files; "
              f"split {summary['split']}; yes/no {summary['yes/no']}")
        print("   tags (any position): " + ", ".join(f"{t} {n}" for t, n in summary["tags"].items()))
        print("   primary tag tune/heldout: " + ", ".join(
            f"{t} {c.get('tune', 0)}/{c.get('heldout', 0)}" for t, c in summary["primary"].items()))
        for filename, counts in sets.items():
            if counts:
                print(f"   {filename} tune/heldout: " + ", ".join(f"{k} {c.get('tune', 0)}/{c.get('heldout', 0)}"
                                                            for k, c in counts.items()))
        for p in problems:
            print("   PROBLEM " + p)
        print(f"   {'FAILED' if problems else 'OK'}: {len(problems)} problems")
        failed |= bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
