"""Deterministic fakes for fast unit tests, and session fixtures for the real stack."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import rag  # noqa: E402
from rag.config import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
BENCH = ROOT.parent / "shared" / "bench-data"


def pytest_addoption(parser):
    parser.addoption("--run-bench", action="store_true", help="run the benchmark tests (SciFact anchors)")


class FakeEmbedder:
    """Bag of hashed lower-case words, normalised: texts sharing words are close."""

    def __init__(self, dim: int = 64, id: str = "fake-words"):
        self.id, self.dim = id, dim
        self.calls = 0  # documents embedded, to check incremental ingest

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype="float32")
        for w in re.findall(r"\w+", text.lower()):
            v[int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def embed_documents(self, texts, progress=False):
        self.calls += len(texts)
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), "float32")

    def embed_query(self, text):
        return self._vec(text).reshape(1, -1)


class FakeGenerator:
    """Replies are queued; each reply is streamed word by word. Records the messages."""

    def __init__(self, replies=()):
        self.id = "fake-model"
        self.replies = list(replies)
        self.seen: list[list[dict]] = []
        self.last_usage = (0, 0)  # (words of the prompt, pieces of the reply)

    def queue(self, *replies: str):
        self.replies.extend(replies)

    def stream(self, messages, max_tokens=384, temperature=0.0):
        self.seen.append(messages)
        reply = self.replies.pop(0) if self.replies else "I could not find the answer in your documents."
        pieces = re.findall(r"\S+\s*", reply)
        yield from pieces
        self.last_usage = (sum(len(m["content"].split()) for m in messages), len(pieces))


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
