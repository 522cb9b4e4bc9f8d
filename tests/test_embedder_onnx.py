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


def test_auto_gives_a_new_index_onnx_and_keeps_an_old_index_on_its_own_backend(tmp_path):
    torch_built = rag.Settings(index_dir=str(tmp_path / "old"), embedder_backend="torch")
    rag.Bot(torch_built).ingest([CORPUS])
    old = rag.Bot(torch_built.replace(embedder_backend="auto"))
    hits = old.retrieve("How much will Meta spend on capital expenditures in 2025?", k=4, mode="dense")
    assert old.embedder.id == "all-MiniLM-L6-v2" and any("$60 billion" in h.chunk.text for h in hits)
    new = rag.Bot(rag.Settings(index_dir=str(tmp_path / "new")))
    assert new.settings.embedder_backend == "auto" and new.embedder.id == "all-MiniLM-L6-v2+onnx-int8"


def test_a_text_gets_the_same_vector_whatever_is_embedded_with_it():
    """int8 activations are quantized per input: batched with others, a text's vector would depend
    on them (cosine 0.994). Each text is run alone, so ingest, a re-ingest and a query agree."""
    text = "Locker 0 belongs to the red team and holds crate number 1000."
    others = ["The annex opens at nine and closes at five. " * 20, text, "x"]
    for backend, same in (("onnx-int8", np.array_equal), ("torch", lambda a, b: float(a @ b) > 0.9999)):
        embedder = load_embedder("all-MiniLM-L6-v2", backend)
        alone = embedder.embed_documents([text])[0]
        assert same(alone, embedder.embed_documents(others)[1]), backend
        assert same(alone, embedder.embed_documents(others[::-1] * 3)[1]), backend
        assert same(alone, embedder.embed_query(text)[0]), backend


def test_a_query_does_not_wait_for_a_batch_another_thread_is_embedding():
    """Serving while ingesting: a query takes the next free session, after one text, not after
    the whole batch."""
    import threading
    import time
    onnx = load_embedder("all-MiniLM-L6-v2", "onnx-int8")
    texts = [f"Paragraph {i} of the manual explains how the annex is heated in winter. " * 8 for i in range(300)]
    done = []
    ingest = threading.Thread(target=lambda: done.append(onnx.embed_documents(texts)))
    ingest.start()
    while onnx.pool.free() == len(onnx.sessions) and ingest.is_alive():  # until the batch is being embedded
        time.sleep(0.001)
    query = onnx.embed_query("How is the annex heated?")
    answered_while_embedding = not done
    ingest.join()
    assert answered_while_embedding and query.shape == (1, 384) and done[0].shape == (300, 384)
    assert np.array_equal(query, onnx.embed_query("How is the annex heated?"))


def test_the_word_pieces_are_those_of_transformers_and_loading_needs_neither_it_nor_torch():
    import subprocess
    import sys

    from transformers import AutoTokenizer
    onnx = load_embedder("all-MiniLM-L6-v2", "onnx-int8")
    reference = AutoTokenizer.from_pretrained(_resolve("all-MiniLM-L6-v2"))
    texts = TEXTS + ["", "[2025-02-11 20:11] Tom: went with sage green 😂", "Ünïcödé café — naïve"]
    for text, feed in zip(texts, onnx._ids(texts)):
        expected = reference(text, truncation=True, max_length=256)
        assert feed["input_ids"][0].tolist() == expected["input_ids"]
        assert feed["attention_mask"][0].tolist() == expected["attention_mask"]
        assert feed["token_type_ids"][0].tolist() == expected["token_type_ids"]
        assert onnx.count_tokens(text) == len(reference.tokenize(text))  # counted whole, not cut at 256
    loaded = subprocess.run([sys.executable, "-c", (
        "import sys; from rag.embedder import load_embedder; e = load_embedder('all-MiniLM-L6-v2', 'onnx-int8'); "
        "e.embed_query('hello'); print(sorted({'transformers', 'torch'} & set(sys.modules)))")],
        capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]"


def test_a_waiting_query_takes_the_next_free_session_before_the_batch_does():
    import threading
    import time

    from rag.embedder import _SessionPool
    pool = _SessionPool(["only"])
    order = []

    def take(who, query):
        with pool.session(query):
            order.append(who)

    with pool.session(query=False):  # the batch is running its one session
        batch = threading.Thread(target=take, args=("batch", False))
        batch.start()
        time.sleep(0.05)
        query = threading.Thread(target=take, args=("query", True))
        query.start()
        while pool._queries_waiting == 0:
            time.sleep(0.001)
    batch.join()
    query.join()
    assert order == ["query", "batch"]
