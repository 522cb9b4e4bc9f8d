"""Run question cases through a Bot, judge each answer, and aggregate the verdicts into a Report.

    report = rag.evaluate(bot, "questions.jsonl")      # or a list of dicts / Case objects
    report.metrics["answer"]["f1"]                      # {"value": 0.61, "n": 40, "ci95": [0.52, 0.70]}
    report.save("reports/baseline")

Each case costs one bot.ask (what a user would get) and one bot.retrieve at depth 10 for the
retrieval curve. Ctrl-C stops the run; the Report then covers the questions done and is partial."""

from __future__ import annotations

import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..citations import clean_markers, markers_in
from . import metrics as m
from .cases import Case, as_cases, matches, select_split

RETRIEVAL_KS = (1, 3, 5, 10)
HERE = Path(__file__).resolve().parent  # git is asked about the code that runs


@dataclass
class Report:
    name: str
    metrics: dict  # group -> metric -> {"value", "n", "ci95"}
    cases: list[dict]  # one record per question: answer, passages, citations, verdict
    info: dict = field(default_factory=dict)  # settings, model ids, index, git commit, timing
    partial: bool = False  # stopped before every question was done

    def value(self, key: str):
        """report.value("answer.f1") -> the number, or None."""
        group, _, name = key.partition(".")
        return (self.metrics.get(group, {}).get(name) or {}).get("value")

    def to_dict(self) -> dict:
        return {"name": self.name, "partial": self.partial, "info": self.info, "metrics": self.metrics,
                "breakdown": breakdown(self.cases)}

    def summary(self) -> str:
        from .report import summary_lines
        return "\n".join(summary_lines(self.to_dict()))

    def save(self, out_dir) -> Path:
        from .report import write_report
        return write_report(self, out_dir)


# ---------- one case ----------


def doc_key(chunk, sources) -> str:
    """The gold source a chunk belongs to, else its own file: chunk hits become document hits."""
    for s in sources:
        if matches(chunk, s):
            return s
    return chunk.source


def retrieval_verdict(ranked: list[str], relevant: set[str], ks=RETRIEVAL_KS) -> dict:
    out = {}
    for k in ks:
        out[f"hit@{k}"] = m.hit_at_k(ranked, relevant, k)
        out[f"recall@{k}"] = m.recall_at_k(ranked, relevant, k)
    out["mrr@10"] = m.mrr_at_k(ranked, relevant, 10)
    out["ndcg@10"] = m.ndcg_at_k(ranked, relevant, 10)
    return out


def outcome(case: Case, refused: bool, correct: bool | None) -> str:
    if not case.answerable:
        return "correct refusal" if refused else "answered unanswerable"
    if refused:
        return "refused"
    if correct is None:
        return "answered"
    return "correct" if correct else "wrong"


# who refused, by the stage that decided it (Answer.refusal_stage), in the words of the reports
REFUSED_BY = {"retrieve": "retrieval", "generate": "model", "check": "verification"}


def refusal_kind(answer) -> str | None:
    """Who refused: the retrieval step (no generation), the model, or citation verification."""
    return REFUSED_BY.get(answer.refusal_stage) if answer.refused else None


def citation_verdict(text: str, raw_text: str, passages: dict[int, str]) -> dict:
    sentences = m.citation_verdicts(text, passages)
    return {"validity": m.citation_validity(raw_text, set(passages)), "coverage": m.citation_coverage(sentences),
            "support": m.citation_support(sentences), "precision": m.citation_precision(sentences),
            "sentences": sentences}


def judge(case: Case, answer, hits, refusal: str, ks=RETRIEVAL_KS) -> dict:
    """Every verdict for one answer: retrieval of the gold sources, answer match, citations and
    numbers, for the answer shown and for the model's own output before verification. Pure."""
    relevant = set(case.sources) if case.answerable else set()
    ranked = m.first_ranks(doc_key(h.chunk, case.sources) for h in hits)
    shown = list(answer.passages)
    passages = {h.rank: h.chunk.text for h in shown}
    context = [h.chunk.text for h in shown] + [h.chunk.text for h in answer.retrieved]
    golds = case.answers if case.answerable else ()
    kind = refusal_kind(answer)
    prediction = "" if answer.refused else m.strip_answer(answer.text, refusal)
    model_text = "" if kind in ("retrieval", "model") else clean_markers(answer.raw_text or answer.text, len(shown))
    model_prediction = m.strip_answer(model_text, refusal)
    em, contains = m.exact_match(prediction, golds), m.contains_answer(prediction, golds)
    lenient = m.lenient_match(prediction, golds)
    correct = None if lenient is None else lenient == 1  # as the headline counts it
    asked = case.question + " " + " ".join(q for q, _ in case.history)
    verdict = {
        "outcome": outcome(case, answer.refused, correct),
        "refusal_kind": kind,
        "retrieval": retrieval_verdict(ranked, relevant, ks),
        "retrieved": ranked[:max(ks)],
        "em": em, "f1": m.token_f1(prediction, golds), "contains": contains,
        "lenient": lenient,
        "model_contains": m.contains_answer(model_prediction, golds),
        "model_lenient": m.lenient_match(model_prediction, golds) if model_text and golds else None,
        "answer_in_passages": max((m.contains_answer(t, golds) for t in passages.values()), default=0.0)
        if golds else None,
        "citations": None, "model_citations": None,
        "numbers": [raw for raw, _ in m.number_mentions(prediction)],
        "unsupported_numbers": m.unsupported_numbers(prediction, context, asked),
        "model_numbers": [raw for raw, _ in m.number_mentions(model_prediction)],
        "model_unsupported_numbers": m.unsupported_numbers(model_prediction, context, asked),
    }
    if not answer.refused:
        verdict["citations"] = citation_verdict(answer.text, answer.raw_text or answer.text, passages)
    if model_text:
        verdict["model_citations"] = citation_verdict(model_text, answer.raw_text or answer.text, passages)
    return verdict


def answer_record(answer) -> dict:
    data = answer.to_dict()  # the passages' texts are left out: the report points to them
    return {
        "answer": data["text"], "raw_text": data["raw_text"], "refused": data["refused"], "query": data["query"],
        "second_look": data["second_look"], "odds": data["odds"],
        "refusal_reason": data["refusal_reason"], "refusal_stage": data["refusal_stage"],
        "citations": [{k: c[k] for k in ("n", "chunk_id", "source", "page", "sentence")} for c in data["citations"]],
        "passages": [{k: p[k] for k in ("n", "chunk_id", "source", "score")} for p in data["passages"]],
        "markers": markers_in(answer.raw_text or ""),
        "best_dense": max((h["dense"] for h in (data.get("retrieved") or data["passages"])
                           if h["dense"] is not None), default=None),
        "timings": data["timings"],
    }


def run_case(bot, case: Case, k: int | None = None, ks=RETRIEVAL_KS) -> dict:
    record = {**case.to_dict(), "error": None}
    try:
        answer = bot.ask(case.question, history=case.history, k=k)
        hits = bot.retrieve(answer.query or case.question, k=max(max(ks), len(answer.passages)))
    except KeyboardInterrupt:
        raise
    except Exception as e:  # one failing question must not end the run
        record.update(error=f"{type(e).__name__}: {e}", verdict={"outcome": "error"})
        return record
    record.update(answer_record(answer))
    record["verdict"] = judge(case, answer, hits, bot.refusal, ks)
    return record


# ---------- aggregation ----------


def _ok(records):
    return [r for r in records if not r.get("error")]


def _v(record, key):
    return record.get("verdict", {}).get(key)


def retrieval_metrics(records, seed=0, ks=RETRIEVAL_KS) -> dict:
    names = [f"{kind}@{k}" for k in ks for kind in ("hit", "recall")] + ["mrr@10", "ndcg@10"]
    out = {name: m.mean_stat(((_v(r, "retrieval") or {}).get(name) for r in records), seed) for name in names}
    out["answer_in_passages"] = m.mean_stat((_v(r, "answer_in_passages") for r in records), seed)
    return out


def answer_metrics(records, seed=0) -> dict:
    out = {"exact_match": m.mean_stat((_v(r, "em") for r in records), seed),
           "f1": m.mean_stat((_v(r, "f1") for r in records), seed),
           "contains": m.mean_stat((_v(r, "contains") for r in records), seed),
           "lenient": m.mean_stat((_v(r, "lenient") for r in records), seed),
           "model_contains": m.mean_stat((_v(r, "model_contains") for r in records), seed)}
    if any(not r["answerable"] for r in records):
        # SQuAD 2.0 "total": an unanswerable question scores 1 when the answer is a refusal
        def total(key):
            return [(1.0 if r["refused"] else 0.0) if not r["answerable"] else _v(r, key) for r in records]
        out["exact_match_all"] = m.mean_stat(total("em"), seed)
        out["f1_all"] = m.mean_stat(total("f1"), seed)
    return out


def citation_metrics(records, seed=0) -> dict:
    out = {}
    for prefix, key in (("", "citations"), ("model_", "model_citations")):
        for name in ("validity", "coverage", "support", "precision"):
            if prefix and name == "validity":
                continue
            out[prefix + name] = m.mean_stat(((_v(r, key) or {}).get(name) for r in records), seed)
    return out


def refusal_metrics(records, seed=0) -> dict:
    pairs = [(r["answerable"], r["refused"]) for r in records]

    def score(name):
        return lambda items: m.refusal_scores([a for a, _ in items], [r for _, r in items])[name]
    refusals = sum(r for _, r in pairs)
    unanswerable = sum(not a for a, _ in pairs)
    answerable = len(pairs) - unanswerable
    return {
        "precision": m.bootstrap_stat(pairs, score("precision"), refusals, seed),
        "recall": m.bootstrap_stat(pairs, score("recall"), unanswerable, seed),
        "f1": m.bootstrap_stat(pairs, score("f1"), len(pairs), seed),
        "over_refusal": m.bootstrap_stat(pairs, score("over_refusal"), answerable, seed),
        "refusal_rate": m.mean_stat((float(r) for _, r in pairs), seed),
    }


def number_metrics(records, seed=0) -> dict:
    out = {}
    for prefix in ("", "model_"):
        counts = [(len(_v(r, prefix + "numbers") or []), len(_v(r, prefix + "unsupported_numbers") or []))
                  for r in records if _v(r, prefix + "numbers") is not None]

        def share(items):
            total = sum(n for n, _ in items)
            return sum(u for _, u in items) / total if total else None
        with_numbers = [u > 0 for n, u in counts if n]
        out[prefix + "hallucinated_numbers"] = m.bootstrap_stat(counts, share, sum(n for n, _ in counts), seed)
        out[prefix + "answers_with_hallucinated_number"] = m.mean_stat(map(float, with_numbers), seed)
    return out


def peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def speed_metrics(records, seed=0) -> dict:
    timings = [r["timings"] for r in records if r.get("timings")]
    first = [t["first_token_s"] for t in timings if t.get("first_token_s") is not None]
    total = [t["total_s"] for t in timings]
    retrieval_ms = [m.reading_s(t) * 1000 for t in timings]  # before generation, as in earlier reports
    # each stage's own time, in records that time the stages apart; generate and check where the model ran
    staged = [t for t in timings if "plan_s" in t]
    plan_ms, retrieve_ms, context_ms = ([t[key] * 1000 for t in staged]
                                        for key in ("plan_s", "retrieve_s", "context_s"))
    generate_s = [t["generate_s"] for t in timings if t.get("generate_s")]
    check_ms = [t["check_s"] * 1000 for t in timings if t.get("check_s")]
    prompt_tokens = [t["prompt_tokens"] for t in timings if t.get("prompt_tokens")]
    new_tokens = [t["prompt_tokens"] - t.get("cached_tokens", 0) for t in timings if t.get("prompt_tokens")]
    generated = [(t["completion_tokens"], t["total_s"] - t["first_token_s"]) for t in timings
                 if t.get("first_token_s") is not None and t.get("completion_tokens")]

    def pct(values, q):
        return m.bootstrap_stat(values, lambda v: m.percentile(v, q), len(values), seed, resamples=300)
    return {
        "first_token_s_p50": pct(first, 50), "first_token_s_p95": pct(first, 95),
        "total_s_p50": pct(total, 50), "total_s_p95": pct(total, 95),
        "retrieval_ms_p50": pct(retrieval_ms, 50), "retrieval_ms_p95": pct(retrieval_ms, 95),
        "plan_ms_p50": pct(plan_ms, 50), "retrieve_ms_p50": pct(retrieve_ms, 50),
        "context_ms_p50": pct(context_ms, 50), "generate_s_p50": pct(generate_s, 50),
        "check_ms_p50": pct(check_ms, 50),
        "prompt_tokens_p50": pct(prompt_tokens, 50),
        "new_prompt_tokens_p50": pct(new_tokens, 50),  # read after the question arrived
        "tokens_per_s": m.bootstrap_stat(generated, lambda g: m.tokens_per_second([n for n, _ in g], [s for _, s in g]),
                                         len(generated), seed, resamples=300),
        "peak_rss_mb": m.stat(peak_rss_mb(), 1, None),
    }


def count_metrics(records) -> dict:
    outcomes: dict[str, int] = {}
    for r in records:
        verdict = r.get("verdict") or {}
        keys = [f"outcome: {verdict.get('outcome', 'error')}"]
        if verdict.get("refusal_kind"):
            keys.append(f"refused by: {verdict['refusal_kind']}")
        for key in keys:
            outcomes[key] = outcomes.get(key, 0) + 1
    return {"questions": m.stat(len(records), len(records), None),
            "errors": m.stat(sum(1 for r in records if r.get("error")), len(records), None),
            **{k: m.stat(v, len(records), None) for k, v in sorted(outcomes.items())}}


def threshold_points(records, thresholds=None) -> list[tuple[float, float, float]]:
    """What a min_score threshold would do: (threshold, refusal recall, over-refusal) when
    answers whose best passage has a cosine below the threshold are refused too."""
    records = [r for r in _ok(records) if "refused" in r]
    if not any(r["answerable"] for r in records) or all(r["answerable"] for r in records):
        return []
    if not any(r.get("best_dense") is not None for r in records):
        return []
    thresholds = thresholds if thresholds is not None else [round(0.05 * i, 2) for i in range(15)]
    points = []
    for t in thresholds:
        refused = [r["refused"] or (r.get("best_dense") is not None and r["best_dense"] < t) for r in records]
        scores = m.refusal_scores([r["answerable"] for r in records], refused)
        points.append((t, scores["recall"], scores["over_refusal"]))
    return points


def aggregate(records: list[dict], seed: int = 0, ks=RETRIEVAL_KS) -> dict:
    """Report metrics from per-case records (as written to cases.jsonl)."""
    ok = _ok(records)
    return {
        "retrieval": retrieval_metrics(ok, seed, ks),
        "answer": answer_metrics(ok, seed),
        "citations": citation_metrics(ok, seed),
        "refusal": refusal_metrics(ok, seed),
        "numbers": number_metrics(ok, seed),
        "speed": speed_metrics(ok, seed),
        "counts": count_metrics(records),
    }


# ---------- breakdowns (counts, no intervals) ----------

NO_TAG = "(no tag)"
NO_REASON = "(none given)"


def group_row(records) -> dict:
    """One group of judged questions: answerable right (lenient), refusals, and where the gold was."""
    graded = [_v(r, "lenient") for r in records if r["answerable"] and _v(r, "lenient") is not None]
    unanswerable = [r for r in records if not r["answerable"]]
    scores = m.refusal_scores([r["answerable"] for r in records], [r["refused"] for r in records])
    return {"questions": len(records), "graded": len(graded), "right": int(sum(graded)),
            "right_rate": m.mean(graded), "unanswerable": len(unanswerable),
            "correct_refusals": sum(1 for r in unanswerable if r["refused"]),
            "refusal_recall": scores["recall"], "over_refusal": scores["over_refusal"],
            "gold_in_passages": m.mean(_v(r, "answer_in_passages") for r in records),
            "hit@5": m.mean((_v(r, "retrieval") or {}).get("hit@5") for r in records)}


def by_tag(records) -> dict[str, dict]:
    """group_row per tag (a question counts under each of its tags); {} when nothing is tagged."""
    if not any(r.get("tags") for r in records):
        return {}
    groups: dict[str, list] = {}
    for r in records:
        for tag in r.get("tags") or [NO_TAG]:
            groups.setdefault(tag, []).append(r)
    return {tag: group_row(rows) for tag, rows in sorted(groups.items())}


def refusal_reasons(records) -> dict[str, dict]:
    """Per refusal reason: how often it fired, right (unanswerable) or wrong (answerable), and of
    the wrong ones how often the model's draft was right (lenient) and a check withheld it: a
    check that refuses an answerable question whose draft was wrong stopped a wrong answer.
    {} when no refusal gives a reason."""
    out: dict[str, dict] = {}
    for r in records:
        if r["refused"]:
            row = out.setdefault(r.get("refusal_reason") or NO_REASON,
                                 {"fired": 0, "right": 0, "wrong": 0, "right_draft": 0})
            row["fired"] += 1
            row["wrong" if r["answerable"] else "right"] += 1
            if r["answerable"] and _v(r, "model_lenient") == 1:
                row["right_draft"] += 1
    if set(out) <= {NO_REASON}:
        return {}
    return dict(sorted(out.items(), key=lambda kv: (-kv[1]["fired"], kv[0])))


def second_looks(records) -> dict:
    """The answers a second look gave (a withheld draft asked again over the best passage):
    right and wrong (lenient) for answerable questions, and those given to unanswerable ones."""
    looked = [r for r in records if r.get("second_look") and not r["refused"]]
    return {"answered": len(looked),
            "right": sum(1 for r in looked if r["answerable"] and _v(r, "lenient") == 1),
            "wrong": sum(1 for r in looked if r["answerable"] and _v(r, "lenient") != 1),
            "unanswerable": sum(1 for r in looked if not r["answerable"])}


def by_gold_read(records) -> dict[str, dict]:
    """The answerable questions graded, split by whether a gold answer was in the passages the model
    read: right, wrong and refused in each. Misses with the gold read are the reading's (the model,
    the checks); misses without it are the search's and the context's, and a wrong answer there is
    one given from passages that did not hold it. A yes/no question is left out: its gold ("Yes")
    is not a span of the text. {} when no question says where its gold was."""
    out: dict[str, dict] = {}
    for r in records:
        read, right = _v(r, "answer_in_passages"), _v(r, "lenient")
        golds = r.get("answers") or []
        if not r["answerable"] or read is None or right is None or (golds and m.normalize_answer(golds[0]) in m.YES_NO):
            continue
        row = out.setdefault("read" if read else "not read", {"questions": 0, "right": 0, "wrong": 0, "refused": 0})
        row["questions"] += 1
        row["refused" if r["refused"] else "right" if right == 1 else "wrong"] += 1
    return dict(sorted(out.items(), key=lambda kv: kv[0] != "read"))


def breakdown(records: list[dict]) -> dict:
    """Overall, per-tag and per-refusal-reason counts, the answers by whether their gold was read,
    and the second looks' answers, over the questions answered (no errors)."""
    judged = [r for r in records if "refused" in r and "answerable" in r]
    return {"overall": group_row(judged), "by_tag": by_tag(judged), "refusal_reasons": refusal_reasons(judged),
            "by_gold_read": by_gold_read(judged), "second_looks": second_looks(judged)}


# ---------- the run ----------


def git_info() -> dict:
    def git(*args):
        try:
            out = subprocess.run(["git", *args], cwd=HERE, capture_output=True, text=True, timeout=10)
            return out.stdout.strip() if out.returncode == 0 else None
        except (OSError, subprocess.SubprocessError):
            return None
    if git("ls-files", "--error-unmatch", Path(__file__).name) is None:  # an installed copy, not a checkout
        return {"commit": None, "dirty": None}
    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def model_info(bot) -> dict:
    from ..models import PRESETS, _sha256
    generator = bot.generator
    sha = None
    if generator.id in PRESETS:
        sha = PRESETS[generator.id].sha256
    elif getattr(generator, "path", None) and Path(generator.path).is_file():
        sha = _sha256(Path(generator.path))
    return {"id": generator.id, "path": getattr(generator, "path", None), "sha256": sha}


def index_info(bot) -> dict:
    manifest = bot.store.manifest
    current = Path(bot.store.root) / "CURRENT"
    return {"dir": str(bot.store.root), "generation": current.read_text().strip() if current.exists() else None,
            "embedder": manifest.embedder, "dim": manifest.dim, "chunk_tokens": manifest.chunk_tokens,
            "chunk_overlap": manifest.chunk_overlap, "documents": len(manifest.files),
            "chunks": len(bot.store.chunks)}


def describe(bot, generation: bool = True) -> dict:
    """Everything needed to know what was measured."""
    info = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "settings": bot.settings.public(), "embedder": bot.embedder.id,
            "index": index_info(bot), "git": git_info(),
            "python": platform.python_version(), "platform": platform.platform()}
    if generation:
        info["model"] = model_info(bot)
    return info


def warm_up(bot, generation: bool = True, mode: str | None = None) -> None:
    """Load the models and build lazy indexes so that no question pays for them."""
    bot.retrieve("warm up", k=1, mode=mode)
    if generation:
        bot.generator  # noqa: B018 - loads the model


def unknown_sources(bot, cases: list[Case]) -> list[str]:
    chunks = list(bot.store.chunks.values())
    return sorted({s for c in cases for s in c.sources if not any(matches(ch, s) for ch in chunks)})


def evaluate(bot, cases, *, k: int | None = None, seed: int = 0, progress: bool = False,
             warmup: bool = True, name: str = "eval", ks=RETRIEVAL_KS, split: str | None = None) -> Report:
    """Ask every case, judge the answers, aggregate. cases: a .jsonl path, or Case objects or
    dicts in the question-set format. k: passages per answer (default: settings.top_k).
    split: only the cases of that split ("tune" or "heldout")."""
    from tqdm import tqdm

    cases = select_split(as_cases(cases), split)
    started = time.perf_counter()
    if warmup:
        warm_up(bot)
    records, partial = [], False
    bar = tqdm(total=len(cases), desc=name, unit="q", disable=not progress, file=sys.stderr)
    try:
        for case in cases:
            records.append(run_case(bot, case, k, ks))
            bar.set_postfix_str(records[-1]["verdict"]["outcome"])
            bar.update(1)
    except KeyboardInterrupt:
        partial = True
    finally:
        bar.close()
    info = describe(bot)
    info.update(questions=len(cases), done=len(records), seed=seed, k=k or bot.settings.top_k,
                elapsed_s=time.perf_counter() - started, unknown_sources=unknown_sources(bot, cases))
    if split or any(c.split for c in cases):
        info["split"] = split or "all"
    return Report(name=name, metrics=aggregate(records, seed, ks), cases=records, info=info, partial=partial)
