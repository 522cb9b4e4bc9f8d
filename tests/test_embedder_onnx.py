"""The ONNX int8 backend on the real MiniLM: exported here from the packaged weights, close to
the torch embeddings, and an index of one backend is refused by the other."""

import numpy as np
import pytest

import rag
from rag.embedder import export_int8, load_embedder, _resolve
from rag.errors import IndexMismatchError

from conftest import CORPUS

pytestmark = pytest.mark.slow
pytest.importorskip("onnxruntime")

TEXTS = ["Meta expects capital expenditures of $60 billion to $65 billion in 2025.",
         "The Moon orbits the Earth every 27 days.",
         "Apples are red. " * 60,  # longer than the model's 256 tokens: truncated as torch does
         "x"]


def test_onnx_int8_embeddings_are_close_to_torch_and_the_export_is_cached():
    onnx, torch = load_embedder("all-MiniLM-L6-v2", "onnx-int8"), load_embedder("all-MiniLM-L6-v2")
    assert onnx.id == "all-MiniLM-L6-v2+onnx-int8" and onnx.dim == torch.dim == 384
    a, b = onnx.embed_documents(TEXTS), torch.embed_documents(TEXTS)
    assert a.shape == (4, 384) and np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-4)
    assert (a * b).sum(axis=1).min() > 0.97
    # the same ranking of documents for a query
    q = "How much will Meta spend on capex?"
    assert np.argmax(a @ onnx.embed_query(q)[0]) == np.argmax(b @ torch.embed_query(q)[0]) == 0
    assert onnx.count_tokens("The Moon orbits") == torch.count_tokens("The Moon orbits")
    path = export_int8(_resolve("all-MiniLM-L6-v2"))
    assert path.exists() and path.stat().st_size < 30e6  # int8: about a quarter of the 90 MB fp32 graph
    assert export_int8(_resolve("all-MiniLM-L6-v2")) == path


def test_an_index_of_one_backend_is_refused_by_the_other(tmp_path):
    settings = rag.Settings(index_dir=str(tmp_path / "index"), embedder_backend="onnx-int8")
    bot = rag.Bot(settings)
    bot.ingest([CORPUS])
    hits = bot.retrieve("How much will Meta spend on capital expenditures in 2025?", k=4, mode="dense")
    assert any("$60 billion" in h.chunk.text for h in hits)
    with pytest.raises(IndexMismatchError, match='embedder_backend = "onnx-int8" to keep using it'):
        rag.Bot(settings.replace(embedder_backend="torch")).retrieve("capex")


def test_an_index_built_with_onnx_keeps_it_under_the_default_setting(tmp_path):
    built = rag.Settings(index_dir=str(tmp_path / "onnx"), embedder_backend="onnx-int8")
    rag.Bot(built).ingest([CORPUS])
    reopened = rag.Bot(built.replace(embedder_backend="auto"))  # the default: no mismatch to fix by hand
    hits = reopened.retrieve("How much will Meta spend on capital expenditures in 2025?", k=4, mode="dense")
    assert reopened.embedder.id == "all-MiniLM-L6-v2+onnx-int8" and any("$60 billion" in h.chunk.text for h in hits)
    new = rag.Bot(rag.Settings(index_dir=str(tmp_path / "new")))
    assert new.settings.embedder_backend == "auto" and new.embedder.id == "all-MiniLM-L6-v2"


def test_onnx_int8_vectors_depend_on_the_batch_torch_vectors_do_not():
    """Why a new index is not built with onnx-int8: its activations are quantized per batch."""
    text = "Locker 0 belongs to the red team and holds crate number 1000."
    others = [text, "The annex opens at nine and closes at five. " * 20, "x"]
    onnx, torch = load_embedder("all-MiniLM-L6-v2", "onnx-int8"), load_embedder("all-MiniLM-L6-v2")
    assert float(onnx.embed_documents([text])[0] @ onnx.embed_documents(others)[0]) < 0.999
    assert float(torch.embed_documents([text])[0] @ torch.embed_documents(others)[0]) > 0.9999
