import numpy as np

from rag.embedder import CachedEmbedder

from conftest import FakeEmbedder


def test_cached_embedder_embeds_each_text_once_and_keeps_order():
    inner = FakeEmbedder()
    cached = CachedEmbedder(inner, size=3)
    first = cached.embed_documents(["a b", "c d", "a b"])
    assert inner.calls == 2 and np.allclose(first, inner.embed_documents(["a b", "c d", "a b"]))
    inner.calls = 0
    again = cached.embed_documents(["c d", "a b"])
    assert inner.calls == 0 and np.allclose(again, first[[1, 0]])
    cached.embed_documents(["e", "f"])  # holds 3: "c d" (least recently used) goes
    inner.calls = 0
    cached.embed_documents(["a b"])
    assert inner.calls == 0
    cached.embed_documents(["c d"])
    assert inner.calls == 1


def test_questions_about_the_same_passages_embed_their_sentences_once(make_bot, docs_dir, fake_embedder):
    bot = make_bot()
    bot.ingest([docs_dir])
    bot.read("Which fruit is yellow?")
    calls = fake_embedder.calls
    turn = bot.read("Which fruit is yellow?")
    assert fake_embedder.calls == calls and turn.passages
