import pytest

from rag.config import Settings, load_settings
from rag.errors import ConfigError


def test_precedence_defaults_toml_env_flags(tmp_path):
    toml = tmp_path / "rag.toml"
    toml.write_text('top_k = 7\nmodel = "from-toml"\ntemperature = 0.5\n')
    env = {"RAG_MODEL": "from-env", "RAG_TEMPERATURE": "0.2", "UNRELATED": "x"}
    s = load_settings(toml, env=env, temperature=0.1)
    assert s.top_k == 7 and s.model == "from-env" and s.temperature == 0.1
    assert s.n_ctx == Settings().n_ctx


def test_toml_rag_table_is_accepted(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('[rag]\ntop_k = 3\n')
    assert load_settings(toml, env={}).top_k == 3


def test_bad_values_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="'top_k' must be int"):
        load_settings(None, env={"RAG_TOP_K": "many"})
    bad = tmp_path / "bad.toml"
    bad.write_text("top_k = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad, env={})
    unknown = tmp_path / "u.toml"
    unknown.write_text("colour = 1\n")
    with pytest.raises(ConfigError, match="Unknown setting 'colour'"):
        load_settings(unknown, env={})
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml", env={})


def test_chunking_is_the_index_own_unless_set():
    assert Settings().chunking is None
    assert Settings(chunk_tokens=200).chunking == (200, 40)  # the overlap a fifth unless set
    assert Settings(chunk_tokens=200, chunk_overlap=0).chunking == (200, 0)
    with pytest.raises(ConfigError, match="'chunk_overlap' needs 'chunk_tokens'"):
        Settings(chunk_overlap=10)
    with pytest.raises(ConfigError, match="'chunk_tokens' must be 0 .* or at least 8"):
        Settings(chunk_tokens=4)
