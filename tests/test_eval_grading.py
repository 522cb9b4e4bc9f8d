"""Grading the way people judge (the lenient verdict), the per-type and per-refusal-reason
breakdowns, and the refusal reasons and stages recorded from the Answer."""

import dataclasses

import pytest

from rag.eval import metrics as m
from rag.eval.harness import answer_record, breakdown, by_gold_read, by_tag, group_row, refusal_reasons, second_looks
from rag.eval.report import breakdown_lines, passages_line, summary_lines
from rag.types import Answer, Chunk, Hit


# ---------- the lenient verdict ----------

@pytest.mark.parametrize("prediction, gold, right", [
    ("Meta's chief AI scientist is Yann LeCun.", "Yann LeCun", 1.0),  # contained
    ("Exercise lowers the blood pressure.", "lower blood pressure in adults", 1.0),  # 3 of 4 content words
    ("alpha beta gamma", "alpha beta gamma delta epsilon", 1.0),  # 3 of 5 = 60%
    ("alpha beta", "alpha beta gamma delta epsilon", 0.0),  # 2 of 5
    ("They are red.", "dark red cherries", 0.0),
    ("It takes 27 days per orbit.", "orbits every 27 days", 1.0),
    ("It takes 72 days per orbit.", "orbits every 27 days", 0.0),  # the words are there, the number is not
    ("Every 72 days.", "27 days", 0.0),
    ("£62.00 [4]", "£62", 1.0),  # whole decimals are the number
    ("£62.50", "£62", 0.0),
    ("In version 3.10.", "3.1", 0.0),  # a version is not a decimal
])
def test_lenient_contains_or_most_content_words_and_every_number(prediction, gold, right):
    assert m.lenient_match(prediction, [gold]) == right


@pytest.mark.parametrize("prediction, gold, right", [
    ("Yes, it does.", "Yes", 1.0),
    ("**Yes** - the report says so.", "yes", 1.0),
    ("\"No.\" It was cancelled.", "No", 1.0),
    ("No, it does not.", "Yes", 0.0),
    ("It is not clear; yes or no cannot be said.", "Yes", 0.0),  # contains "yes", but does not start with it
    ("Not really.", "No", 0.0),
])
def test_lenient_yes_no_by_the_first_word(prediction, gold, right):
    assert m.lenient_match(prediction, [gold]) == right


def test_lenient_an_answer_opening_with_the_opposite_of_a_yes_no_gold_is_wrong():
    golds = ["No", "sage green"]
    assert m.lenient_match("No, it is sage green.", golds) == 1.0
    assert m.lenient_match("It is sage green.", golds) == 1.0
    assert m.lenient_match("Yes, the door is red and the shed sage green.", golds) == 0.0


def test_lenient_any_gold_counts_and_no_gold_or_no_answer():
    assert m.lenient_match("It is dark red.", ["crimson", "dark red"]) == 1.0
    assert m.lenient_match("anything", []) is None
    assert m.lenient_match("", ["dark red"]) == 0.0  # a refusal is stripped to nothing: never right
    assert m.lenient_match("   ", ["Yes"]) == 0.0


# ---------- breakdowns ----------

def record(answerable, refused, lenient=None, tags=(), reason="", in_passages=None, hit5=None, draft=None):
    return {"answerable": answerable, "refused": refused, "tags": list(tags), "refusal_reason": reason,
            "verdict": {"lenient": lenient, "answer_in_passages": in_passages, "retrieval": {"hit@5": hit5},
                        "model_lenient": draft}}


RECORDS = [
    record(True, False, 1.0, ["numbers"], in_passages=1.0, hit5=1.0),
    record(True, False, 0.0, ["numbers", "names"], in_passages=0.0, hit5=1.0),
    record(True, True, 0.0, ["names"], reason="unverified", in_passages=1.0, hit5=0.0),
    record(False, True, tags=["unanswerable"], reason="no-relevant-passages"),
    record(False, True, tags=["unanswerable"], reason="unverified"),
    record(False, False, tags=["unanswerable"]),
]


def test_group_row_counts_right_answers_refusals_and_where_the_gold_was():
    row = group_row(RECORDS)
    assert (row["questions"], row["right"], row["graded"]) == (6, 1, 3)
    assert row["right_rate"] == pytest.approx(1 / 3)
    assert (row["correct_refusals"], row["unanswerable"]) == (2, 3)
    assert row["refusal_recall"] == pytest.approx(2 / 3) and row["over_refusal"] == pytest.approx(1 / 3)
    assert row["gold_in_passages"] == pytest.approx(2 / 3) and row["hit@5"] == pytest.approx(2 / 3)


def test_by_tag_shows_the_weak_question_type():
    tags = by_tag(RECORDS)
    assert list(tags) == ["names", "numbers", "unanswerable"]  # a question counts under each of its tags
    assert (tags["numbers"]["right"], tags["numbers"]["graded"], tags["numbers"]["over_refusal"]) == (1, 2, 0.0)
    assert (tags["names"]["right"], tags["names"]["graded"], tags["names"]["over_refusal"]) == (0, 2, 0.5)
    assert tags["names"]["refusal_recall"] is None
    assert tags["unanswerable"]["refusal_recall"] == pytest.approx(2 / 3) and tags["unanswerable"]["graded"] == 0
    assert by_tag([record(True, False, 1.0)]) == {}  # nothing tagged: no table
    assert "(no tag)" in by_tag(RECORDS + [record(True, False, 1.0)])


def test_refusal_reasons_right_when_the_question_was_unanswerable():
    reasons = refusal_reasons(RECORDS)
    assert reasons == {"unverified": {"fired": 2, "right": 1, "wrong": 1, "right_draft": 0},
                       "no-relevant-passages": {"fired": 1, "right": 1, "wrong": 0, "right_draft": 0}}
    assert list(reasons) == ["unverified", "no-relevant-passages"]  # most fired first
    no_reasons = [{**r, "refusal_reason": ""} for r in RECORDS]
    assert refusal_reasons(no_reasons) == {}  # before the pipeline gives reasons: no table
    assert refusal_reasons(RECORDS + [record(True, True, 0.0)])["(none given)"] == {"fired": 1, "right": 0,
                                                                                     "wrong": 1, "right_draft": 0}
    # a check that withholds a right draft, and one that stops a wrong one
    withheld = [record(True, True, 0.0, reason="unsupported", draft=1.0),
                record(True, True, 0.0, reason="unsupported", draft=0.0)]
    assert refusal_reasons(withheld)["unsupported"] == {"fired": 2, "right": 0, "wrong": 2, "right_draft": 1}


def test_answers_are_split_by_whether_their_gold_was_read():
    rows = by_gold_read(RECORDS + [record(True, False, 1.0, in_passages=0.0), record(True, False, 1.0)])
    assert rows == {"read": {"questions": 2, "right": 1, "wrong": 0, "refused": 1},
                    "not read": {"questions": 2, "right": 1, "wrong": 1, "refused": 0}}
    assert list(rows) == ["read", "not read"]
    md = "\n".join(breakdown_lines(breakdown(RECORDS), METRICS))
    assert "| yes | 2 | 1 | 0 | 1 |" in md and "| no | 1 | 0 | 1 | 0 |" in md
    assert by_gold_read([record(True, False, 1.0), record(False, True)]) == {}  # no gold located: no table
    yes_no = {**record(True, False, 1.0, in_passages=0.0), "answers": ["Yes"]}
    assert by_gold_read([yes_no]) == {}


def test_second_looks_count_the_answers_they_gave_and_whether_they_were_right():
    looked = [{**record(True, False, 1.0), "second_look": True}, {**record(True, False, 0.0), "second_look": True},
              {**record(False, False), "second_look": True}, {**record(True, True, 0.0), "second_look": False}]
    assert second_looks(RECORDS + looked) == {"answered": 3, "right": 1, "wrong": 1, "unanswerable": 1}
    assert second_looks(RECORDS)["answered"] == 0
    lines = "\n".join(breakdown_lines(breakdown(RECORDS + looked), {}))
    assert "Second look (a withheld draft asked again over the best passage alone): 3 answered, 1 right, " \
           "1 wrong, 1 to unanswerable questions." in lines
    assert "Second look" not in "\n".join(breakdown_lines(breakdown(RECORDS), {}))


def test_breakdown_skips_errors_and_benchmark_records_without_answers():
    data = breakdown(RECORDS + [{"id": "x", "answerable": True, "error": "boom", "verdict": {"outcome": "error"}},
                                {"id": "q1", "verdict": {"retrieval": {"hit@5": 1.0}}}])
    assert data["overall"]["questions"] == 6
    assert set(data) == {"overall", "by_tag", "refusal_reasons", "by_gold_read", "second_looks"}
    assert breakdown([])["overall"]["questions"] == 0


METRICS = {"retrieval": {"answer_in_passages": m.stat(0.5, 4, None), "hit@5": m.stat(0.75, 4, None)}}


def test_markdown_breakdown_overall_line_tables_and_passages_beside_hits():
    md = "\n".join(breakdown_lines(breakdown(RECORDS), METRICS))
    assert "answerable right (lenient) 1/3; correct refusals 2/3" in md
    assert "gold in the passages the model read: 0.500 (n=4); gold document in top 5: 0.750 (n=4)" in md
    assert "| names | 2 | 0/2 (0.000) | - | 0.500 | 0.500 | 0.500 |" in md
    assert "| unanswerable | 3 | - | 2/3 (0.667) | - | - | - |" in md
    assert "| unverified | 2 | 1 | 1 |" in md and "| no-relevant-passages | 1 | 1 | 0 |" in md
    assert breakdown_lines(breakdown([]), METRICS) == []
    assert passages_line({"retrieval": {}}) is None


def test_summary_lines_give_lenient_and_the_overall_line():
    report = {"name": "suite", "info": {"done": 6, "questions": 6},
              "metrics": {"answer": {"lenient": m.stat(1 / 3, 3, (0.0, 1.0))}}, "breakdown": breakdown(RECORDS)}
    text = "\n".join(summary_lines(report))
    assert "answer.lenient" in text and "0.333  [0.000–1.000]  n=3" in text
    assert "answerable right (lenient) 1/3; correct refusals 2/3" in text


# ---------- refusal reasons from the Answer ----------

def test_answer_record_is_cut_from_to_dict():
    hit = Hit(chunk=Chunk(id="f:0-5", source="/d/f.txt", text="Apples are red.", start=0, end=5), score=0.5,
              rank=1, dense=0.5)
    answer = Answer(question="q", text="I could not find it.", refused=True, passages=(hit,),
                    refusal_reason="unsupported", refusal_stage="check")
    record = answer_record(answer)
    assert record["refusal_reason"] == "unsupported" and record["refusal_stage"] == "check"
    assert {k: record[k] for k in ("answer", "raw_text", "refused", "query", "second_look", "odds")} == {
        "answer": "I could not find it.", "raw_text": "", "refused": True, "query": "", "second_look": False,
        "odds": None}
    assert answer_record(dataclasses.replace(answer, odds={"Yes": 0.4, "No": 0.3}))["odds"] == {"Yes": 0.4, "No": 0.3}
    plain = answer_record(Answer(question="q", text="Apples are red [1].", passages=(hit,)))
    assert plain["refusal_reason"] == "" and plain["refusal_stage"] == ""


def test_who_refused_is_the_stage_that_decided_it():
    from rag.eval.harness import refusal_kind
    refused = Answer(question="q", text="I could not find it.", refused=True)
    assert [refusal_kind(dataclasses.replace(refused, refusal_stage=stage)) for stage in ("retrieve", "generate", "check")] \
        == ["retrieval", "model", "verification"]
    # a model that wrote nothing refused in the generate stage, whether or not it gave a first token
    assert refusal_kind(dataclasses.replace(refused, refusal_stage="generate", raw_text="")) == "model"
    assert refusal_kind(Answer(question="q", text="Apples are red.")) is None


REASON_CASES = [
    {"id": "banana", "question": "What colour are bananas?", "answers": ["yellow"], "sources": ["fruit.txt"]},
    {"id": "cherry", "question": "What colour are cherries?", "answers": ["dark red"], "sources": ["fruit.txt"]},
    {"id": "cup", "question": "What colour are the moons of Mars?", "answerable": False},
]


def test_evaluate_tables_the_refusal_reasons(make_bot, docs_dir, fake_generator, monkeypatch, tmp_path):
    from rag.eval.harness import evaluate
    bot = make_bot()
    bot.ingest([docs_dir])
    real_ask = bot.ask

    def ask(question, history=(), k=None):
        answer = real_ask(question, history, k)
        return dataclasses.replace(answer, refusal_reason="unverified" if answer.refused else "")
    monkeypatch.setattr(bot, "ask", ask)
    fake_generator.queue("Bananas are yellow [1].")  # then the fake model refuses
    report = evaluate(bot, REASON_CASES)
    assert [c["refusal_reason"] for c in report.cases] == ["", "unverified", "unverified"]
    assert report.to_dict()["breakdown"]["refusal_reasons"] == {"unverified": {"fired": 2, "right": 1, "wrong": 1,
                                                                                "right_draft": 0}}
    md = (report.save(tmp_path / "r") / "report.md").read_text()
    assert "## Refusal reasons" in md and "| unverified | 2 | 1 | 1 | 0 |" in md
    assert "| cherry | refused (model: unverified) | 0 |" in md


def test_a_number_written_in_words_grades_as_its_digits():
    assert m.lenient_match("12 months [1]", ["twelve months", "twelve"]) == 1.0
    assert m.lenient_match("Twenty-one people came [2].", ["21"]) == 1.0
    assert m.lenient_match("11 months [1]", ["twelve months"]) == 0.0


def test_a_whole_decimal_that_ends_a_sentence_is_graded_as_its_number():
    assert m.lenient_match("The default value is 1.0.", ["1.0"]) == 1.0
    assert m.lenient_match("It was added in 3.10.", ["3.1"]) == 0.0


def test_a_date_in_digits_grades_as_the_date_with_its_months_name():
    assert m.lenient_match("08/08/2025 [4]", ["8 August"]) == 1.0
    assert m.lenient_match("She bought it on 01/06/2025 [1].", ["2025-06-01"]) == 1.0
    assert m.lenient_match("12/25/2025", ["25 December"]) == 1.0  # not a month first: read month first
    assert m.lenient_match("07/08/2025 [4]", ["8 August"]) == 0.0
