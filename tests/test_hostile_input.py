"""Bad files, bad settings and damaged indexes: one clear message each, nothing indexed is lost."""

import json
import os
import zipfile

import pytest

import rag
from rag.chunking import chunk_document
from rag.config import Settings, load_settings
from rag.errors import ConfigError, LoadError, RagError
from rag.loaders import decode, expand, load_file
from rag.types import Document

from helpers import make_epub, make_pdf


# ---------- files ----------
def hostile_folder(root):
    """Good files beside every kind of bad one a real folder holds."""
    root.mkdir()
    (root / "good.txt").write_text("Kiwis are green and grow on vines.")
    (root / "good.md").write_text("# Limes\nLimes are sour.")
    (root / "latin1.txt").write_bytes("Caf\xe9 cr\xe8me costs four euros.".encode("cp1252"))
    (root / "utf16.txt").write_bytes("Plums are purple.".encode("utf-16"))
    (root / "empty.txt").write_bytes(b"")
    (root / "random.txt").write_bytes(os.urandom(20_000))
    (root / "elf.md").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 40)
    (root / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage")
    (root / "bomb.docx").write_bytes(zip_bomb())
    (root / "notzip.docx").write_bytes(b"PK\x03\x04 not really")
    (root / "nested.html").write_text("<div>" * 100_000 + "deep" + "</div>" * 100_000)
    (root / "wide.csv").write_text("a,b\n" + '1,"' + "x" * 200_000 + '"\n')
    (root / "loop.txt").symlink_to(root / "loop.txt")
    (root / "dangling.txt").symlink_to(root / "gone.txt")
    (root / "linked-folder").symlink_to(root)
    (root / "new\nline name.txt").write_text("Figs are sweet.")
    (root / "rows.csv").write_text("id,fruit,colour\n" + "".join(f"{i},fig{i},purple\n" for i in range(200_000)))
    encrypted_pdf(root / "locked.pdf")
    make_pdf(root / "blank.pdf", [""])
    make_epub(root / "good.epub", [("one.xhtml", "<p>Quinces are yellow.</p>")])
    (root / "bomb.epub").write_bytes(zip_bomb())
    laughs_epub(root / "laughs.epub")
    return root


def laughs_epub(path):
    """An e-book whose package file expands an entity a billion times ("billion laughs")."""
    make_epub(path, [("one.xhtml", "<p>x</p>")])
    entities = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    with zipfile.ZipFile(path) as book:
        files = {name: book.read(name) for name in book.namelist()}
    files["OEBPS/content.opf"] = (f'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY l0 "lol">{entities}]>'
                                  '<package xmlns="http://www.idpf.org/2007/opf"><metadata '
                                  'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>&l9;</dc:title>'
                                  '</metadata></package>').encode()
    with zipfile.ZipFile(path, "w") as book:
        for name, data in files.items():
            book.writestr(name, data)


def encrypted_pdf(path):
    from pypdf import PdfWriter
    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    writer.encrypt("secret", algorithm="RC4-128")
    with open(path, "wb") as fh:
        writer.write(fh)


def zip_bomb() -> bytes:
    import io
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", b"0" * (300 << 20))
    return out.getvalue()


def test_a_folder_of_bad_files_gives_one_line_each_and_indexes_every_good_file(make_bot, tmp_path, docs_dir):
    folder = hostile_folder(tmp_path / "mess")
    bot = make_bot()
    bot.ingest([docs_dir])
    warnings = []
    report = bot.ingest([folder], warn=warnings.append)
    added = sorted(os.path.basename(p) for p in report.added)
    assert set(added) - {"nested.html"} == {"good.md", "good.txt", "latin1.txt", "new\nline name.txt", "utf16.txt",
                                            "rows.csv", "good.epub"}
    reasons = {os.path.basename(s.path): s.reason for s in report.skipped}
    assert reasons["random.txt"] == "binary content, not text"
    assert reasons["elf.md"] == "binary content, not text"
    assert "no text" in reasons["empty.txt"]
    assert "PDF" in reasons["broken.pdf"]
    assert "PDF" in reasons["locked.pdf"] or "no text" in reasons["locked.pdf"]
    assert "no text" in reasons["blank.pdf"]
    assert "unpacks to 300 MB" in reasons["bomb.docx"]
    assert "docx" in reasons["notzip.docx"]
    assert "unpacks to 300 MB" in reasons["bomb.epub"]
    assert "amplification" in reasons["laughs.epub"]
    assert "nested too deeply" in reasons.get("nested.html", "") or "nested.html" in added
    assert "CSV" in reasons["wide.csv"]
    assert "loop" in reasons["loop.txt"] and "leads nowhere" in reasons["dangling.txt"]
    assert "not followed" in reasons["linked-folder"]
    assert len(warnings) == len(report.skipped) and all("\n" not in w.split(": ", 1)[1] for w in warnings
                                                          if "line name" not in w)
    texts = " ".join(c.text for c in make_bot().store.chunks.values())
    assert "Café crème" in texts and "Plums are purple" in texts and "Quinces are yellow" in texts
    assert "Bananas are yellow" in texts  # indexed before, still there


def test_text_decoding_and_binary_detection():
    assert decode("naïve".encode()) == "naïve"
    assert decode("“quoted”".encode("cp1252")) == "“quoted”"
    assert decode("\ufeffwith a BOM".encode()) == "with a BOM"
    assert decode("two bytes".encode("utf-16-le").join([b"\xff\xfe", b""])) == "two bytes"
    with pytest.raises(LoadError, match="binary"):
        decode(bytes(range(256)) * 10)
    assert decode(b"tabs\tand\r\nnewlines\x0c") == "tabs\tand\r\nnewlines\x0c"


def test_a_huge_sentence_is_split_in_linear_time():
    """A 3 MB line with no full stop: split at words, every piece a span of the text, no piece over size."""
    text = " ".join(f"w{i}" for i in range(600_000))
    calls = []

    def count(piece):
        calls.append(len(piece))
        return len(piece.split())
    chunks = chunk_document(Document(source="/x/big.txt", text=text), 40, 8, count)
    assert all(text[c.start:c.end] == c.text and len(c.text.split()) <= 40 for c in chunks)
    assert len(chunks) >= 600_000 // 40
    assert sum(calls) < 10 * len(text)  # the work grows with the text, not with its square


def test_expand_reports_names_that_are_not_utf8(tmp_path):
    bad = os.fsencode(str(tmp_path)) + b"/caf\xe9.txt"
    with open(bad, "wb") as fh:
        fh.write(b"coffee")
    files, skipped = expand([tmp_path])
    assert not files and "not valid UTF-8" in skipped[0].reason


def test_an_unreadable_file_is_skipped(tmp_path):
    with pytest.raises(LoadError, match="no such|cannot read"):
        load_file(tmp_path / "missing.txt")


# ---------- settings ----------
@pytest.mark.parametrize("env, message", [
    ({"RAG_VERIFY": "ture"}, "'verify' must be true or false"),
    ({"RAG_TOP_K": "0"}, "'top_k' must be between 1 and 50"),
    ({"RAG_TOP_K": "2.5"}, "'top_k' must be int"),
    ({"RAG_MIN_OVERLAP": "nan"}, "'min_overlap' must be"),
    ({"RAG_RETRIEVER": "semantic"}, "'retriever' must be one of dense, bm25, hybrid"),
    ({"RAG_CHUNK_TOKENS": "160", "RAG_CHUNK_OVERLAP": "200"}, "'chunk_overlap' \\(200\\) must be smaller"),
    ({"RAG_CHUNK_OVERLAP": "20"}, "'chunk_overlap' needs 'chunk_tokens'"),
])
def test_bad_environment_settings_name_the_key(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(None, env=env)


@pytest.mark.parametrize("toml, message", [
    ('verify = "flase"\n', "'verify' must be true or false"),
    ("verify = 1\n", "'verify' must be bool"),
    ("top_k = 4.0\n", "'top_k' must be int"),
    ("temperature = true\n", "'temperature' must be float"),
    ("[rag]\nverfy = true\n", "Unknown setting 'verfy'"),
])
def test_bad_toml_settings_name_the_key(tmp_path, toml, message):
    path = tmp_path / "rag.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=message):
        load_settings(path, env={})


def test_good_settings_still_read():
    s = load_settings(None, env={"RAG_VERIFY": "off", "RAG_TOP_K": " 6 ", "RAG_TEMPERATURE": "0"})
    assert s.verify is False and s.top_k == 6 and s.temperature == 0.0
    assert Settings(index_dir="/tmp/i").uploads_dir == "/tmp/i/uploads"
    assert Settings(index_dir="/tmp/i", data_dir="/tmp/u").uploads_dir == "/tmp/u"


# ---------- the index folder ----------
def test_an_index_that_is_a_file_or_under_one_is_a_clear_error_before_any_work(make_bot, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    with pytest.raises(RagError, match="is a file"):
        make_bot(index_dir=str(afile)).documents()
    with pytest.raises(RagError, match="lies under .*afile, which is a file"):
        make_bot(index_dir=str(afile / "index")).ingest([afile])


@pytest.mark.parametrize("damage", ["no chunks", "truncated vectors", "bad manifest", "bad CURRENT"])
def test_a_damaged_index_is_a_message_not_a_traceback(make_bot, docs_dir, damage):
    bot = make_bot()
    bot.ingest([docs_dir])
    root = bot.store.root
    gen = root / (root / "CURRENT").read_text()
    segment = root / json.loads((gen / "manifest.json").read_text())["segments"][0]["dir"]
    if damage == "no chunks":
        (segment / "chunks.jsonl").unlink()
    elif damage == "truncated vectors":
        data = (segment / "vectors.faiss").read_bytes()
        (segment / "vectors.faiss").write_bytes(data[:len(data) // 2])
    elif damage == "bad manifest":
        (gen / "manifest.json").write_text("{not json")
    else:
        (root / "CURRENT").write_text("../../etc")
    with pytest.raises(RagError, match="damaged.*Delete .* and ingest again"):
        make_bot().store  # noqa: B018 (the index is opened on first use)


# ---------- writers in one process ----------
def test_a_failed_change_leaves_memory_as_the_disk(make_bot, docs_dir, monkeypatch):
    bot = make_bot()
    bot.ingest([docs_dir / "fruit.txt"])

    def crash(self):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(type(bot.store), "save", crash)
    with pytest.raises(OSError):
        bot.ingest([docs_dir / "space.md"])
    monkeypatch.undo()
    assert [os.path.basename(f.source) for f in bot.documents()] == ["fruit.txt"]
    assert not bot.retrieve("Moon orbits Earth", mode="bm25")


def test_a_second_bot_sees_what_another_wrote(make_bot, docs_dir):
    """A server's Bot reads the index again when a CLI ingest (another Bot, another process) changed it."""
    server, cli = make_bot(), make_bot()
    cli.ingest([docs_dir / "fruit.txt"])
    assert [os.path.basename(f.source) for f in server.documents()] == ["fruit.txt"]
    server.ingest([docs_dir / "space.md"])  # the server's write keeps the CLI's file
    assert sorted(os.path.basename(f.source) for f in make_bot().documents()) == ["fruit.txt", "space.md"]
    assert cli.retrieve("Moon orbits the Earth", k=1, mode="bm25")[0].chunk.name == "space.md"


def test_the_write_lock_is_held_by_one_writer_and_says_so_to_the_next(tmp_path):
    import threading

    from rag.store import WriteLock
    order, told = [], []
    first = WriteLock(tmp_path / "index")
    first.__enter__()

    def second():
        with WriteLock(tmp_path / "index", told.append):
            order.append("second")
    t = threading.Thread(target=second)
    t.start()
    t.join(0.5)
    order.append("first done")
    first.__exit__(None, None, None)
    t.join(5)
    assert order == ["first done", "second"]
    assert told and "Another process is writing to the index" in told[0]


def test_json_of_an_answer_has_its_notices(make_bot, docs_dir, fake_generator):
    bot = make_bot(max_question_chars=30)
    bot.ingest([docs_dir])
    fake_generator.queue("Apples are red [1].")
    answer = bot.ask("What colour are apples? " + "Please answer at length. " * 20)
    assert answer.notices == ("The question was cut to its first 30 characters.",)
    assert len(answer.question) <= 30 and json.dumps(answer.notices)
    assert rag.Answer.__dataclass_fields__["refusal_reason"]
