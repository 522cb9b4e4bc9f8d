"""Settings: one dataclass with defaults, overridden by a TOML file, RAG_* environment
variables and CLI flags, in that order."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from .errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = PROJECT_ROOT.parent / "shared" / "corpus"


@dataclass(frozen=True)
class Settings:
    index_dir: str = str(PROJECT_ROOT / "index")
    data_dir: str = str(PROJECT_ROOT / "index" / "uploads")  # where UI uploads are stored
    prompts_dir: str = str(PROJECT_ROOT / "prompts")
    # embedding
    embedder: str = "all-MiniLM-L6-v2"  # or any sentence-transformers name or path
    chunk_tokens: int = 160  # chunk size in embedder tokens
    chunk_overlap: int = 32  # overlap in embedder tokens (whole sentences)
    # retrieval
    top_k: int = 4
    retriever: str = "hybrid"  # dense, bm25 or hybrid
    fusion: str = "weighted"  # weighted (min-max normalised scores) or rrf
    dense_weight: float = 0.5  # weight of the dense scores in weighted fusion (BM25 gets the rest)
    rrf_k: int = 60
    candidates: int = 50  # passages each retriever proposes before fusion
    mmr_lambda: float = 1.0  # 1 = no diversity re-ranking; lower trades relevance for diversity
    min_score: float = 0.25  # refuse without generating when the best passage's cosine is below this
    # (calibrated on the dev set: answerable questions score 0.31 and up, off-topic ones about 0.1)
    # grounding
    rewrite: bool = True  # rewrite follow-up questions into standalone ones using the chat history
    compact: bool = True  # give the model the best sentences, not whole chunks
    context_tokens: int = 320  # budget for the compact context, in embedder tokens
    verify: bool = True  # check every answer sentence against the passages it cites
    min_overlap: float = 0.6  # share of a sentence's content words its passages must contain
    keep_unsupported: bool = False  # show unsupported sentences instead of dropping them
    second_look: bool = True  # when a withheld draft copies the worked example, ask again with the best passage alone
    # generation
    model: str = "qwen2.5-coder-1.5b"  # a preset name, a .gguf path or hf:REPO/FILE
    n_ctx: int = 4096
    n_threads: int = 0  # 0 = all cores
    temperature: float = 0.0
    max_tokens: int = 384
    seed: int = 0
    # server
    host: str = "127.0.0.1"
    port: int = 7860
    max_upload_mb: int = 50

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **_coerce_all(changes))


def _coerce(name: str, value):
    kinds = {f.name: f.type for f in fields(Settings)}
    if name not in kinds:
        raise ConfigError(f"Unknown setting '{name}'. Known: {', '.join(sorted(kinds))}")
    kind = kinds[name]
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"Setting '{name}' must be {kind}, got {value!r}") from None


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
