"""Settings: one dataclass with defaults, overridden by a TOML file, RAG_* environment
variables and CLI flags, in that order."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path

from .errors import ConfigError


def packaged_prompts() -> str:
    """The folder of the prompt templates installed with the package (the `prompts` package)."""
    try:
        return str(resources.files("prompts"))
    except ModuleNotFoundError:
        return "prompts"


@dataclass(frozen=True)
class Settings:
    # relative paths are taken from the current folder, like ./rag.toml
    index_dir: str = "index"
    data_dir: str = ""  # where browser uploads are stored; empty: the index folder's uploads/
    prompts_dir: str = packaged_prompts()
    bench_data: str = "../shared/bench-data"  # the public benchmarks' folders, for rag eval --bench
    # embedding
    embedder: str = "all-MiniLM-L6-v2"  # or any sentence-transformers name or path
    embedder_backend: str = "auto"  # torch, onnx-int8 (exported here from the same weights, int8: about
    # three times as fast), or auto: onnx-int8 for a new index, and an existing index's own backend
    chunk_tokens: int = 0  # chunk size in embedder tokens; 0: an existing index's own (a new one:
    # NEW_INDEX_CHUNKING)
    chunk_overlap: int = -1  # overlap in embedder tokens (whole sentences); -1: a fifth of chunk_tokens
    ingest_batch: int = 256  # chunks embedded and committed together: an interrupted ingest loses one batch
    ann_threshold: int = 50_000  # chunks from which dense search uses an IVF index instead of exact search
    vector_store: str = "faiss"  # faiss (files in index_dir) or qdrant (rag/qdrant_store.py)
    qdrant_url: str = ""  # with qdrant: a server's URL, e.g. http://127.0.0.1:6333; empty: embedded in index_dir/qdrant
    qdrant_collection: str = ""  # with qdrant: the collection; empty: "rag-" and the index folder's name
    qdrant_api_key: str = ""  # with a Qdrant server that requires one (better: RAG_QDRANT_API_KEY)
    # retrieval
    top_k: int = 4
    retriever: str = "hybrid"  # dense, bm25 or hybrid
    fusion: str = "weighted"  # weighted (min-max normalised scores) or rrf
    dense_weight: float = 0.5  # weight of the dense scores in weighted fusion (BM25 gets the rest)
    rrf_k: int = 60
    candidates: int = 50  # passages each retriever proposes before fusion
    mmr_lambda: float = 1.0  # 1 = no diversity re-ranking; lower trades relevance for diversity
    duplicate_cosine: float = 0.97  # a passage this close to a better one is a copy and left out; 1 keeps all
    min_score: float = 0.25  # refuse without generating when the best passage's cosine is below this
    # (calibrated on the dev set: answerable questions score 0.31 and up, off-topic ones about 0.1)
    # grounding
    rewrite: bool = True  # rewrite follow-up questions into standalone ones using the chat history
    compact: bool = True  # give the model the best sentences, not whole chunks
    context_tokens: int = 320  # budget for the compact context, in embedder tokens
    verify: bool = True  # check every answer sentence against the passages it cites
    min_overlap: float = 0.6  # share of a sentence's content words its passages must contain
    keep_unsupported: bool = False  # show unsupported sentences instead of dropping them
    second_look: bool = True  # a withheld draft that copies the worked example or says the question back: ask again with the best passage alone
    # generation
    model: str = "qwen2.5-coder-1.5b"  # a preset name, a .gguf path, hf:REPO/FILE or openai:URL of a model server
    openai_model: str = ""  # with openai:URL, the served model's name (empty: the server's first model)
    openai_timeout: float = 120.0  # with openai:URL, seconds to wait for the server (each streamed piece)
    n_ctx: int = 4096
    n_threads: int = 0  # 0 = all the cores this process may use, for reading the prompt and writing
    temperature: float = 0.0
    max_tokens: int = 384
    seed: int = 0
    # server
    host: str = "127.0.0.1"
    port: int = 7860
    max_upload_mb: int = 50
    max_question_chars: int = 4000  # a longer question (or history) is cut, with a notice
    password: str = ""  # for the browser chat when serving beyond this machine (user "rag")
    api_key: str = ""  # for the HTTP API when serving beyond this machine (Authorization: Bearer KEY)

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if not _is_kind(value, f.type):
                raise ConfigError(f"Setting '{f.name}' must be {f.type}, got {value!r}")
        for name, (low, high) in RANGES.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise ConfigError(f"Setting '{name}' must be between {low} and {high}, got {value!r}")
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"Setting '{name}' must be one of {', '.join(allowed)}, "
                                  f"got {getattr(self, name)!r}")
        if self.model.startswith("openai:"):
            _check_server_url(self.model[len("openai:"):])
        if self.qdrant_url:
            _check_url("qdrant_url", self.qdrant_url, "http://127.0.0.1:6333")
        if self.qdrant_collection and not re.fullmatch(r"[A-Za-z0-9_-]{1,200}", self.qdrant_collection):
            raise ConfigError(f"Setting 'qdrant_collection' must be letters, digits, '-' or '_', "
                              f"got {self.qdrant_collection!r}")
        if self.chunk_overlap >= 0 and not self.chunk_tokens:
            raise ConfigError("Setting 'chunk_overlap' needs 'chunk_tokens' too (without them the index "
                              "keeps its own chunking)")
        if 0 < self.chunk_tokens < 8:
            raise ConfigError(f"Setting 'chunk_tokens' must be 0 (the index's own) or at least 8, "
                              f"got {self.chunk_tokens}")
        if self.chunk_tokens and self.chunk_overlap >= self.chunk_tokens:
            raise ConfigError(f"Setting 'chunk_overlap' ({self.chunk_overlap}) must be smaller than "
                              f"'chunk_tokens' ({self.chunk_tokens})")

    @property
    def chunking(self) -> tuple[int, int] | None:
        """(chunk tokens, overlap) as set, or None when not set: an existing index keeps its own
        chunking, and a new one gets NEW_INDEX_CHUNKING."""
        if not self.chunk_tokens:
            return None
        return self.chunk_tokens, self.chunk_overlap if self.chunk_overlap >= 0 else self.chunk_tokens // 5

    @property
    def uploads_dir(self) -> str:
        return self.data_dir or str(Path(self.index_dir) / "uploads")

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **_coerce_all(changes))

    def public(self) -> dict:
        """The settings as a dict for reports and logs: a password or key set is shown as "***"."""
        values = dataclasses.asdict(self)
        return {k: ("***" if k in SECRETS and v else v) for k, v in values.items()}


NEW_INDEX_CHUNKING = (160, 32)  # (tokens, overlap) of a new index when chunk_tokens is not set
SECRETS = ("password", "api_key", "qdrant_api_key")  # never written into a report


# the bounds of numeric settings: a value outside is an error, not a silent surprise
RANGES = {
    "chunk_tokens": (0, 1_000_000), "ingest_batch": (1, 1_000_000), "ann_threshold": (1, 10**9), "chunk_overlap": (-1, 999_999), "top_k": (1, 50), "dense_weight": (0.0, 1.0),
    "rrf_k": (1, 10_000), "candidates": (1, 1000), "mmr_lambda": (0.0, 1.0), "duplicate_cosine": (0.0, 1.0), "min_score": (-1.0, 1.0),
    "context_tokens": (16, 100_000), "min_overlap": (0.0, 1.0), "n_ctx": (256, 1_048_576),
    "n_threads": (0, 1024), "temperature": (0.0, 5.0), "max_tokens": (1, 100_000), "seed": (0, 2**31 - 1),
    "openai_timeout": (1.0, 3600.0),
    "port": (1, 65535), "max_upload_mb": (1, 100_000), "max_question_chars": (1, 1_000_000),
}
CHOICES = {"retriever": ("dense", "bm25", "hybrid"), "fusion": ("weighted", "rrf"),
           "embedder_backend": ("auto", "torch", "onnx-int8"), "vector_store": ("faiss", "qdrant")}
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _check_server_url(url: str) -> None:
    if not _is_http_url(url):
        raise ConfigError(f"Setting 'model' openai:URL needs the http(s) URL of an OpenAI-compatible server, "
                          f"for example openai:http://127.0.0.1:8080/v1; got {url!r}")


def _check_url(name: str, url: str, example: str) -> None:
    if not _is_http_url(url):
        raise ConfigError(f"Setting '{name}' must be an http(s) URL, for example {example}; got {url!r}")


def _is_http_url(url: str) -> bool:
    from urllib.parse import urlsplit
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _is_kind(value, kind: str) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return isinstance(value, str)


def _coerce(name: str, value):
    kinds = {f.name: f.type for f in fields(Settings)}
    if name not in kinds:
        raise ConfigError(f"Unknown setting '{name}'. Known: {', '.join(sorted(kinds))}")
    kind = kinds[name]
    wrong = ConfigError(f"Setting '{name}' must be {kind}, got {value!r}")
    if isinstance(value, str):  # from the environment or a flag
        text = value.strip()
        if kind == "bool":
            if text.lower() not in TRUE + FALSE:
                raise ConfigError(f"Setting '{name}' must be true or false, got {value!r}")
            return text.lower() in TRUE
        try:
            return int(text) if kind == "int" else float(text) if kind == "float" else value
        except ValueError:
            raise wrong from None
    if kind == "float" and _is_kind(value, "int"):
        return float(value)
    if not _is_kind(value, kind):  # from TOML: a value of another type is a mistake
        raise wrong
    return value


def _coerce_all(changes: dict) -> dict:
    return {k: _coerce(k, v) for k, v in changes.items() if v is not None}


def load_settings(config_file: str | os.PathLike | None = None, env=None, **overrides) -> Settings:
    """Defaults < TOML file (given, $RAG_CONFIG or ./rag.toml) < RAG_* env < overrides."""
    env = os.environ if env is None else env
    values: dict = {}
    path = config_file or env.get("RAG_CONFIG") or ("rag.toml" if Path("rag.toml").exists() else None)
    if path:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"Config file not found: {path}") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"Config file {path} is not valid TOML: {e}") from None
        values.update(data.get("rag", data))
    names = {f.name for f in fields(Settings)}
    for key, value in env.items():
        if key.startswith("RAG_") and key[4:].lower() in names:
            values[key[4:].lower()] = value
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**_coerce_all(values))
