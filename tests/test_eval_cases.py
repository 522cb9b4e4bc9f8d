"""The question-set format: loading, defaults and clear errors."""

import json
from pathlib import Path

import pytest

from rag.eval.cases import Case, CaseError, as_cases, load_cases, matches, select_split, select_tag
from rag.types import Chunk


def write(path, *lines):
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def test_load_cases_with_defaults(tmp_path):
    path = write(tmp_path / "q.jsonl",
                 {"question": " What colour are bananas? ", "answers": ["yellow"], "sources": ["fruit.txt"]},
                 "",
                 {"question": "Who won?", "answerable": False, "id": "nope", "tags": ["unanswerable"]},
                 {"question": "And apples?", "history": [["What colour are bananas?", "Yellow [1]."]]})
    cases = load_cases(path)
    assert [c.id for c in cases] == ["q001", "nope", "q004"]
    assert cases[0] == Case(question="What colour are bananas?", answers=("yellow",), sources=("fruit.txt",),
                            id="q001")
    assert not cases[1].answerable and cases[1].tags == ("unanswerable",)
    assert cases[2].history == (("What colour are bananas?", "Yellow [1]."),)


@pytest.mark.parametrize("line, message", [
    ('{"question": "x", "answer": ["y"]}', "unknown field 'answer'"),
    ('{"answers": ["y"]}', "'question' is missing"),
    ('{"question": "x", "answers": "y", "answerable": "no"}', "'answerable' must be true or false"),
    ('{"question": "x", "answers": [1]}', "'answers' must be a list of non-empty strings"),
    ('{"question": "x", "answers": ["y"], "answerable": false}', "answers' given for a question marked"),
    ('{"question": "x", "history": [["only one"]]}', "'history' must be a list of"),
    ('{"question": "x",}', "not valid JSON"),
    ('["x"]', "expected a JSON object"),
    ('{"question": "x", "split": "test"}', "'split' must be one of 'tune', 'heldout'"),
    ('{"question": "x", "split": ["tune"]}', "'split' must be one of"),
])
def test_errors_name_the_line_and_the_problem(tmp_path, line, message):
    path = write(tmp_path / "q.jsonl", {"question": "fine"}, line)
    with pytest.raises(CaseError, match=message) as e:
        load_cases(path)
    assert str(e.value).startswith(f"{path}:2: ")


def test_missing_empty_and_duplicate(tmp_path):
    with pytest.raises(CaseError, match="not found"):
        load_cases(tmp_path / "nothing.jsonl")
    with pytest.raises(CaseError, match="holds no questions"):
        load_cases(write(tmp_path / "empty.jsonl", ""))
    with pytest.raises(CaseError, match="id 'a' is used by more than one"):
        as_cases([{"question": "x", "id": "a"}, {"question": "y", "id": "a"}])


def test_as_cases_accepts_dicts_cases_and_paths(tmp_path):
    cases = as_cases([{"question": "x"}, Case(question="y")])
    assert [c.id for c in cases] == ["q001", "q002"]
    assert as_cases(write(tmp_path / "q.jsonl", {"question": "z"}))[0].question == "z"


def test_a_gold_source_matches_by_chunk_id_path_name_or_tail():
    chunk = Chunk(id="abc:0-10", source="/data/docs/fruit.txt", text="Apples", start=0, end=10)
    for source in ("abc:0-10", "/data/docs/fruit.txt", "fruit.txt", "docs/fruit.txt"):
        assert matches(chunk, source)
    for source in ("ruit.txt", "space.md", "abc:0-11"):
        assert not matches(chunk, source)


def test_split_is_read_kept_and_selects_questions(tmp_path):
    path = write(tmp_path / "q.jsonl", {"question": "a", "split": "tune"}, {"question": "b", "split": "heldout"},
                 {"question": "c"}, {"question": "d", "split": "heldout"})
    cases = load_cases(path)
    assert [c.split for c in cases] == ["tune", "heldout", "", "heldout"]
    assert cases[0].to_dict()["split"] == "tune" and cases[2].to_dict()["split"] == ""
    assert [c.question for c in select_split(cases, "heldout")] == ["b", "d"]
    assert [c.question for c in select_split(cases, "tune")] == ["a"]
    assert select_split(cases, None) == cases


def test_select_split_errors_on_an_unknown_or_empty_split():
    cases = as_cases([{"question": "a", "split": "tune"}])
    with pytest.raises(CaseError, match="'split' must be one of"):
        select_split(cases, "test")
    with pytest.raises(CaseError, match='no question has "split": "heldout"'):
        select_split(cases, "heldout")


def test_a_tag_selects_its_questions_and_an_unknown_tag_is_an_error():
    cases = as_cases([{"question": "a", "tags": ["yes-no"]}, {"question": "b", "tags": ["when"]},
                      {"question": "c", "tags": ["yes-no", "two-docs"]}])
    assert [c.question for c in select_tag(cases, "yes-no")] == ["a", "c"]
    assert select_tag(cases, None) == cases
    with pytest.raises(CaseError, match="tags in the set: two-docs, when, yes-no"):
        select_tag(cases, "list")


def test_every_committed_question_set_loads_and_each_unsettled_set_has_both_halves():
    root = Path(__file__).resolve().parent.parent
    sets = sorted((root / "benchmarks" / "suites").glob("*/*.jsonl")) + [root / "rag" / "eval" / "data" / "dev.jsonl"]
    assert len(sets) >= 9
    for path in sets:
        cases = load_cases(str(path))
        assert cases, path
        if path.name == "unsettled_yes_no.jsonl":
            assert all(not c.answerable and "yes-no" in c.tags for c in cases)
            assert select_split(cases, "tune") and select_split(cases, "heldout")
