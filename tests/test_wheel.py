"""A built wheel, installed (not editable) into a fresh virtual environment outside the checkout,
ingests, answers, serves the browser chat and runs `rag eval`, from a folder outside the checkout,
with the real models. The new environment reuses the test environment's installed dependencies
(a .pth file naming its site-packages) instead of downloading them; its own copy of rag comes first,
and the test environment's editable install of rag is not used (checked)."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from live_server import ServeProcess, free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("pyproject.toml", "README.md", "rag", "ui", "prompts")


def run(command, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


def build_wheel(out: Path) -> Path:
    """The wheel of a copy of the source (the build leaves nothing in the checkout); offline."""
    source = out / "source"
    source.mkdir()
    for name in SHIPPED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         str(source), "-w", str(out / "dist")])
    (wheel,) = (out / "dist").glob("rag-*.whl")
    return wheel


def fresh_venv(where: Path, wheel: Path) -> Path:
    """A new virtual environment with the wheel installed; the dependencies come from ours."""
    run([sys.executable, "-m", "venv", "--without-pip", str(where)])
    python = where / "bin" / "python"
    purelib = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    # a path in a .pth file joins sys.path after the venv's own site-packages, and the .pth files
    # found there (our editable install of rag among them) are not run
    (purelib / "test-environment.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)])
    return where


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    build = tmp_path_factory.mktemp("wheel")
    return fresh_venv(build / "venv", build_wheel(build))


@pytest.fixture
def work(tmp_path) -> Path:
    """A folder outside the checkout with two documents and two questions."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "fruit.txt").write_text("Apples are red. Bananas are yellow. Cherries are small and dark red.\n")
    (docs / "space.md").write_text("# Space\nThe Moon orbits the Earth every 27 days. Mars has two moons.\n")
    (tmp_path / "questions.jsonl").write_text(
        json.dumps({"id": "banana", "question": "What colour are bananas?", "answers": ["yellow"],
                    "sources": ["fruit.txt"]}) + "\n"
        + json.dumps({"id": "cup", "question": "Who won the 1998 World Cup?", "answerable": False}) + "\n")
    assert ROOT not in tmp_path.resolve().parents
    return tmp_path


def clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("RAG_")}
    return {**env, "HF_HUB_OFFLINE": "1", "RAG_N_THREADS": "2", "RAG_MAX_TOKENS": "48"}


def test_the_installed_package_is_the_wheels_copy(venv, work):
    where = run([str(venv / "bin" / "python"), "-c",
                 "import importlib.util, json, rag\n"
                 "print(json.dumps([rag.__file__, importlib.util.find_spec('ui.app').origin, "
                 "rag.Settings().prompts_dir]))"], cwd=work, env=clean_env()).stdout
    files = [Path(p).resolve() for p in json.loads(where)]
    assert all(venv.resolve() in p.parents for p in files), files
    assert (files[2] / "answer.txt").is_file()


def test_the_installed_rag_ingests_asks_serves_and_evaluates(venv, work):
    rag, env = str(venv / "bin" / "rag"), clean_env()
    out = run([rag, "ingest", "docs"], cwd=work, env=env).stdout
    assert "2 added" in out and (work / "index").is_dir()

    answer = json.loads(run([rag, "--model", "smollm2-135m", "ask", "--json", "What colour are bananas?"],
                            cwd=work, env=env).stdout)
    assert answer["text"] and answer["passages"][0]["name"] == "fruit.txt"

    port = free_port()
    with ServeProcess([rag, "--model", "smollm2-135m", "serve", "--port", str(port)], port, cwd=work,
                      env=env) as url:
        with urllib.request.urlopen(url + "/", timeout=60) as page:
            assert page.status == 200 and "gradio" in page.read().decode().lower()
        request = urllib.request.Request(
            url + "/v1/chat/completions", headers={"Content-Type": "application/json"},
            data=json.dumps({"messages": [{"role": "user", "content": "How many moons has Mars?"}]}).encode())
        with urllib.request.urlopen(request, timeout=300) as response:
            body = json.loads(response.read())
    assert body["choices"][0]["message"]["content"] and body["passages"][0]["name"] == "space.md"

    out = run([rag, "--model", "smollm2-135m", "eval", "questions.jsonl", "--out", "report"], cwd=work, env=env)
    assert "report written to report" in out.stdout
    cases = [json.loads(line) for line in (work / "report" / "cases.jsonl").read_text().splitlines()]
    assert [c["id"] for c in cases] == ["banana", "cup"] and all(c["error"] is None for c in cases)
