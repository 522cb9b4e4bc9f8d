"""rag.evaluate with the fakes, the report folder, rag eval (question set, benchmarks, compare),
one end-to-end run on the real stack, and the opt-in SciFact anchor reproduction."""

import json
import os
from argparse import Namespace

import pytest

import rag
from rag.config import Settings
from rag.eval import bench
from rag.eval.cli import run
from rag.eval.cases import as_cases
from rag.eval.harness import evaluate, judge, threshold_points
from rag.eval.report import compare, load_report, sign_test
from rag.types import Answer

from helpers import BENCH, CORPUS

REFUSAL = "I could not find the answer in your documents."
FILES = {"report.json", "report.md", "cases.jsonl", "latency.png", "correctness.png", "recall_at_k.png",
         "refusal_tradeoff.png"}

CASES = [
    {"id": "banana", "question": "What colour are bananas?", "answers": ["yellow"], "sources": ["fruit.txt"]},
    {"id": "moon", "question": "How long does the Moon take to orbit the Earth?", "answers": ["27 days"],
     "sources": ["space.md"]},
    {"id": "cup", "question": "What colour are the moons of Mars?", "answerable": False},
    {"id": "cherry", "question": "What colour are cherries?", "answers": ["dark red"], "sources": ["fruit.txt"]},
]
REPLIES = ["Bananas are yellow [1].", "The Moon orbits the Earth every 72 days [1].", REFUSAL, REFUSAL]


@pytest.fixture
def bot(make_bot, docs_dir):
    b = make_bot()
    b.ingest([docs_dir])
    return b


def cli_args(*positional, **options):
    defaults = dict(bench=None, data=None, out=None, sample=None, seed=0, retriever="dense", limit=None)
    return Namespace(args=list(positional), **{**defaults, **options})


def write_cases(path, cases=CASES):
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    return path


def test_evaluate_judges_every_case(bot, fake_generator):
    fake_generator.queue(*REPLIES)
    report = rag.evaluate(bot, CASES)
    verdicts = {c["id"]: c["verdict"] for c in report.cases}
    assert verdicts["banana"]["outcome"] == "correct" and verdicts["banana"]["contains"] == 1.0
    # the made-up 72 is caught: verification refuses, the model's own output has a hallucinated number
    assert verdicts["moon"]["outcome"] == "refused" and verdicts["moon"]["refusal_kind"] == "verification"
    assert verdicts["moon"]["model_unsupported_numbers"] == ["72"]
    assert verdicts["cup"]["outcome"] == "correct refusal" and verdicts["cup"]["refusal_kind"] == "model"
    assert verdicts["cherry"]["outcome"] == "refused"
    assert report.value("answer.contains") == pytest.approx(1 / 3)
    assert report.value("answer.model_contains") == pytest.approx(1 / 3)
    assert report.metrics["answer"]["contains"]["n"] == 3
    assert verdicts["banana"]["lenient"] == 1.0 and verdicts["cherry"]["lenient"] == 0.0  # a refusal is not right
    assert verdicts["cup"]["lenient"] is None
    assert report.value("answer.lenient") == pytest.approx(1 / 3) and report.metrics["answer"]["lenient"]["n"] == 3
    assert report.metrics["answer"]["lenient"]["ci95"] == [0.0, 1.0]
    assert "split" not in report.info  # no question carries a split
    assert report.value("refusal.recall") == 1.0 and report.metrics["refusal"]["recall"]["n"] == 1
    assert report.value("refusal.precision") == pytest.approx(1 / 3)
    assert report.value("refusal.over_refusal") == pytest.approx(2 / 3)
    assert report.value("citations.support") == 1.0 and report.value("citations.model_support") == 0.5
    assert report.value("numbers.model_hallucinated_numbers") == 1.0
    assert report.value("retrieval.hit@1") == 1.0 and report.metrics["retrieval"]["hit@1"]["n"] == 3
    assert report.metrics["counts"]["refused by: verification"]["value"] == 1
    assert report.value("speed.total_s_p50") > 0 and report.info["index"]["documents"] == 2
    assert not report.partial and report.info["done"] == 4
    record = report.cases[0]
    assert record["answer"] == "Bananas are yellow [1]." and record["citations"][0]["n"] == 1
    assert record["passages"] and record["timings"]["total_s"] > 0


def test_the_report_gives_each_stages_time_and_the_stage_of_each_refusal(bot, fake_generator, tmp_path):
    fake_generator.queue(*REPLIES)
    report = rag.evaluate(bot, CASES + [{"id": "zorb", "question": "Who is Zorblax?", "answerable": False}])
    assert [c["refusal_stage"] for c in report.cases] == ["", "check", "generate", "generate", "retrieve"]
    for stage in ("plan_ms", "retrieve_ms", "context_ms", "generate_s", "check_ms"):
        assert report.value(f"speed.{stage}_p50") > 0, stage
    assert report.metrics["speed"]["generate_s_p50"]["n"] == 4  # not the question refused before generation
    t = report.cases[0]["timings"]  # retrieve_s is the searches alone; retrieval_ms is all before generation
    assert t["retrieve_s"] < t["plan_s"] + t["retrieve_s"] + t["context_s"]
    md = (report.save(tmp_path / "r") / "report.md").read_text()
    assert "| plan_ms_p50 |" in md and "| check_ms_p50 |" in md
    assert "| first token s | plan / retrieve / context / generate / check s | question |" in md
    assert "| unsupported | 1 | 0 | 1 | 0 | check |" in md
    assert "| no-relevant-passages | 1 | 1 | 0 | 0 | retrieve |" in md


def test_history_is_passed_to_the_bot(make_bot, docs_dir, fake_generator):
    bot = make_bot(rewrite=False)
    bot.ingest([docs_dir])
    fake_generator.queue("Cherries are small and dark red [1].")
    case = {"question": "And cherries?", "answers": ["dark red"],
            "history": [["What colour are bananas?", "Bananas are yellow [1]."]]}
    report = evaluate(bot, [case])
    contents = [msg["content"] for msg in fake_generator.seen[-1]]
    assert "What colour are bananas?" in contents and "Bananas are yellow [1]." in contents
    assert report.cases[0]["verdict"]["outcome"] == "correct"


def test_a_report_never_holds_the_password_or_the_api_key(make_bot, docs_dir, fake_generator, tmp_path):
    bot = make_bot(password="hunter2-secret", api_key="key-0123456789")
    bot.ingest([docs_dir])
    fake_generator.queue("Bananas are yellow [1].")
    report = evaluate(bot, [{"question": "What colour are bananas?", "answers": ["yellow"]}])
    assert report.info["settings"]["password"] == "***" and report.info["settings"]["api_key"] == "***"
    report.save(tmp_path / "r")
    written = "".join(p.read_text(errors="replace") for p in (tmp_path / "r").iterdir() if p.suffix != ".png")
    assert "hunter2-secret" not in written and "key-0123456789" not in written


def test_a_failing_question_is_recorded_and_ctrl_c_stops_with_a_partial_report(bot, fake_generator, monkeypatch):
    real_ask = bot.ask
    calls = []

    def ask(question, history=(), k=None):
        calls.append(question)
        if len(calls) == 2:
            raise RuntimeError("model crashed")
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_ask(question, history, k)
    monkeypatch.setattr(bot, "ask", ask)
    fake_generator.queue(REPLIES[0])
    report = evaluate(bot, CASES)
    assert report.partial and report.info["done"] == 2 and report.info["questions"] == 4
    assert report.cases[1]["error"] == "RuntimeError: model crashed"
    assert report.metrics["counts"]["errors"]["value"] == 1
    assert report.metrics["answer"]["contains"]["n"] == 1


def test_threshold_points_sweep_a_min_score():
    records = [{"answerable": True, "refused": False, "best_dense": 0.6},
               {"answerable": True, "refused": False, "best_dense": 0.3},
               {"answerable": False, "refused": False, "best_dense": 0.2},
               {"answerable": False, "refused": True, "best_dense": 0.5}]
    points = threshold_points(records, [0.0, 0.25, 0.4])
    assert points == [(0.0, 0.5, 0.0), (0.25, 1.0, 0.0), (0.4, 1.0, 0.5)]
    assert threshold_points(records[:2]) == []  # no unanswerable questions: nothing to trade off


def test_report_folder_has_every_file(bot, fake_generator, tmp_path):
    fake_generator.queue(*REPLIES)
    report = evaluate(bot, CASES, name="fruit")
    out = report.save(tmp_path / "report")
    assert FILES <= {p.name for p in out.iterdir()}
    data = load_report(out)
    assert data["metrics"]["answer"]["contains"]["value"] == pytest.approx(1 / 3)
    assert data["info"]["git"]["commit"] and data["info"]["settings"]["top_k"] == 4
    lines = (out / "cases.jsonl").read_text().splitlines()
    assert [json.loads(x)["id"] for x in lines] == ["banana", "moon", "cup", "cherry"]
    md = (out / "report.md").read_text()
    assert "# Evaluation: fruit" in md and "| contains | 0.333 |" in md and "![latency](latency.png)" in md
    assert "| lenient | 0.333 |" in md and "answerable right (lenient) 1/3; correct refusals 1/1" in md
    assert "gold in the passages the model read: " in md and "gold document in top 5: 1.000 (n=3)" in md
    assert data["breakdown"]["overall"]["right"] == 1 and data["breakdown"]["by_tag"] == {}


def test_cli_question_set_then_compare(make_bot, bot, fake_generator, tmp_path, capsys):
    questions = write_cases(tmp_path / "questions.jsonl")
    fake_generator.queue(*REPLIES)
    assert run(make_bot, cli_args(str(questions), out=str(tmp_path / "a"))) == 0
    assert FILES <= {p.name for p in (tmp_path / "a").iterdir()}
    fake_generator.queue(REPLIES[0], "The Moon orbits the Earth every 27 days [1].", REFUSAL, REFUSAL)
    assert run(make_bot, cli_args(str(questions), out=str(tmp_path / "b"), limit=3)) == 0
    out = capsys.readouterr().out
    assert "report written to" in out and "answer.contains" in out

    table_file = tmp_path / "cmp.md"
    assert run(make_bot, cli_args("compare", str(tmp_path / "a"), str(tmp_path / "b"), out=str(table_file))) == 0
    table = capsys.readouterr().out
    assert table == table_file.read_text()
    assert "| done | 4 | 3 |" in table
    row = next(line for line in table.splitlines() if line.startswith("| answer.contains |"))
    assert row.split("|")[2].strip() == "0.333" and row.split("|")[6].strip().startswith("+0.667")
    row = next(line for line in table.splitlines() if line.startswith("| answer.lenient |"))
    assert row.split("|")[2].strip() == "0.333" and row.split("|")[6].strip().startswith("+0.667")
    # the moon answer (withheld: 72 days is not in the passage) is right in B; the other two are the same
    assert "Same raw answer in A and B: 2 of the 3 questions both asked." in table
    assert "| moon | refused | correct |" in table
    assert "Right in B only: 1; right in A only: 0 (lenient, or a correct refusal; sign test p = 1.00" in table


def test_a_sign_test_tells_a_few_changed_answers_from_a_lopsided_split():
    assert sign_test(0, 0) == 1.0 and sign_test(1, 0) == 1.0 and sign_test(2, 3) == 1.0
    assert sign_test(0, 6) == sign_test(6, 0) == 2 / 64
    assert abs(sign_test(2, 8) - 2 * (1 + 10 + 45) / 1024) < 1e-12


SPLIT_CASES = [{**CASES[0], "split": "tune", "tags": ["colours"]}, {**CASES[1], "split": "heldout"},
               {**CASES[2], "split": "heldout", "tags": ["unanswerable"]}, {**CASES[3], "split": "tune"}]


def test_a_split_runs_only_its_questions_and_is_named_in_the_setup(bot, fake_generator, tmp_path):
    fake_generator.queue(REPLIES[1], REPLIES[2])
    report = evaluate(bot, SPLIT_CASES, split="heldout")
    assert [c["id"] for c in report.cases] == ["moon", "cup"] and report.info["questions"] == 2
    assert report.info["split"] == "heldout" and report.cases[0]["split"] == "heldout"
    md = (report.save(tmp_path / "r") / "report.md").read_text()
    assert "| split | heldout |" in md
    assert "| unanswerable | 1 | - | 1/1 (1.000) |" in md  # the per-tag table
    fake_generator.queue(*REPLIES)
    assert evaluate(bot, SPLIT_CASES).info["split"] == "all"


def test_cli_split_option(make_bot, bot, fake_generator, tmp_path):
    questions = write_cases(tmp_path / "questions.jsonl", SPLIT_CASES)
    fake_generator.queue(REPLIES[0], REPLIES[3])
    assert run(make_bot, cli_args(str(questions), out=str(tmp_path / "t"), split="tune")) == 0
    data = load_report(tmp_path / "t")
    assert data["info"]["split"] == "tune" and data["info"]["questions"] == 2
    assert data["name"] == f"{tmp_path.name}-tune"  # suites/NAME/questions.jsonl is named NAME
    with pytest.raises(rag.RagError, match="'split' must be one of"):
        run(make_bot, cli_args(str(questions), split="test"))


def test_compare_function_marks_the_setup_change(bot, fake_generator, tmp_path):
    fake_generator.queue(*REPLIES, *REPLIES)
    evaluate(bot, CASES).save(tmp_path / "a")
    report = evaluate(bot, CASES, k=2)
    report.save(tmp_path / "b")
    table = compare(tmp_path / "a", tmp_path / "b")
    assert "| k | 4 | 2 |" in table and "| answer.contains | 0.333 | 3 | 0.333 | 3 | +0.000 |" in table


def test_cli_errors_are_rag_errors(make_bot, tmp_path):
    questions = write_cases(tmp_path / "questions.jsonl")
    with pytest.raises(rag.RagError, match="is empty: rag ingest"):
        run(make_bot, cli_args(str(questions)))
    with pytest.raises(rag.RagError, match="usage"):
        run(make_bot, cli_args())
    with pytest.raises(rag.RagError, match="usage: rag eval compare"):
        run(make_bot, cli_args("compare", "only-one"))
    with pytest.raises(rag.RagError, match="No report at"):
        run(make_bot, cli_args("compare", str(tmp_path / "x"), str(tmp_path / "y")))
    with pytest.raises(rag.RagError, match="Unknown retriever"):
        run(make_bot, cli_args(bench="scifact", data=str(tmp_path), retriever="magic"))
    with pytest.raises(rag.RagError, match="corpus.jsonl not found"):
        run(make_bot, cli_args(bench="scifact", data=str(tmp_path)))


# ---------- benchmarks on tiny stand-ins ----------

def tiny_beir(folder):
    docs = {"d1": ("Aspirin", "Aspirin reduces the risk of heart attacks."),
            "d2": ("Vitamin D", "Vitamin D deficiency is linked to bone fractures."),
            "d3": ("Sleep", "Sleep loss impairs memory consolidation."),
            "d4": ("Exercise", "Regular exercise lowers blood pressure.")}
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": i, "title": t, "text": x, "metadata": {}}) + "\n" for i, (t, x) in docs.items()))
    queries = {"1": "aspirin heart attacks", "2": "vitamin bone fractures", "3": "sleep memory", "9": "unjudged"}
    (folder / "queries.jsonl").write_text("".join(json.dumps({"_id": i, "text": t}) + "\n" for i, t in queries.items()))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n1\td1\t1\n2\td2\t1\n3\td3\t1\n3\td4\t1\n")
    return folder


@pytest.mark.parametrize("retriever", ["bm25", "dense", "hybrid"])
def test_scifact_on_a_tiny_beir_folder(make_bot, tmp_path, retriever):
    data = tiny_beir(tmp_path / "beir")
    report = bench.scifact(make_bot, data, retriever=retriever, progress=False, cache=tmp_path / "cache")
    assert report.info["questions"] == 3 and report.metrics["retrieval"]["ndcg@10"]["n"] == 3
    assert report.value("retrieval.hit@1") == 1.0
    assert report.cases[0]["verdict"]["retrieval"]["ndcg@10"] == 1.0
    assert report.cases[2]["verdict"]["retrieval"]["recall@1"] == 0.5
    assert report.info["index_documents"] == 4 and report.info["index"]["chunks"] == 4  # one chunk per document
    assert report.info["index"]["chunk_tokens"] == bench.WHOLE_DOCUMENT
    out = report.save(tmp_path / "out")
    written = {p.name for p in out.iterdir()}
    assert {"report.json", "report.md", "cases.jsonl", "recall_at_k.png", "latency.png"} <= written
    again = bench.scifact(make_bot, data, retriever=retriever, progress=False, cache=tmp_path / "cache")
    assert again.info["index_reused"] and again.value("retrieval.ndcg@10") == report.value("retrieval.ndcg@10")


def tiny_squad(path):
    def qa(i, question, answer=None):
        return {"id": f"id{i}", "question": question, "is_impossible": answer is None,
                "answers": [{"text": answer, "answer_start": 0}] if answer else [], "plausible_answers": []}
    data = {"version": "v2.0", "data": [
        {"title": "Fruit", "paragraphs": [
            {"context": "Bananas are yellow. Apples are red.",
             "qas": [qa(1, "What colour are bananas?", "yellow"), qa(2, "What colour are plums?")]},
            {"context": "Cherries are small and dark red.",
             "qas": [qa(3, "What colour are cherries?", "dark red"), qa(4, "How big are melons?")]}]},
        {"title": "Space", "paragraphs": [
            {"context": "The Moon orbits the Earth every 27 days.",
             "qas": [qa(5, "How often does the Moon orbit the Earth?", "every 27 days"),
                     qa(6, "How often does Mars orbit the Sun?")]}]}]}
    path.write_text(json.dumps(data))
    return path


def test_squad2_samples_a_seeded_mix_and_reuses_its_index(make_bot, fake_generator, tmp_path):
    data = tiny_squad(tmp_path / "dev-v2.0.json")
    cases = bench.squad_cases(bench.load_squad(data), sample=4, seed=0)
    assert sum(c.answerable for c in cases) == 2 and len({c.id for c in cases}) == 4
    assert cases == bench.squad_cases(bench.load_squad(data), sample=4, seed=0)
    assert all(c.sources[0] in ("Fruit-000.txt", "Fruit-001.txt", "Space-000.txt") for c in cases)
    with pytest.raises(rag.RagError, match="more than the data holds"):
        bench.squad_cases(bench.load_squad(data), sample=8)

    report = bench.squad2(make_bot, data, sample=4, seed=0, progress=False, cache=tmp_path / "cache")
    assert report.info["index_documents"] == 3 and not report.info["index_reused"]
    assert report.info["unknown_sources"] == [] and report.metrics["retrieval"]["hit@1"]["n"] == 2
    assert report.value("refusal.recall") == 1.0  # the fake model refuses everything
    assert report.value("refusal.over_refusal") == 1.0 and report.value("answer.exact_match_all") == 0.5
    again = bench.squad2(make_bot, data, sample=4, seed=0, limit=2, progress=False, cache=tmp_path / "cache")
    assert again.info["index_reused"] and [c["id"] for c in again.cases] == [c["id"] for c in report.cases[:2]]


# ---------- the real stack ----------

REAL_CASES = [
    {"id": "meta-capex", "question": "How much did Meta plan to spend on capital expenditures in 2025?",
     "answers": ["$60 billion", "more than $60 billion"],
     "sources": ["003_1e363a2095f710fa.txt", "004_75a344cfff7e9d22.txt"]},
    {"id": "lecun", "question": "Who is Meta's chief AI scientist?", "answers": ["Yann LeCun"],
     "sources": ["004_75a344cfff7e9d22.txt"]},
    {"id": "tesla-capex", "question": "How much has Tesla spent on AI-related capex so far?",
     "answers": ["approximately $5 billion", "$5 billion"], "sources": ["000_1ca4f3479bd6524a.txt"]},
    {"id": "mercury", "question": "What is the boiling point of mercury?", "answerable": False},
]


@pytest.mark.slow
def test_end_to_end_on_the_corpus_with_the_real_stack(real_bot, tmp_path):
    assert CORPUS.exists()
    report = evaluate(real_bot, REAL_CASES, name="corpus-smoke")
    assert report.info["done"] == 4 and report.info["model"]["id"] == "smollm2-135m"
    assert report.info["model"]["sha256"] and report.info["embedder"] == "all-MiniLM-L6-v2+onnx-int8"
    assert report.metrics["counts"]["errors"]["value"] == 0
    assert report.value("retrieval.recall@10") >= 2 / 3  # the Meta, LeCun and Tesla passages are findable
    assert report.value("speed.first_token_s_p50") > 0 and report.value("speed.tokens_per_s") > 0
    assert report.value("speed.prompt_tokens_p50") > 300  # the instructions alone are longer
    assert report.metrics["refusal"]["recall"]["n"] == 1 and report.metrics["answer"]["contains"]["n"] == 3
    out = report.save(tmp_path / "smoke")
    assert FILES <= {p.name for p in out.iterdir()}


# ---------- SciFact anchors (opt-in: about 10 minutes the first time, for the index) ----------

ANCHORS = {"dense": 0.645, "bm25": 0.665}  # nDCG@10: MTEB all-MiniLM-L6-v2; BEIR paper BM25


@pytest.mark.bench
@pytest.mark.parametrize("retriever", ["dense", "bm25"])
def test_scifact_reproduces_the_published_anchor(retriever, request):
    wanted = os.environ.get("RAG_RUN_BENCH") == "1" or request.config.getoption("--run-bench", default=False)
    if not wanted:
        pytest.skip("benchmark: set RAG_RUN_BENCH=1 or pass --run-bench")
    report = bench.scifact(lambda **kw: rag.Bot(Settings().replace(**kw)), BENCH / "scifact",
                           retriever=retriever, progress=False)
    assert report.info["done"] == 300
    assert report.value("retrieval.ndcg@10") == pytest.approx(ANCHORS[retriever], abs=0.01)


def test_a_questions_outcome_is_graded_as_the_headline_counts_it():
    def graded(text, answers):
        case = as_cases([{"question": "How much was the booster?", "answers": answers}])[0]
        return judge(case, Answer(question=case.question, text=text, raw_text=text), [], refusal="")

    # "£62.00" for "£62" and a reworded answer are right, as a person (and the lenient headline) judges
    assert graded("£62.00 [1]", ["£62"])["outcome"] == "correct"
    reworded = graded("The booster was given in the afternoon clinic.", ["afternoon booster clinic"])
    assert reworded["outcome"] == "correct" and reworded["contains"] == 0.0
    assert graded("Yes, it was £62 [1].", ["No", "£62"])["outcome"] == "wrong"  # the opposite of a Yes/No gold
    assert graded("£45 [1]", ["£62"])["outcome"] == "wrong"
