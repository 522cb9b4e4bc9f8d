"""The browser chat's callbacks, called directly (no browser, no server), over the fakes."""

import re
from pathlib import Path

import pytest

from rag.errors import ModelError
from rag.server import load_ui
from ui import render

ui = load_ui()


def run_chat(chat, question, turns=(), k=None):
    """All yields of one chat callback, and the last one."""
    outputs = list(chat.respond(question, list(turns), k))
    return outputs, outputs[-1]


def assistant_texts(outputs):
    return [messages[-1]["content"] for messages, *_ in outputs]


@pytest.fixture
def bot(make_bot, docs_dir):
    bot = make_bot(top_k=2)
    bot.ingest([docs_dir])
    return bot


@pytest.fixture
def chat(bot, fake_generator, monkeypatch):
    """Side calls of the pipeline (e.g. rewriting a follow-up) get an empty reply, so the queued
    replies go to the answers."""
    answer = fake_generator.stream

    def stream(messages, *args, **kwargs):
        if "Passages" in messages[-1]["content"]:
            return answer(messages, *args, **kwargs)
        fake_generator.seen.append(messages)
        return iter(())
    monkeypatch.setattr(fake_generator, "stream", stream)
    return ui.ChatUI(bot)


def seen_text(fake_generator, since: int) -> str:
    return " ".join(m["content"] for messages in fake_generator.seen[since:] for m in messages)


STAGE = re.compile(r'(\n\n)?<p class="rag-stage">.*</p>$', re.S)
LINK = re.compile(r'<a class="rag-cite[^"]*" href="#rag-src-(\d+)-(\d+)" title="[^"]*">\[\d+\]</a>')


def shown_text(content: str) -> str:
    """What a chat message says, without the stage line and with [n] for each link."""
    return LINK.sub(lambda m: f"[{m.group(2)}]", STAGE.sub("", content))


def test_streamed_text_is_checked_text_then_the_final_answer(chat, fake_generator):
    # [9] points at no passage; "Pears are blue" is in no passage: neither is ever shown
    fake_generator.queue("Apples are red [1][9]. Pears are blue [1]. Cherries are small and dark red [1].")
    outputs, (messages, sources, turns, box) = run_chat(chat, "What colour are apples?")
    texts = assistant_texts(outputs)
    assert "Searching your documents…" in texts[0]
    assert any("Reading 2 passages…" in t for t in texts) and any("Writing the answer" in t for t in texts)
    final = turns[0]["answer"].text
    assert final == "Apples are red [1]. Cherries are small and dark red [1]."
    shown = [shown_text(t) for t in texts]
    assert "Apples are red [1]." in shown  # the first sentence, shown before the answer was complete
    assert all(final.startswith(t) for t in shown)  # every state is a start of the final text
    assert shown[-1] == final and "rag-stage" not in texts[-1]
    assert messages[0] == {"role": "user", "content": "What colour are apples?"}
    assert LINK.findall(messages[1]["content"]) == [("1", "1"), ("1", "1")]
    assert 'title="[1] Apples are red.\nApples are red. Bananas are yellow.' in messages[1]["content"]
    assert box == "" and len(turns) == 1 and turns[0]["answer"].text.startswith("Apples are red [1]")
    assert 'id="rag-src-1-1"' in sources
    assert re.search(r'<p class="rag-timing">Search \d+\.\d s · first words \d+\.\d s · whole answer', sources)


def test_sources_mark_the_cited_sentence_and_escape_document_text(make_bot, tmp_path, fake_generator):
    docs = tmp_path / "html-docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("<script>alert(1)</script> Intro line here.\n"
                                    "Plums & grapes are purple. Lemons are sour.\n")
    (docs / "other.txt").write_text("Grapes grow on vines in warm valleys.\n")
    bot = make_bot(top_k=2)
    bot.ingest([docs])
    fake_generator.queue("Plums and grapes are <b>purple</b> [1].")
    _, (messages, sources, _, _) = run_chat(ui.ChatUI(bot), "What colour are plums and grapes?")
    assert "&lt;b&gt;purple&lt;/b&gt;" in messages[1]["content"]
    assert "<script>" not in sources and "&lt;script&gt;alert(1)&lt;/script&gt;" in sources
    assert ('<span class="rag-support"><mark>Plums</mark> &amp; <mark>grapes</mark> are '
            '<mark>purple</mark>.</span> Lemons are sour.') in sources
    assert "Lemons are sour." in sources and "<mark>Lemons" not in sources
    assert "notes.txt" in sources and 'id="rag-src-1-1"' in sources
    assert 'Also read, not cited (1)' in sources and render.NOT_CITED in sources and render.CITED in sources
    assert "Cited for: “Plums and grapes are &lt;b&gt;purple&lt;/b&gt;.”" in sources


def test_a_passage_dated_by_its_documents_metadata_shows_the_date(bot_over, fake_generator):
    bot = bot_over({"diary.html": '<meta name="date" content="2025-03-07"><p>Moved to Leeds today.</p>',
                    "plain.txt": "Moving house is tiring.\n"})
    fake_generator.queue("On 2025-03-07 [1].")
    _, (_, sources, _, _) = run_chat(ui.ChatUI(bot), "When did I move to Leeds?")
    heads = re.findall(r'<div class="rag-head">.*?</div>', sources)
    assert [("dated 2025-03-07" in h) for h in heads] == [("diary.html" in h) for h in heads] and len(heads) == 2


def test_highlight_marks_only_the_shared_words_of_the_best_sentences():
    passage = "Cars are fast. Apples are red and sweet. Trains are long."
    assert render.highlight(passage, ["The apples are red."]) == (
        'Cars are fast. <span class="rag-support"><mark>Apples</mark> are <mark>red</mark> and sweet.</span> '
        'Trains are long.', True)
    assert render.highlight(passage, ["Apples are sweet.", "Trains are long."])[0] == (
        'Cars are fast. <span class="rag-support"><mark>Apples</mark> are red and <mark>sweet</mark>.</span> '
        '<span class="rag-support"><mark>Trains</mark> are <mark>long</mark>.</span>')
    assert render.highlight("It cost 7 dollars. Or 9.", ["It costs 7 dollars."])[0] == (
        '<span class="rag-support">It <mark>cost</mark> <mark>7</mark> <mark>dollars</mark>.</span> Or 9.')
    assert render.highlight(passage, ["Nothing shared here"]) == (passage, False)  # no whole-passage mark
    assert render.highlight("a <b> & c", ["zzz"]) == ("a &lt;b&gt; &amp; c", False)


def test_a_citation_that_shares_no_word_with_its_sentence_is_marked_weak(bot):
    from rag.types import Answer, Citation, Hit
    space = next(c for c in bot.store.chunks.values() if c.name == "space.md")
    hit = Hit(chunk=space, score=1.0, rank=1)
    cite = Citation(n=1, chunk_id=space.id, source=space.source, page=None, start=space.start, end=space.end,
                    text=space.text, sentence="Pears grow slowly.", supported=True)
    answer = Answer(question="q", text="Pears grow slowly [1].", citations=(cite,), passages=(hit,))
    assert render.weak_citations(answer) == {1}
    html = render.answer_sources(1, answer)
    assert render.WEAK in html and "no words of the sentence are in this passage" in html and "<mark>" not in html
    assert 'class="rag-cite rag-weak"' in render.linkify(answer.text, 1, answer.passages, {1})


def test_every_sentence_citing_a_passage_is_marked_in_it(chat, fake_generator):
    fake_generator.queue("Apples are red [1]. Cherries are small and dark red [1].")
    _, (_, sources, _, _) = run_chat(chat, "What colour are apples and cherries?")
    assert ('<span class="rag-support"><mark>Apples</mark> are <mark>red</mark>.</span> Bananas are '
            'yellow. <span class="rag-support"><mark>Cherries</mark> are') in sources
    assert "Cited for: “Apples are red.” “Cherries are small and dark red.”" in sources


def test_refused_answer_says_not_found_with_closest_passages(chat):
    _, (messages, sources, turns, _) = run_chat(chat, "Who won the 1998 World Cup?")
    assert messages[1]["content"] == chat.bot.refusal
    assert turns[0]["answer"].refused and turns[0]["answer"].refusal_reason == "unknown-terms"
    assert "Nothing in your documents is about this." in sources
    assert "<details><summary>Closest passages (2)</summary>" in sources


def test_a_withheld_draft_is_shown_with_the_reason(chat, fake_generator):
    fake_generator.queue("Apples cost 7 dollars [1].")
    _, (messages, sources, _, _) = run_chat(chat, "What colour are apples?")
    assert messages[1]["content"] == chat.bot.refusal
    assert "The model's draft, withheld" in sources
    assert "“Apples cost 7 dollars.” (not in the passages: 7)" in sources
    assert "Found related passages, but could not verify an answer from them." in sources


def test_an_answer_from_a_second_look_says_so(chat, fake_generator):
    fake_generator.queue("More than $2 billion, mainly on robots [1].", "Apples are red [1].")
    _, (messages, sources, turns, _) = run_chat(chat, "What colour are apples?")
    assert turns[0]["answer"].second_look and messages[1]["content"].startswith("Apples are red")
    assert "second look at the best passage alone" in sources and "robots" not in sources


def test_an_ending_cut_from_the_answer_is_shown(chat, fake_generator):
    fake_generator.queue("Apples are red and cost 7 dollars [1].")
    _, (messages, sources, _, _) = run_chat(chat, "What colour are apples?")
    assert messages[1]["content"].startswith("Apples are red")
    assert "Cut from the model's answer, not in the passages: “and cost 7 dollars.”" in sources


def test_history_is_per_session_and_new_chat_clears_it(chat, fake_generator):
    fake_generator.queue("Apples are red [1].", "Mars has two moons [1].", "Bananas are yellow [1].")
    _, (_, _, alice, _) = run_chat(chat, "What colour are apples?")
    since = len(fake_generator.seen)
    _, (_, _, bob, _) = run_chat(chat, "How many moons does Mars have?")
    assert "What colour are apples?" not in seen_text(fake_generator, since)  # Bob sees none of Alice's chat
    since = len(fake_generator.seen)
    _, (messages, _, alice, _) = run_chat(chat, "And bananas?", alice)
    sent = seen_text(fake_generator, since)
    assert "What colour are apples?" in sent and "Apples are red" in sent
    assert "How many moons does Mars have?" not in sent
    assert len(alice) == 2 and len(bob) == 1 and len(messages) == 4
    assert [q for q, _ in ui.history_of(alice)] == ["What colour are apples?", "And bananas?"]

    cleared = chat.new_chat()
    assert cleared[0] == [] and cleared[2] == [] and cleared[1] == render.NO_SOURCES
    since = len(fake_generator.seen)
    run_chat(chat, "What colour are cherries?", cleared[2])
    assert "What colour are apples?" not in seen_text(fake_generator, since)


def test_earlier_answers_keep_their_sources_collapsed(chat, fake_generator):
    fake_generator.queue("Apples are red [1].", "Mars has two moons [1].")
    _, (_, _, turns, _) = run_chat(chat, "What colour are apples?")
    _, (messages, sources, _, _) = run_chat(chat, "How many moons does Mars have?", turns)
    assert 'href="#rag-src-2-1"' in messages[3]["content"]
    assert 'id="rag-src-2-1"' in sources and 'id="rag-src-1-1"' in sources
    assert sources.index("rag-src-2-1") < sources.index("<details><summary>Earlier: What colour are apples?")


def test_passages_slider_sets_k(chat, fake_generator):
    fake_generator.queue("Apples are red [1].")
    _, (_, _, turns, _) = run_chat(chat, "What colour are apples?", k=1.0)
    assert len(turns[0]["answer"].passages) == 1


def test_empty_question_changes_nothing(chat, fake_generator):
    outputs, (messages, _, turns, _) = run_chat(chat, "   ")
    assert len(outputs) == 1 and messages == [] and turns == [] and fake_generator.seen == []


def test_model_error_is_shown_without_traceback(chat, fake_generator, monkeypatch):
    def broken(*args, **kwargs):
        raise ModelError("Cannot load model 'x': file missing")
        yield  # pragma: no cover
    monkeypatch.setattr(fake_generator, "stream", broken)
    _, (messages, _, turns, _) = run_chat(chat, "What colour are apples?")
    assert "Cannot load model 'x': file missing" in messages[1]["content"]
    assert "Traceback" not in messages[1]["content"]
    assert ui.history_of(turns) == []


def test_stopping_closes_the_model_stream(chat, fake_generator, monkeypatch):
    closed = []

    def slow(messages, max_tokens=384, temperature=0.0):
        try:
            for word in ["Apples ", "are ", "red ", "[1]."]:
                yield word
        finally:
            closed.append(True)
    monkeypatch.setattr(fake_generator, "stream", slow)
    events = chat.respond("What colour are apples?", [], None)
    next(events), next(events), next(events)
    *_, turns, _ = next(events)
    events.close()  # what the Stop button does to the running event
    assert closed == [True]
    messages, sources, turns = chat.stopped(turns)
    assert messages[-1]["content"] == "*(stopped before a checked sentence was ready)*"
    assert 'id="rag-src-1-1"' in sources  # the passages found stay
    assert ui.history_of(turns) == [] and chat.stopped(turns)[2] == turns


@pytest.fixture(autouse=True)
def gradio_uploads(tmp_path, monkeypatch):
    """Gradio's upload folder for this test: where the files a browser sends arrive."""
    folder = tmp_path / "gradio"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(folder))
    return folder


def received(chat, path: Path) -> Path:
    """A copy of a file where Gradio's upload route puts it (a folder of its own, the file's name
    kept), recorded as received, as the route does."""
    import os
    import shutil
    import uuid
    folder = Path(os.environ["GRADIO_TEMP_DIR"]) / uuid.uuid4().hex
    folder.mkdir(parents=True)
    if path.exists():
        shutil.copyfile(path, folder / path.name)
    chat.received.add(str(folder / path.name))
    return folder / path.name


def uploading(chat, files):
    """The last yield of the upload callback: its outcome."""
    *_, last = chat.upload(files)
    return last


def upload(chat, *paths):
    return uploading(chat, [{"path": str(received(chat, Path(p))), "meta": {"_type": "gradio.FileData"}}
                            for p in paths])


def test_upload_copies_into_data_dir_and_indexes(chat, tmp_path):
    src = tmp_path / "incoming"
    src.mkdir()
    note = src / "my notes?.txt"
    note.write_text("Kiwis are green and fuzzy.")
    message, table, status, empty, cleared = upload(chat, note)
    stored = Path(chat.bot.settings.uploads_dir) / "my notes.txt"
    assert stored.read_text() == "Kiwis are green and fuzzy."
    assert "**my notes.txt**: added, **1** passage." == message and cleared is None
    assert ["Kiwis are green and fuzzy.", "my notes.txt", 1] == table[-1][:3] and table[-1][-1] == ui.REMOVE
    assert "Kiwis are green and fuzzy. · `my notes.txt`" in empty["placeholder"]
    assert "**3** documents" in status
    assert chat.bot.retrieve("green fuzzy kiwis", k=1)[0].chunk.source == str(stored.resolve())


def test_bad_uploads_give_a_message_and_lose_nothing(make_bot, tmp_path):
    bot = make_bot(max_upload_mb=1)
    chat = ui.ChatUI(bot)
    src = tmp_path / "incoming"
    src.mkdir()
    good = src / "notes.txt"
    good.write_text("Kiwis are green.")
    upload(chat, good)
    before = bot.documents()

    (src / "broken.pdf").write_bytes(b"this is not a pdf")
    (src / "program.exe").write_bytes(b"MZ")
    (src / "huge.txt").write_bytes(b"x" * (1024 * 1024 + 1))
    empty = tmp_path / "again"
    empty.mkdir()
    (empty / "notes.txt").write_text("")  # a new, unreadable version of an indexed file
    message, table, _, _, _ = upload(chat, src / "broken.pdf", src / "program.exe", src / "huge.txt",
                                     empty / "notes.txt")
    assert "**broken.pdf** was not indexed: not a readable PDF" in message
    assert "**program.exe** was not added: unsupported file type" in message
    assert "**huge.txt** was not added: larger than the 1 MB limit" in message
    assert "**notes.txt** was not indexed: no text in it" in message
    assert "Nothing already indexed was lost." in message
    assert bot.documents() == before and [row[1] for row in table] == ["notes.txt"]
    assert message.count('<span class="rag-error">') == 4 and "Error" not in message
    uploads = Path(bot.settings.uploads_dir)
    assert sorted(p.name for p in uploads.iterdir()) == ["notes.txt"]
    assert (uploads / "notes.txt").read_text() == "Kiwis are green."


def test_gradios_temporary_copy_is_deleted(chat, tmp_path, gradio_uploads):
    temporary = gradio_uploads / "0123abcd" / "kiwi.txt"
    temporary.parent.mkdir(parents=True)
    temporary.write_text("Kiwis are green.")
    chat.received.add(str(temporary))
    message, *_ = uploading(chat, [str(temporary)])
    assert message.startswith("**kiwi.txt**: added")
    assert not temporary.parent.exists()


def test_a_server_side_path_is_never_read_as_an_upload(chat, tmp_path, gradio_uploads):
    """The upload event names its files by path; a crafted call can name any file on the server."""
    secret = tmp_path / "secret.txt"
    secret.write_text("The vault code is 4417.")
    gradio_uploads.mkdir(exist_ok=True)
    link = gradio_uploads / "link.txt"
    link.symlink_to(secret)
    escape = gradio_uploads / ".." / "secret.txt"
    copied = gradio_uploads / "0123abcd" / "secret.txt"  # in the folder, but the upload route never took it
    copied.parent.mkdir()
    copied.write_text(secret.read_text())
    chat.received.update({str(link), str(escape)})
    message, table, *_ = uploading(chat, [str(secret), str(link), str(escape), {"path": str(copied)}])
    assert message.count("was not added: it was not received as an upload") == 4
    assert "secret.txt" not in [row[1] for row in table] and secret.exists()
    assert not any("4417" in h.chunk.text for h in chat.bot.retrieve("vault code", k=5))
    assert not Path(chat.bot.settings.uploads_dir, "secret.txt").exists()


def test_upload_of_nothing_asks_for_files(chat):
    message, *_ = uploading(chat, None)
    assert message == "Choose one or more files first."


@pytest.mark.parametrize("name, safe", [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\Windows\\evil.TXT", "evil.txt"),
    ("a<b>:c?.md", "a_b_c.md"),
    ("...", "upload"),
    ("Report 2025 (final).pdf", "Report 2025 _final.pdf"),
])
def test_safe_name(name, safe):
    assert ui.safe_name(name) == safe


def test_remove_takes_a_document_out_and_deletes_only_uploaded_copies(chat, docs_dir, tmp_path):
    note = tmp_path / "kiwi.txt"
    note.write_text("Kiwis are green.")
    upload(chat, note)
    stored = str((Path(chat.bot.settings.uploads_dir) / "kiwi.txt").resolve())
    message, table, status, _, confirm = chat.remove(stored)
    assert message == "Removed **kiwi.txt** from the index." and confirm["visible"] is False
    assert "kiwi.txt" not in [row[1] for row in table] and not Path(stored).exists()

    fruit = str(docs_dir / "fruit.txt")
    message, table, status, _, _ = chat.remove(fruit)
    assert message == "Removed **fruit.txt** from the index."
    assert [row[1] for row in table] == ["space.md"] and Path(fruit).exists()
    assert "**1** document · **1** passage" in status

    assert chat.remove(fruit)[0] == '<span class="rag-error">**fruit.txt** is not in the index.</span>'
    assert chat.remove(None)[0] == "Click ✕ in the row of the document to remove."


def test_a_click_on_remove_in_a_row_asks_to_confirm(chat):
    import gradio as gr
    rows = chat.documents_table()
    assert [r[0] for r in rows] == ["Apples are red.", "Space"] and [r[1] for r in rows] == ["fruit.txt", "space.md"]

    def click(row, column, value=None):
        return chat.pick_to_remove(gr.SelectData(None, {"index": [row, column], "value": "x",
                                                        "row_value": value or rows[row]}))
    source, text, confirm = click(1, 4)
    assert source.endswith("space.md") and text == "Remove **Space** (space.md) from the index?"
    assert confirm["visible"] is True
    assert click(1, 0)[0] is None and click(1, 0)[2]["visible"] is False  # a click on the title does nothing
    assert click(0, 4, ["Apples are red.", "other.txt", 1, "", ui.REMOVE])[0] is None  # the list changed
    assert chat.cancel_remove()[0] is None


def test_status_line_and_empty_index(make_bot):
    chat = ui.ChatUI(make_bot())
    assert "No documents yet" in chat.status_line() and "model `" in chat.status_line()
    assert chat.documents_table() == []
    assert "No documents yet" in render.empty_chat([])


def test_an_empty_chat_lists_the_documents_and_example_questions(chat):
    from rag.types import IndexedFile
    files = chat.bot.documents()
    text = render.empty_chat(files)
    assert "Your documents (2):" in text and "- Space · `space.md`" in text
    titled = [IndexedFile(f"/d/{i}.txt", "0", 1, "", title) for i, title in enumerate([
        "Here are all the things Tesla, Meta and Microsoft CEOs said", "U.S. markets panicked over DeepSeek’s models",
        "MSFT CFO on Microsoft's capex", "Spending on AI infrastructure"])]
    assert render.example_questions(titled) == ["What do my documents say about Microsoft?",
                                            "What do my documents say about Tesla?",
                                            "What do my documents say about Meta?"]


def test_uploads_go_to_the_folder_of_the_served_index(tmp_path, fake_embedder, fake_generator):
    import rag
    from rag.config import Settings
    bot = rag.Bot(Settings(index_dir=str(tmp_path / "served" / "index"), chunk_tokens=40, chunk_overlap=8),
                  embedder=fake_embedder, generator=fake_generator)
    chat = ui.ChatUI(bot)
    note = tmp_path / "kiwi.txt"
    note.write_text("Kiwis are green.")
    upload(chat, note)
    stored = tmp_path / "served" / "index" / "uploads" / "kiwi.txt"
    assert stored.read_text() == "Kiwis are green."
    assert [f.source for f in bot.documents()] == [str(stored.resolve())]


def test_create_app_builds_the_page(chat):
    import gradio as gr
    app = chat.create_app()
    assert isinstance(app, gr.Blocks)
    assert "chat" in {fn.api_name for fn in app.fns.values()}


def test_a_follow_up_shows_what_was_searched(chat, fake_generator):
    fake_generator.queue("Apples are red [1].", "Bananas are yellow [1].")
    _, (_, _, turns, _) = run_chat(chat, "What colour are apples?")
    _, (_, sources, turns, _) = run_chat(chat, "And bananas?", turns)
    query = turns[-1]["answer"].query
    assert query != "And bananas?" and f"Searched for: “{query}”" in sources
    _, (_, sources, _, _) = run_chat(chat, "What colour are cherries?")
    assert "Searched for" not in sources


def test_upload_shows_the_file_being_indexed_then_each_files_outcome(chat, tmp_path, monkeypatch):
    import rag.ingest
    monkeypatch.setattr(ui, "TICK_S", 0.0)
    monkeypatch.setattr(rag.ingest, "EMBED_SLICE", 2)
    src = tmp_path / "incoming"
    src.mkdir()
    (src / "kiwi.txt").write_text("Kiwis are green.")
    upload(chat, src / "kiwi.txt")
    (src / "long.txt").write_text(" ".join(f"Fact {i}: kiwis are fuzzy and brown outside." for i in range(40)))
    (src / "broken.pdf").write_bytes(b"this is not a pdf")
    files = [{"path": str(received(chat, src / n))} for n in ("kiwi.txt", "long.txt", "broken.pdf")]
    outputs = list(chat.upload(files))
    during = [message for message, *_ in outputs[:-1]]
    assert during[0] == "Indexing 3 files…"
    assert "Indexing 1 of 3: **kiwi.txt** (reading)…" in during
    embedding = [m for m in during if m.startswith("Indexing 2 of 3: **long.txt** (passages ")]
    assert len(embedding) > 1 and embedding[0] != embedding[-1]
    message = outputs[-1][0]
    lines = message.split("\n")
    assert lines[0] == "- **kiwi.txt**: already indexed, unchanged."
    assert re.fullmatch(r"- \*\*long\.txt\*\*: added, \*\*\d+\*\* passages\.", lines[1])
    assert lines[2].startswith('- <span class="rag-error">**broken.pdf** was not indexed: not a readable PDF')
    assert "Error" not in message and message.endswith("Nothing already indexed was lost.")


def test_an_ingest_that_fails_is_an_error_in_plain_words(chat, tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(chat.bot, "ingest", full)
    note = tmp_path / "kiwi.txt"
    note.write_text("Kiwis are green.")
    message, *_ = upload(chat, note)
    assert 'class="rag-error rag-error-block"' in message and "no space left on device" in message
    assert "OSError" not in message and "Errno" not in message
    assert "**kiwi.txt** was not indexed." in message
    assert not (Path(chat.bot.settings.uploads_dir) / "kiwi.txt").exists()


def test_an_unexpected_failure_while_answering_is_an_error_block(chat, fake_generator, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("llama_decode returned -3")
        yield  # pragma: no cover
    monkeypatch.setattr(fake_generator, "stream", broken)
    _, (messages, sources, turns, _) = run_chat(chat, "What colour are apples?")
    shown = messages[1]["content"]
    assert shown.startswith('<div class="rag-error rag-error-block" role="alert">')
    assert "Something went wrong while answering" in shown and "ValueError" not in shown
    assert ui.history_of(turns) == []
    # the passages found stay in the panel, which no longer promises to mark them
    assert "The answer was not completed." in sources and "when the answer is complete" not in sources


@pytest.mark.parametrize("message, plain", [
    ("not a readable PDF (PdfReadError: EOF marker not found)", "not a readable PDF (EOF marker not found)"),
    ("not a readable .docx (BadZipFile)", "not a readable .docx"),
    ("The index at /x is damaged (JSONDecodeError). Delete /x and ingest again.",
     "The index at /x is damaged. Delete /x and ingest again."),
    ("Cannot reach the model server at http://h:1 (ConnectError: [Errno 111] Connection refused). Is it running?",
     "Cannot reach the model server at http://h:1 (Connection refused). Is it running?"),
    ("httpx.ReadTimeout: timed out", "timed out"),
    ("What DeepSeek (a Chinese lab) said", "What DeepSeek (a Chinese lab) said"),
])
def test_plain_words_drop_exception_names(message, plain):
    assert ui.plain_words(message) == plain
