"""The real entry points in their own processes (`rag ingest`, `ask`, `docs`, `serve`, `eval`), with
the fake presets (embedder = "fake", model = "fake") so that no model loads; the same commands with
the real models are in test_wheel.py and test_real_stack.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from live_server import ServeProcess, free_port
from rag import Answer
from rag.fakes import FakeGenerator

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "sentence_transformers", "transformers", "llama_cpp", "faiss", "gradio", "bm25s")
FAKES = ["--embedder", "fake", "--model", "fake"]


def env() -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}


def rag(*args, cwd, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], cwd=cwd, env=env(), capture_output=True,
                          text=True, timeout=300, **kwargs)


def loaded_after(code: str, cwd) -> tuple[list[str], str]:
    """The heavy modules in sys.modules after running `code` in a fresh interpreter, and its output."""
    script = f"import json, sys\n{code}\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    run = subprocess.run([sys.executable, "-c", script], cwd=cwd, env=env(), capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    *output, last = run.stdout.strip().splitlines()
    return json.loads(last), "\n".join(output)


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def test_import_rag_loads_no_model_library(tmp_path):
    assert loaded_after("import rag", tmp_path)[0] == []


def test_python_dash_m_rag_is_the_rag_command(tmp_path):
    run = subprocess.run([sys.executable, "-m", "rag", "--help"], cwd=tmp_path, env=env(), capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.startswith("usage: rag") and "ingest" in run.stdout


def test_rag_docs_loads_no_model(tmp_path, docs_dir):
    assert rag(*FAKES, "ingest", str(docs_dir), cwd=tmp_path).returncode == 0
    # the default settings name the real embedder and model: listing the documents loads neither
    loaded, output = loaded_after("from rag.cli import main\nassert main(['docs']) == 0", tmp_path)
    assert loaded == [] and "fruit.txt" in output and "space.md" in output
    assert f"index {tmp_path / 'index'}:" in output  # the default index is ./index
    # nor does the library: rag.open names the models and loads them on first use only
    loaded, output = loaded_after("import rag\nbot = rag.open('index')\nprint([f.name for f in bot.documents()], "
                                  "bot.status()['chunks'])", tmp_path)
    assert loaded == [] and output == "['fruit.txt', 'space.md'] 2"


def test_rag_ask_json_is_the_answers_to_dict(tmp_path, docs_dir):
    assert rag(*FAKES, "ingest", str(docs_dir), cwd=tmp_path).returncode == 0
    run = rag(*FAKES, "ask", "--json", "What colour are bananas?", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert answer["text"] == "Bananas are yellow [1]." and answer["refused"] is False
    assert [c["name"] for c in answer["citations"]] == ["fruit.txt"] and answer["passages"][0]["n"] == 1
    assert set(answer) == set(Answer(question="", text="").to_dict())
    plain = rag(*FAKES, "ask", "Who won the 1998 World Cup?", cwd=tmp_path)
    assert plain.returncode == 0 and plain.stdout.startswith("I could not find the answer")


def test_rag_serve_answers_in_the_browser_page_and_the_api(tmp_path, docs_dir):
    port = free_port()
    command = [sys.executable, "-m", "rag.cli", *FAKES, "serve", "--ingest", str(docs_dir), "--port", str(port)]
    with ServeProcess(command, port, cwd=tmp_path, env=env()) as url:
        with urllib.request.urlopen(url + "/", timeout=30) as page:
            assert page.status == 200 and "gradio" in page.read().decode().lower()
        body = post(url + "/v1/chat/completions", {"messages": [{"role": "user", "content": "How many moons has Mars?"}]})
    assert body["choices"][0]["message"]["content"] == "Mars has two moons [1]."
    assert body["citations"][0]["name"] == "space.md" and body["refused"] is False


def test_rag_eval_on_a_question_file(tmp_path, docs_dir):
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        json.dumps({"id": "banana", "question": "What colour are bananas?", "answers": ["yellow"],
                    "sources": ["fruit.txt"]}) + "\n"
        + json.dumps({"id": "cup", "question": "Who won the 1998 World Cup?", "answerable": False}) + "\n")
    assert rag(*FAKES, "ingest", str(docs_dir), cwd=tmp_path).returncode == 0
    run = rag(*FAKES, "eval", str(questions), "--out", str(tmp_path / "report"), cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    cases = [json.loads(line) for line in (tmp_path / "report" / "cases.jsonl").read_text().splitlines()]
    assert {c["id"]: c["verdict"]["outcome"] for c in cases} == {"banana": "correct", "cup": "correct refusal"}
    # --tag runs the questions of one type only; a tag no question has is a one-line error
    tagged = tmp_path / "tagged.jsonl"
    tagged.write_text("\n".join(json.dumps(dict(json.loads(line), tags=[tag])) for line, tag in
                                zip(questions.read_text().splitlines(), ["number", "unanswerable"])) + "\n")
    run = rag(*FAKES, "eval", str(tagged), "--tag", "unanswerable", "--out", str(tmp_path / "one"), cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert [json.loads(line)["id"] for line in (tmp_path / "one" / "cases.jsonl").read_text().splitlines()] == ["cup"]
    run = rag(*FAKES, "eval", str(tagged), "--tag", "list", cwd=tmp_path)
    assert run.returncode != 0 and "no question has the tag" in run.stderr and "Traceback" not in run.stderr


def test_the_extractive_fake_answers_from_the_passage_the_question_is_about():
    fake = FakeGenerator(extractive=True)
    prompt = ("Example passages:\n[1] (report.txt)\nAcme will spend $2 billion.\n\nPassages:\n"
              "[1] (fruit.txt)\nApples are red. Bananas are yellow.\n\n[2] (space.md)\nMars has two moons.\n\n"
              "Question: What colour are bananas?")
    assert "".join(fake.stream([{"role": "user", "content": prompt}])) == "Bananas are yellow [1]."
    assert "".join(fake.stream([{"role": "user", "content": "Rewrite this."}])).startswith("I could not find")


def test_two_rag_serve_processes_on_one_index_see_each_others_document_changes(tmp_path, docs_dir):
    """Several app servers on one index folder (the file store): what one writes, the other answers
    from, and a change by a third process (the CLI) reaches both."""
    def ask(url, question):
        body = post(url + "/v1/chat/completions", {"messages": [{"role": "user", "content": question}]})
        return body["choices"][0]["message"]["content"], [c["name"] for c in body["citations"]]

    serve = [sys.executable, "-m", "rag.cli", *FAKES, "serve"]
    first_port, second_port = free_port(), free_port()
    with ServeProcess([*serve, "--ingest", str(docs_dir / "fruit.txt"), "--port", str(first_port)], first_port,
                      cwd=tmp_path, env=env()) as first:
        with ServeProcess([*serve, "--ingest", str(docs_dir / "space.md"), "--port", str(second_port)],
                          second_port, cwd=tmp_path, env=env()) as second:
            assert ask(first, "How many moons has Mars?") == ("Mars has two moons [1].", ["space.md"])
            assert ask(second, "What colour are bananas?") == ("Bananas are yellow [1].", ["fruit.txt"])
            assert rag(*FAKES, "remove", "space.md", cwd=tmp_path).returncode == 0
            for url in (first, second):
                text, cited = ask(url, "How many moons has Mars?")
                assert text.startswith("I could not find the answer") and cited == []
