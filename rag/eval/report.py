"""Write a Report to a folder (report.json, report.md, cases.jsonl, PNG plots), read it back,
and compare two report folders."""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..errors import RagError
from .metrics import percentile, reading_s

STAGES = ("plan", "retrieve", "context", "generate", "check")  # the timings' {stage}_s, in order
GROUP_TITLES = {
    "retrieval": "Retrieval (document level)",
    "answer": "Answers (answerable questions)",
    "citations": "Citations (lexical support)",
    "refusal": "Refusals",
    "numbers": "Numbers",
    "speed": "Speed and cost",
    "counts": "Counts",
}
HEADLINE = ["retrieval.recall@10", "retrieval.mrr@10", "retrieval.ndcg@10", "retrieval.recall@100",
            "answer.exact_match", "answer.f1", "answer.contains", "answer.lenient",
            "citations.support", "citations.precision",
            "refusal.f1", "refusal.over_refusal", "numbers.hallucinated_numbers",
            "speed.first_token_s_p50", "speed.total_s_p50", "speed.retrieval_ms_p50"]


# ---------- formatting ----------


def fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) >= 100):
        return f"{int(value)}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}"


def fmt_ci(stat: dict) -> str:
    ci = stat.get("ci95")
    return f"{fmt(ci[0])}–{fmt(ci[1])}" if ci else ""


def metric_rows(metrics: dict) -> list[tuple[str, dict]]:
    return [(f"{group}.{name}", s) for group, stats in metrics.items() for name, s in stats.items()]


def summary_lines(report: dict) -> list[str]:
    """A few headline numbers for the terminal."""
    stats = dict(metric_rows(report["metrics"]))
    lines = [f"{report['name']}{' (PARTIAL: stopped early)' if report.get('partial') else ''}: "
             f"{report['info'].get('done', '?')} of {report['info'].get('questions', '?')} questions"]
    for key in HEADLINE:
        s = stats.get(key)
        if s and s.get("value") is not None:
            ci = f"  [{fmt_ci(s)}]" if s.get("ci95") else ""
            lines.append(f"  {key:34s} {fmt(s['value']):>8s}{ci}  n={s['n']}")
    overall = (report.get("breakdown") or {}).get("overall")
    if overall and overall["questions"]:
        lines.append("  " + overall_line(overall))
    return lines


def overall_line(row: dict) -> str:
    return (f"answerable right (lenient) {row['right']}/{row['graded']}; "
            f"correct refusals {row['correct_refusals']}/{row['unanswerable']}")


def passages_line(metrics: dict) -> str | None:
    """Is the gold answer in what the model read, beside is the gold document retrieved."""
    retrieval = metrics.get("retrieval", {})
    read, hit = retrieval.get("answer_in_passages") or {}, retrieval.get("hit@5") or {}
    if not read.get("n") and not hit.get("n"):
        return None
    return (f"gold in the passages the model read: {fmt(read.get('value'))} (n={read.get('n', 0)}); "
            f"gold document in top 5: {fmt(hit.get('value'))} (n={hit.get('n', 0)})")


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({fmt(part / whole)})" if whole else "-"


def breakdown_lines(breakdown: dict, metrics: dict, stages: dict | None = None) -> list[str]:
    """Per question type (tag) and per refusal reason (with the stage that gives it, when the
    cases say), in markdown."""
    overall = breakdown.get("overall")
    if not overall or not overall["questions"]:
        return []
    out = ["", "## By question type", "", overall_line(overall)]
    line = passages_line(metrics)
    if line:
        out += ["", line]
    tags = breakdown.get("by_tag") or {}
    if tags:
        out += ["", "| tag | questions | answerable right (lenient) | refusal recall | over-refusal | "
                "gold in passages read | gold document in top 5 |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        out += [f"| {tag} | {r['questions']} | {_share(r['right'], r['graded'])} | "
                f"{_share(r['correct_refusals'], r['unanswerable'])} | "
                f"{fmt(r['over_refusal'])} | {fmt(r['gold_in_passages'])} | {fmt(r['hit@5'])} |"
                for tag, r in tags.items()]
    read = breakdown.get("by_gold_read") or {}
    if read:
        out += ["", "## Answers by whether their gold was read", "",
                "| gold in the passages read | questions | right | wrong | refused |", "| --- | ---: | ---: | ---: | ---: |"]
        out += [f"| {'yes' if key == 'read' else 'no'} | {r['questions']} | {r['right']} | {r['wrong']} | "
                f"{r['refused']} |" for key, r in read.items()]
    reasons = breakdown.get("refusal_reasons") or {}
    if reasons:
        out += ["", "## Refusal reasons", "", "| reason | fired | right (unanswerable) | wrong (answerable) | "
                "of them, the draft right | stage |", "| --- | ---: | ---: | ---: | ---: | --- |"]
        out += [f"| {reason} | {r['fired']} | {r['right']} | {r['wrong']} | {r.get('right_draft', '-')} | "
                f"{(stages or {}).get(reason, '-')} |" for reason, r in reasons.items()]
    looks = breakdown.get("second_looks") or {}
    if looks.get("answered"):
        out += ["", f"Second look (a withheld draft asked again over the best passage alone): "
                    f"{looks['answered']} answered, {looks['right']} right, {looks['wrong']} wrong, "
                    f"{looks['unanswerable']} to unanswerable questions."]
    return out


def setup_rows(info: dict) -> list[tuple[str, str]]:
    s = info.get("settings", {})
    index = info.get("index", {})
    model = info.get("model")
    git = info.get("git") or {}
    rows = [
        ("date", info.get("date", "")),
        ("git commit", f"{git.get('commit') or '-'}{' (uncommitted changes)' if git.get('dirty') else ''}"),
        ("questions", f"{info.get('done', '?')} done of {info.get('questions', '?')}"),
        ("embedder", info.get("embedder", "-")),
        ("retriever", info.get("retriever") or f"{s.get('retriever', '-')} (fusion {s.get('fusion', '-')}, "
                                              f"dense weight {s.get('dense_weight', '-')})"),
        ("chunking", f"{index.get('chunk_tokens', '-')} tokens, overlap {index.get('chunk_overlap', '-')}"),
        ("index", f"{index.get('dir', '-')}: {index.get('documents', '-')} documents, "
                  f"{index.get('chunks', '-')} chunks"),
    ]
    if model:
        rows += [
            ("model", f"{model.get('id', '-')} (sha256 {str(model.get('sha256') or '-')[:16]})"),
            ("passages per answer", str(info.get("k", s.get("top_k", "-")))),
            ("grounding", f"rewrite {s.get('rewrite', '-')}, compact {s.get('compact', '-')} "
                          f"({s.get('context_tokens', '-')} tokens), verify {s.get('verify', '-')}"),
            ("temperature / max tokens", f"{s.get('temperature', '-')} / {s.get('max_tokens', '-')}"),
        ]
    else:
        rows.append(("model", "- (retrieval only)"))
    rows.append(("run time", f"{fmt(info.get('elapsed_s'), 1)} s"))
    for key in ("bench", "data", "split", "sample", "seed", "index_build_s", "index_reused"):
        if key in info:
            rows.append((key.replace("_", " "), str(info[key])))
    return rows


def markdown(report: dict, cases: list[dict], plots: list[str]) -> str:
    out = [f"# Evaluation: {report['name']}", ""]
    if report.get("partial"):
        out += ["**PARTIAL**: the run was stopped early; the numbers cover the questions done.", ""]
    out += ["| setting | value |", "| --- | --- |"]
    out += [f"| {k} | {v} |" for k, v in setup_rows(report["info"])]
    unknown = report["info"].get("unknown_sources")
    if unknown:
        out += ["", f"Warning: gold sources found in no indexed chunk: {', '.join(unknown)}"]
    for group, stats in report["metrics"].items():
        rows = [(name, s) for name, s in stats.items() if s.get("n")]
        if not rows:
            continue
        out += ["", f"## {GROUP_TITLES.get(group, group)}", "", "| metric | value | 95% CI | n |",
                "| --- | ---: | ---: | ---: |"]
        out += [f"| {name} | {fmt(s['value'])} | {fmt_ci(s)} | {s['n']} |" for name, s in rows]
    stages = {c.get("refusal_reason"): c["refusal_stage"] for c in cases if c.get("refusal_stage")}
    out += breakdown_lines(report.get("breakdown") or {}, report["metrics"], stages)
    if plots:
        out += ["", "## Plots", ""] + [f"![{Path(p).stem}]({Path(p).name})" for p in plots]
    if cases and "verdict" in cases[0] and "outcome" in cases[0]["verdict"]:
        out += ["", "## Per question", "", "| id | outcome | lenient | F1 | support | first token s | "
                f"{' / '.join(STAGES)} s | question |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
        for c in cases:
            v, t = c.get("verdict", {}), c.get("timings") or {}
            question = " ".join(c["question"].split()).replace("|", "/")
            kind = ": ".join(x for x in (v.get("refusal_kind"), c.get("refusal_reason")) if x)
            kind = f" ({kind})" if kind else ""
            stages = " / ".join(fmt(t.get(f"{stage}_s"), 2) for stage in STAGES) if "plan_s" in t else "-"
            out.append(f"| {c['id']} | {v.get('outcome')}{kind} | {fmt(v.get('lenient'), 0)} | "
                       f"{fmt(v.get('f1'), 2)} | {fmt((v.get('citations') or {}).get('support'), 2)} | "
                       f"{fmt(t.get('first_token_s'), 1)} | {stages} | {question[:90]} |")
    return "\n".join(out) + "\n"


# ---------- plots ----------


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_latency(cases: list[dict], path: Path) -> Path | None:
    timings = [c["timings"] for c in cases if c.get("timings")]
    series = {"first token (s)": [t["first_token_s"] for t in timings if t.get("first_token_s") is not None],
              "full answer (s)": [t["total_s"] for t in timings if t.get("first_token_s") is not None],
              "retrieval (ms)": [reading_s(t) * 1000 for t in timings]}
    series = {k: v for k, v in series.items() if v}
    if not series:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(series), figsize=(4 * len(series), 3.2), squeeze=False)
    for ax, (label, values) in zip(axes[0], series.items()):
        ax.hist(values, bins=min(30, max(5, len(values) // 3)), color="#4878a8")
        for q, style in ((50, "--"), (95, ":")):
            ax.axvline(percentile(values, q), color="k", linestyle=style, label=f"p{q}")
        ax.set_xlabel(label)
        ax.set_ylabel("questions")
        ax.legend(fontsize=8)
    fig.suptitle("Latency")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


OUTCOME_COLORS = {"correct": "#3a9a4a", "correct refusal": "#7cc47f", "answered": "#9bb7d4",
                  "wrong": "#d0473d", "answered unanswerable": "#e8913a", "refused": "#b0b0b0", "error": "#000000"}


def plot_correctness(cases: list[dict], path: Path) -> Path | None:
    """One bar per question: its token F1 (or 1 for a correct refusal), coloured by outcome."""
    rows = [c for c in cases if "outcome" in c.get("verdict", {})]
    if not rows:
        return None
    plt = _pyplot()
    outcomes = [c["verdict"]["outcome"] for c in rows]
    heights = [1.0 if o == "correct refusal" else (c["verdict"].get("f1") if c["verdict"].get("f1") is not None
                                                   else (1.0 if o == "answered" else 0.05))
               for o, c in zip(outcomes, rows)]
    heights = [max(h, 0.05) for h in heights]
    fig, ax = plt.subplots(figsize=(max(6, min(20, len(rows) * 0.12)), 3.2))
    ax.bar(range(len(rows)), heights, color=[OUTCOME_COLORS.get(o, "#888") for o in outcomes], width=0.9)
    from matplotlib.patches import Patch
    handles = [Patch(color=OUTCOME_COLORS.get(o, "#888"), label=f"{o} ({outcomes.count(o)})")
               for o in dict.fromkeys(outcomes)]
    ax.set_xlabel("question")
    ax.set_ylabel("token F1 (1 = correct refusal)")
    ax.set_ylim(0, 1.3)
    ax.legend(handles=handles, fontsize=7, loc="upper right", ncol=3)
    ax.set_title("Per-question outcome")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_recall_curve(metrics: dict, path: Path) -> Path | None:
    retrieval = metrics.get("retrieval", {})
    curves = {}
    for kind in ("recall", "hit"):
        points = sorted((int(name.split("@")[1]), s) for name, s in retrieval.items()
                        if name.startswith(kind + "@") and s.get("value") is not None)
        if points:
            curves[kind] = points
    if not curves:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for kind, points in curves.items():
        ks = [k for k, _ in points]
        values = [s["value"] for _, s in points]
        lo = [s["value"] - s["ci95"][0] if s.get("ci95") else 0 for _, s in points]
        hi = [s["ci95"][1] - s["value"] if s.get("ci95") else 0 for _, s in points]
        ax.errorbar(ks, values, yerr=[lo, hi], marker="o", capsize=3, label=f"{kind}@k")
    ax.set_xscale("log")
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("k (documents)")
    ax.set_ylim(0, 1.02)
    ax.set_title("Retrieval recall@k")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_refusal_tradeoff(points: list[tuple[float, float, float]], path: Path) -> Path | None:
    """A refusal threshold sweep: (threshold, refusal recall on unanswerable questions,
    over-refusal rate on answerable ones) per threshold, e.g. from harness.threshold_points."""
    if not points:
        return None
    plt = _pyplot()
    points = sorted(points)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot([p[2] for p in points], [p[1] for p in points], marker="o")
    labelled = set()
    for t, recall, over in points:
        if (over, recall) not in labelled:
            labelled.add((over, recall))
            ax.annotate(f"{t:g}", (over, recall), fontsize=7, textcoords="offset points", xytext=(3, -9))
    ax.set_xlabel("over-refusal (answerable questions refused)")
    ax.set_ylabel("refusal recall (unanswerable refused)")
    ax.set_xlim(-0.02, 1.05)
    ax.set_ylim(-0.02, 1.05)
    ax.grid(alpha=0.3)
    ax.set_title("Refusal threshold trade-off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# ---------- folders ----------


def write_report(report, out_dir) -> Path:
    """report.json, cases.jsonl, PNG plots and report.md into out_dir (created)."""
    from .harness import threshold_points
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = report.to_dict()
    (out / "report.json").write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    with open(out / "cases.jsonl", "w", encoding="utf-8") as fh:
        for record in report.cases:
            fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    plots = [p for p in (plot_latency(report.cases, out / "latency.png"),
                         plot_correctness(report.cases, out / "correctness.png"),
                         plot_recall_curve(report.metrics, out / "recall_at_k.png"),
                         plot_refusal_tradeoff(threshold_points(report.cases), out / "refusal_tradeoff.png")) if p]
    (out / "report.md").write_text(markdown(data, report.cases, [str(p) for p in plots]), encoding="utf-8")
    return out


def load_report(folder) -> dict:
    path = Path(folder)
    path = path / "report.json" if path.is_dir() else path
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RagError(f"No report at {folder} (expected a folder with report.json, written by rag eval)") from None
    except ValueError as e:
        raise RagError(f"{path} is not a valid report ({e})") from None


def _flat_setup(info: dict) -> dict:
    flat = {f"settings.{k}": v for k, v in (info.get("settings") or {}).items()}
    for key in ("embedder", "retriever", "k", "questions", "done", "bench", "split", "sample", "seed"):
        if key in info:
            flat[key] = info[key]
    flat["model"] = (info.get("model") or {}).get("id")
    flat["git commit"] = (info.get("git") or {}).get("commit")
    for key in ("documents", "chunks", "chunk_tokens", "chunk_overlap"):
        flat[f"index.{key}"] = (info.get("index") or {}).get(key)
    return flat


def _disjoint(a: dict, b: dict) -> bool:
    ca, cb = a.get("ci95"), b.get("ci95")
    return bool(ca and cb) and (ca[1] < cb[0] or cb[1] < ca[0])


def compare(folder_a, folder_b) -> str:
    """A markdown side-by-side of two reports: what differs in the setup, then every metric
    with B - A; * marks a difference whose 95% intervals do not overlap."""
    a, b = load_report(folder_a), load_report(folder_b)
    out = [f"# Compare A = {folder_a} and B = {folder_b}", ""]
    if a.get("partial") or b.get("partial"):
        out += ["Note: a partial report (stopped early) is being compared.", ""]
    sa, sb = _flat_setup(a["info"]), _flat_setup(b["info"])
    changed = [k for k in sorted(set(sa) | set(sb)) if sa.get(k) != sb.get(k) and k != "settings.index_dir"]
    out += ["| setup | A | B |", "| --- | --- | --- |"]
    out += [f"| {k} | {sa.get(k, '-')} | {sb.get(k, '-')} |" for k in changed] or ["| (same setup) | | |"]
    ma, mb = dict(metric_rows(a["metrics"])), dict(metric_rows(b["metrics"]))
    keys = list(dict.fromkeys(list(ma) + list(mb)))
    out += ["", "| metric | A | n | B | n | B - A |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for key in keys:
        x, y = ma.get(key, {}), mb.get(key, {})
        if x.get("value") is None and y.get("value") is None:
            continue
        delta = "-"
        if x.get("value") is not None and y.get("value") is not None:
            delta = f"{y['value'] - x['value']:+.3f}" + (" *" if _disjoint(x, y) else "")
        out.append(f"| {key} | {fmt(x.get('value'))} | {x.get('n', '-')} | {fmt(y.get('value'))} | "
                   f"{y.get('n', '-')} | {delta} |")
    out += ["", "* the two 95% bootstrap intervals do not overlap."]
    out += answer_changes(folder_a, folder_b)
    return "\n".join(out) + "\n"


def answer_changes(folder_a, folder_b) -> list[str]:
    """Markdown lines: how many questions both runs asked got the same raw answer, and each one
    whose outcome changed. Needs both runs' cases.jsonl; nothing without them."""
    def cases(folder):
        path = Path(folder) / "cases.jsonl"
        if not path.is_file():
            return None
        rows = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        return {r["id"]: r for r in rows}
    a, b = cases(folder_a), cases(folder_b)
    if a is None or b is None:
        return []
    both = [i for i in a if i in b]
    same = sum(a[i].get("raw_text") == b[i].get("raw_text") for i in both)
    out = ["", f"Same raw answer in A and B: {same} of the {len(both)} questions both asked."]
    changed = [(i, a[i]["verdict"]["outcome"], b[i]["verdict"]["outcome"]) for i in both
               if a[i].get("verdict", {}).get("outcome") != b[i].get("verdict", {}).get("outcome")]
    if changed:
        out += ["", "| question | A | B |", "| --- | --- | --- |"]
        out += [f"| {i} | {x} | {y} |" for i, x, y in changed]
    better = sum(good(b[i]) and not good(a[i]) for i in both)
    worse = sum(good(a[i]) and not good(b[i]) for i in both)
    out += ["", f"Right in B only: {better}; right in A only: {worse} (lenient, or a correct refusal; sign test "
                f"p = {sign_test(better, worse):.2f}, and a p above 0.05 is a split that chance alone gives often)."]
    return out


def good(case: dict) -> bool:
    """Right as the headline counts it: an answerable question answered right (lenient), an
    unanswerable one refused."""
    verdict = case.get("verdict") or {}
    if not case.get("answerable", True):
        return bool(case.get("refused"))
    if verdict.get("lenient") is None:
        return verdict.get("outcome") == "correct"
    return not case.get("refused") and verdict["lenient"] == 1


def sign_test(better: int, worse: int) -> float:
    """Two-sided exact sign test: how likely a split of the changed questions at least this
    uneven is if each were as likely to go either way. A small model answers many questions
    differently after any change of its prompt, so a few more right answers are often chance."""
    n = better + worse
    tail = sum(math.comb(n, i) for i in range(min(better, worse) + 1))
    return min(1.0, 2 * tail / 2 ** n)
