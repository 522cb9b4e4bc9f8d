"""The terminal chat, with the fakes (the real CLI is tested in test_real_stack.py)."""

from argparse import Namespace

from rag.cli import cmd_chat

REFUSAL = "I could not find the answer in your documents."


def test_terminal_chat_streams_only_checked_text_and_prints_a_withdrawn_answer_again(
        make_bot, docs_dir, fake_generator, monkeypatch, capsys):
    bot = make_bot()
    bot.ingest([docs_dir])
    questions = iter(["What colour are apples?", "What colour are bananas?", "What colour are cherries?", ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(questions))
    fake_generator.queue("Apples cost 7 dollars [1].",  # the made-up price is never shown
                         "Bananas are yellow [1].",
                         "Cherries are small and dark red [1]. I could not find the answer in your documents.")
    assert cmd_chat(bot, Namespace(ingest=None)) == 0
    out = capsys.readouterr().out
    assert "7 dollars" not in out and REFUSAL + "\n" in out
    assert "Bananas are yellow [1].\n" in out
    # the first sentence was shown, then the end of the answer withdrew it
    assert "Cherries are small and dark red [1].\n\nChecked against the passages:\n" + REFUSAL in out
    assert out.count("Checked against the passages") == 1


def test_rag_docs_loads_no_model(make_bot, docs_dir, monkeypatch, capsys):
    from rag import cli, embedder, generator
    make_bot().ingest([docs_dir])
    settings = make_bot().settings

    def no(*args, **kwargs):
        raise AssertionError("a model was loaded")
    monkeypatch.setattr(embedder, "load_embedder", no)
    monkeypatch.setattr(generator, "load_generator", no)
    monkeypatch.setattr("rag.pipeline.load_embedder", no)
    monkeypatch.setattr("rag.pipeline.load_generator", no)
    assert cli.main(["--index", settings.index_dir, "docs"]) == 0
    out = capsys.readouterr().out
    assert "fruit.txt" in out and "space.md" in out
    assert "chunks of 40 tokens with 8 overlap" in out  # the index's own chunking, chunk_tokens not set
