"""embedder_backend = "auto": a new index gets the ONNX int8 backend, an existing one keeps the
backend its vectors came from; read from the index alone, without loading a model (fakes)."""

import pytest

import rag
from rag.embedder import backend_for
from rag.errors import ConfigError
from rag.fakes import FakeEmbedder, FakeGenerator


@pytest.mark.parametrize("setting, indexed, chosen", [
    ("auto", None, "onnx-int8"),
    ("auto", "all-MiniLM-L6-v2", "torch"),
    ("auto", "all-MiniLM-L6-v2+onnx-int8", "onnx-int8"),
    ("torch", "all-MiniLM-L6-v2+onnx-int8", "torch"),  # an explicit setting wins (and is checked on open)
    ("onnx-int8", None, "onnx-int8"),
])
def test_backend_for(setting, indexed, chosen):
    assert backend_for(setting, indexed) == chosen


@pytest.mark.parametrize("built_with, chosen", [("all-MiniLM-L6-v2", "torch"),
                                                 ("all-MiniLM-L6-v2+onnx-int8", "onnx-int8")])
def test_an_index_keeps_the_backend_it_was_built_with(tmp_path, docs_dir, built_with, chosen):
    settings = rag.Settings(index_dir=str(tmp_path / "index"))
    rag.Bot(settings, embedder=FakeEmbedder(id=built_with), generator=FakeGenerator()).ingest([docs_dir])
    assert rag.Bot(settings).embedder_backend == chosen


def test_a_new_index_gets_onnx_and_an_unknown_backend_is_refused(tmp_path):
    assert rag.Bot(rag.Settings(index_dir=str(tmp_path / "none"))).embedder_backend == "onnx-int8"
    with pytest.raises(ConfigError, match="embedder_backend"):
        rag.Settings(embedder_backend="openvino")
