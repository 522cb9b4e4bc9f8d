"""Fixtures: the fakes of rag/fakes.py for fast unit tests, and the real stack for slow ones."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import rag  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.fakes import FakeEmbedder, FakeGenerator  # noqa: E402

from helpers import CORPUS  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--run-bench", action="store_true", help="run the benchmark tests (SciFact anchors)")


@pytest.fixture
def fake_embedder():
    return FakeEmbedder()


@pytest.fixture
def fake_generator():
    return FakeGenerator()


@pytest.fixture
def make_bot(tmp_path, fake_embedder, fake_generator):
    """make_bot(**settings) -> Bot over a fresh index in tmp_path, with the fakes."""
    def make(**overrides):
        settings = Settings(index_dir=str(tmp_path / "index"), data_dir=str(tmp_path / "uploads"),
                            chunk_tokens=overrides.pop("chunk_tokens", 40),
                            chunk_overlap=overrides.pop("chunk_overlap", 8)).replace(**overrides)
        return rag.Bot(settings, embedder=fake_embedder, generator=fake_generator)
    return make


@pytest.fixture
def bot_over(tmp_path, make_bot):
    """bot_over({"name.txt": "text", ...}, **settings) -> Bot (the fakes) with those documents ingested."""
    def make(files: dict[str, str], **settings):
        docs = tmp_path / "docs-of-the-test"
        docs.mkdir()
        for name, text in files.items():
            (docs / name).write_text(text)
        bot = make_bot(**settings)
        bot.ingest([docs])
        return bot
    return make


@pytest.fixture
def docs_dir(tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    (d / "fruit.txt").write_text("Apples are red. Bananas are yellow. Cherries are small and dark red.\n")
    (d / "space.md").write_text("# Space\nThe Moon orbits the Earth every 27 days. Mars has two moons.\n")
    return d


# ---------- the real stack (slow) ----------
@pytest.fixture(scope="session")
def real_settings(tmp_path_factory):
    """Real MiniLM + FAISS index of ../shared/corpus, SmolLM2-135M as the model."""
    index = tmp_path_factory.mktemp("real") / "index"
    return Settings(index_dir=str(index), data_dir=str(index.parent / "uploads"), model="smollm2-135m",
                    n_threads=2, max_tokens=96)


@pytest.fixture(scope="session")
def real_bot(real_settings):
    bot = rag.Bot(real_settings)
    bot.ingest([CORPUS])
    return bot


# ---------- the real model behind a model server (slow) ----------
MODEL_SERVER_KEY = "test-model-server-key"


@pytest.fixture(scope="session")
def model_server(tmp_path_factory):
    """llama-cpp-python's OpenAI-compatible server with SmolLM2-135M on 127.0.0.1; its URL."""
    from model_server import ModelServer
    from rag.models import resolve_model
    log = tmp_path_factory.mktemp("model-server") / "server.log"
    with ModelServer(resolve_model("smollm2-135m"), log, api_key=MODEL_SERVER_KEY) as url:
        yield url


@pytest.fixture(scope="session")
def served_bot(real_bot, real_settings, model_server):
    """The real index and embedder, with the model setting openai:URL of the model server."""
    bot = rag.Bot(real_settings.replace(model=f"openai:{model_server}"), embedder=real_bot.embedder)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAG_OPENAI_API_KEY", MODEL_SERVER_KEY)
        bot.generator  # noqa: B018 - the key is read when the generator is made
    return bot
