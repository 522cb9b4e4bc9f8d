import pytest

from rag.errors import LoadError
from rag.chunking import chunk_document
from rag.loaders import expand, load_file

from helpers import make_docx, make_epub, make_pdf, make_pptx


def test_text_and_markdown(tmp_path):
    (tmp_path / "a.txt").write_text("Plain text here.")
    (tmp_path / "b.md").write_text("# Title\nSome *markdown*.")
    assert load_file(tmp_path / "a.txt").text == "Plain text here."
    assert "Some *markdown*." in load_file(tmp_path / "b.md").text


def test_html_drops_scripts_and_styles(tmp_path):
    (tmp_path / "p.html").write_text("<html><head><style>body{color:red}</style><script>alert('x')</script>"
                                     "</head><body><h1>Heading</h1><p>Visible paragraph.</p></body></html>")
    text = load_file(tmp_path / "p.html").text
    assert "Heading" in text and "Visible paragraph." in text
    assert "alert" not in text and "color" not in text


def test_html_reads_as_a_browser_lays_it_out(tmp_path):
    """Inline elements (links, emphasis, citations, maths) run on in their sentence; blocks,
    line breaks, table rows and a <pre>'s lines stand apart."""
    (tmp_path / "p.html").write_text(
        "<body><p>Momentum is <em>not</em>\n   new: as <a href='#n'>Polyak</a> showed in <d-cite>1964</d-cite>, for\n"
        "<d-math>\\beta = 0</d-math>, we recover gradient descent.</p><ul><li>One <b>item</b></li><li>Two</li></ul>"
        "<table><tr><th>optimizer</th><th>rate</th></tr><tr><td>SGD</td><td>0.1</td></tr></table>"
        "<pre>x = 1\ny = 2</pre>Line one<br>Line two<!-- a comment --></body>")
    text = load_file(tmp_path / "p.html").text
    assert text.splitlines() == [
        "Momentum is not new: as Polyak showed in 1964, for \\beta = 0, we recover gradient descent.",
        "One item", "Two", "optimizer | rate", "SGD | 0.1", "x = 1", "y = 2", "Line one", "Line two"]


def test_a_markdown_notes_front_matter_gives_its_title_and_date(tmp_path):
    (tmp_path / "n.md").write_text('---\ntitle: "Moving day"\ndate: 2025-03-07T09:30\ntags: [move]\n---\n# Leeds\nThe van came.')
    doc = load_file(tmp_path / "n.md")
    assert (doc.title, doc.dates) == ("Moving day", ((0, "2025-03-07"),))
    assert doc.text.startswith("---\ntitle:") and doc.text.endswith("The van came.")
    (tmp_path / "c.md").write_text("---\ncreated: 2025-04-01\n---\nFirst day at the lab.")
    assert (load_file(tmp_path / "c.md").title, load_file(tmp_path / "c.md").dates) == (
        "First day at the lab.", ((0, "2025-04-01"),))
    (tmp_path / "rule.md").write_text("Intro.\n\n---\ndate: 2025-03-07\n---\n# Notes")
    assert (load_file(tmp_path / "rule.md").title, load_file(tmp_path / "rule.md").dates) == ("Notes", ())


def test_pdf_keeps_page_numbers(tmp_path):
    doc = load_file(make_pdf(tmp_path / "r.pdf", ["First page words.", "Second page words."]))
    assert "First page words." in doc.text and "Second page words." in doc.text
    assert doc.page_at(doc.text.index("Second")) == 2
    assert doc.page_at(0) == 1


def test_a_justified_pdf_lines_gaps_read_as_single_spaces(tmp_path):
    doc = load_file(make_pdf(tmp_path / "j.pdf", ["A  visual   guide  to  CTC."]))
    assert doc.text == "A visual guide to CTC."


def test_a_pdf_pages_ligatures_read_as_their_letters():
    from rag.loaders import pdf_page_text
    assert pdf_page_text(" The ﬁrst  ﬂow is eﬃcient. ") == "The first flow is efficient."


def test_a_word_broken_at_a_pdfs_soft_hyphen_is_read_whole():
    from rag.loaders import pdf_page_text
    assert pdf_page_text("Po\n\u00ad\nlitik und Immo\u00ad\nbilien, ein Wert\u00adpapier-\nindex") == (
        "Politik und Immobilien, ein Wertpapier-\nindex")


def test_a_pdf_contents_leader_dots_read_as_one_ellipsis():
    from rag.loaders import pdf_page_text
    assert pdf_page_text("2.3 Naming . . . . . . . . 3\n2.4 Notes........12\nWait... so 1.2.3 it is.") == (
        "2.3 Naming … 3\n2.4 Notes … 12\nWait... so 1.2.3 it is.")


def test_a_word_a_pdf_line_broke_is_read_whole(tmp_path):
    doc = load_file(make_pdf(tmp_path / "h.pdf", ["The declara-\ntions are read by the parser, and by a non-\nEnglish tool.",
                                                   "Its self-organizing maps are self-\norganizing.",
                                                   "They use ReLU and Re-\nLU units."]))
    assert doc.text.split("\n\n") == ["The declarations are read by the parser, and by a non-English tool.",
                                       "Its self-organizing maps are self-organizing.",
                                       "They use ReLU and ReLU units."]


def test_a_broken_word_joined_or_kept_by_the_documents_own_words():
    from rag.loaders import join_broken_words
    assert join_broken_words(["an en-\ncoding"]) == ["an encoding"]
    assert join_broken_words(["a well-\nknown fact, well known"]) == ["a well-known fact, well known"]
    assert join_broken_words(["a some-\ntimes fact, sometimes"]) == ["a sometimes fact, sometimes"]
    assert join_broken_words(["non-\nEnglish text", "OP-\nTIONAL"]) == ["non-English text", "OPTIONAL"]
    assert join_broken_words(["an en\u2010\ncoding, a well\u2010\nknown well known"]) == [
        "an encoding, a well\u2010known well known"]
    assert join_broken_words(["2024-\n25 and x-\n1"]) == ["2024-\n25 and x-\n1"]


def test_docx_and_csv(tmp_path):
    assert "Hello from Word." in load_file(make_docx(tmp_path / "w.docx", ["Hello from Word."])).text
    (tmp_path / "t.csv").write_text("company,capex\nMeta,65\nMicrosoft,80\n")
    text = load_file(tmp_path / "t.csv").text
    assert "company: Meta; capex: 65." in text and "Microsoft" in text


def _message(sender: str, subject: str, date: str, body: str, attachment: str = ""):
    from email.message import EmailMessage
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Date"] = sender, "Nadia Brooks <nadia@example.org>", subject, date
    m.set_content(body)
    if attachment:
        m.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename=attachment)
    return m


def test_an_email_reads_as_who_wrote_to_whom_when_and_what(tmp_path):
    m = _message("Karen Hollis <karen@hollis.example>", "Your tenancy contract", "Fri, 07 Mar 2025 09:30:00 +0000",
                 "Hi Nadia,\n\nThe contract is attached. The rent is £950 a month.", attachment="contract.pdf")
    (tmp_path / "contract.eml").write_bytes(m.as_bytes())
    doc = load_file(tmp_path / "contract.eml")
    assert doc.title == "Your tenancy contract"
    assert doc.text.splitlines()[0] == ("From: Karen Hollis <karen@hollis.example> | To: Nadia Brooks <nadia@example.org>"
                                        " | Subject: Your tenancy contract | Date: 2025-03-07 09:30")
    assert "The rent is £950 a month." in doc.text and doc.text.endswith("(Attachments: contract.pdf)")


def test_an_email_with_an_html_body_alone_reads_as_its_text(tmp_path):
    from email.message import EmailMessage
    m = EmailMessage()
    m["From"], m["Subject"], m["Date"] = "jamal@fernhill.example", "Bristol", "Mon, 06 Oct 2025 16:00:00 +0100"
    m.set_content("<html><body><p>Your talk is in <b>room B</b>.</p><script>x()</script></body></html>", subtype="html")
    (tmp_path / "talk.eml").write_bytes(m.as_bytes())
    text = load_file(tmp_path / "talk.eml").text
    assert "Date: 2025-10-06 16:00" in text and "room B" in text and "<p>" not in text and "x()" not in text


def test_a_mailbox_reads_as_its_messages_in_order(tmp_path):
    import mailbox
    box = mailbox.mbox(str(tmp_path / "inbox.mbox"))
    karen = "Karen Hollis <karen@hollis-lettings.example>"
    box.add(_message(karen, "Contract", "Fri, 07 Mar 2025 09:30:00 +0000", "The rent is £950."))
    box.add(_message("vets@greenbank.example", "Booster", "Sat, 12 Jul 2025 09:00:00 +0100", "Pickle is booked in."))
    box.add(_message(karen, "Keys", "Mon, 10 Mar 2025 10:00:00 +0000", "Your keys are ready."))
    box.close()
    doc = load_file(tmp_path / "inbox.mbox")
    assert doc.title == "inbox"
    # each message keeps its whole header when it is indexed: none is a line that others repeat
    chunks = chunk_document(doc, 160, 32, lambda t: len(t.split()))
    assert sum(c.text.count(f"From: {karen}") for c in chunks) == 2
    assert doc.text.index("Date: 2025-03-07 09:30") < doc.text.index("The rent is £950.") \
        < doc.text.index("Date: 2025-07-12 09:00") < doc.text.index("Pickle is booked in.")


def test_a_mailboxs_from_escapes_and_a_replys_quoted_blank_lines_are_not_read(tmp_path):
    import mailbox
    box = mailbox.mbox(str(tmp_path / "club.mbox"))  # the mailbox writes the body's "From " as ">From "
    box.add(_message("sec@club.example", "Track", "Fri, 28 Feb 2025 18:00:00 +0000",
                     "From Wednesday 5 March we meet at 7pm.\n\n> On Tue, Sam wrote:\n> Which night?\n>\n> > Tuesdays?\n"))
    box.close()
    assert ">From" in (tmp_path / "club.mbox").read_text()
    text = load_file(tmp_path / "club.mbox").text
    assert text.endswith("From Wednesday 5 March we meet at 7pm.\n\n> On Tue, Sam wrote:\n> Which night?\n\n> > Tuesdays?")


def test_each_message_of_a_mailbox_dates_the_passages_cut_from_it(tmp_path):
    import mailbox
    box = mailbox.mbox(str(tmp_path / "inbox.mbox"))
    box.add(_message("karen@hollis.example", "Contract", "Fri, 07 Mar 2025 09:30:00 +0000", "The rent is £950. " * 30))
    undated = _message("vets@greenbank.example", "Booster", "", "Pickle is booked in.")
    del undated["Date"]
    box.add(undated)
    box.add(_message("karen@hollis.example", "Keys", "Mon, 10 Mar 2025 10:00:00 +0000", "Your keys are ready."))
    box.close()
    doc = load_file(tmp_path / "inbox.mbox")
    chunks = chunk_document(doc, 64, 16, lambda t: len(t.split()))
    assert len(chunks) > 3 and all(c.date == "2025-03-07" for c in chunks if "rent" in c.text)
    # no passage joins two messages, so none is dated by the other's day
    [pickle] = [c for c in chunks if "Pickle" in c.text]
    [keys] = [c for c in chunks if "keys" in c.text]
    assert pickle.date is None and "rent" not in pickle.text and "keys" not in pickle.text
    assert keys.date == "2025-03-10"


def test_a_documents_metadata_dates_it(tmp_path):
    import datetime

    import docx
    from pypdf import PdfWriter
    pdf = make_pdf(tmp_path / "r.pdf", ["First page words.", "Second page words."])
    writer = PdfWriter(clone_from=str(pdf))
    writer.add_metadata({"/CreationDate": "D:20241102093000Z"})
    writer.write(str(pdf))
    written = make_docx(tmp_path / "w.docx", ["Hello from Word."])
    d = docx.Document(str(written))
    d.core_properties.created = datetime.datetime(2025, 3, 7, 9, 0)
    d.save(str(tmp_path / "dated.docx"))
    (tmp_path / "news.html").write_text('<html><head><meta property="article:published_time" '
                                        'content="2025-01-29T18:05:00Z"></head><body><p>Meta pledges.</p></body></html>')
    (tmp_path / "c.eml").write_bytes(_message("k@h.example", "Keys", "Mon, 10 Mar 2025 10:00:00 +0000", "Ready.").as_bytes())
    assert load_file(pdf).dates == ((0, "2024-11-02"),)
    assert load_file(tmp_path / "dated.docx").dates == ((0, "2025-03-07"),)
    assert load_file(tmp_path / "news.html").dates == ((0, "2025-01-29"),)
    assert load_file(tmp_path / "c.eml").dates == ((0, "2025-03-10"),)
    chunks = chunk_document(load_file(pdf), 160, 32, lambda t: len(t.split()))
    assert [c.date for c in chunks] == ["2024-11-02"]
    # nothing that merely carries a tool's default: python-docx's template, a page without a date
    assert load_file(written).dates == ()
    assert load_file(make_pdf(tmp_path / "plain.pdf", ["Plain page."])).dates == ()
    (tmp_path / "odd.html").write_text('<meta name="date" content="2025-02-30"><p>Not a day.</p>')
    assert load_file(tmp_path / "odd.html").dates == ()


@pytest.mark.parametrize("name,content,reason", [
    ("x.exe", b"MZ", "unsupported file type"),
    ("notes.eml", b"just some words, no headers", "not an e-mail message"),
    ("empty.mbox", b"", "no text"),
    ("empty.txt", b"   \n", "no text"),
    ("broken.pdf", b"%PDF-1.4 garbage", "PDF"),
    ("broken.docx", b"not a zip", "docx"),
])
def test_bad_files_raise_load_error_with_reason(tmp_path, name, content, reason):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(LoadError, match=reason):
        load_file(tmp_path / name)


def test_expand_walks_folders_and_reports_unsupported(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("a")
    (tmp_path / "b.md").write_text("b")
    (tmp_path / "c.bin").write_bytes(b"\0")
    (tmp_path / ".hidden.txt").write_text("h")
    files, skipped = expand([tmp_path, tmp_path / "nope.txt"])
    assert [f.name for f in files] == ["b.md", "a.txt"]
    assert {s.path.rsplit("/", 1)[-1] for s in skipped} == {"c.bin", "nope.txt"}


def test_titles_come_from_the_document(tmp_path):
    from pypdf import PdfWriter
    (tmp_path / "p.html").write_text("<html><head><title> Quarterly   report </title></head>"
                                     "<body><h1>Other</h1><p>Text.</p></body></html>")
    (tmp_path / "n.md").write_text("Intro line.\n\n## Setting up the printer ##\nSteps.")
    (tmp_path / "0f3a9c.txt").write_text("In This Article:\nTesla, Meta and Microsoft on capex. More here.\n")
    (tmp_path / "long.txt").write_text("word " * 40)
    (tmp_path / "t.csv").write_text("name,colour\nkiwi,green\n")
    pdf = make_pdf(tmp_path / "r.pdf", ["First page words."])
    writer = PdfWriter(clone_from=str(pdf))
    writer.add_metadata({"/Title": "Annual Review 2024"})
    writer.write(str(pdf))
    docx = make_docx(tmp_path / "w.docx", ["Hello from Word."])
    assert load_file(tmp_path / "p.html").title == "Quarterly report"
    assert load_file(tmp_path / "n.md").title == "Setting up the printer"
    assert load_file(tmp_path / "0f3a9c.txt").title == "Tesla, Meta and Microsoft on capex."
    assert load_file(tmp_path / "long.txt").title.endswith("word…") and len(load_file(tmp_path / "long.txt").title) <= 81
    assert load_file(tmp_path / "t.csv").title == ""
    assert load_file(pdf).title == "Annual Review 2024"
    assert load_file(make_pdf(tmp_path / "plain.pdf", ["Plain page."])).title == "Plain page."
    assert load_file(docx).title == "Hello from Word."


def test_the_title_is_kept_in_the_index(make_bot, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "9b1e.md").write_text("# Printer guide\nPress the green button.")
    bot = make_bot()
    bot.ingest([tmp_path / "d"])
    (doc,) = bot.documents()
    assert doc.title == "Printer guide" and doc.name == "9b1e.md"
    assert rag_open_titles(bot) == ["Printer guide"]


def rag_open_titles(bot):
    import rag
    return [f.title for f in rag.open(bot.settings).documents()]  # read back from the manifest on disk


def test_a_title_keeps_an_abbreviation_whole(tmp_path):
    (tmp_path / "n.txt").write_text("U.S. markets panicked on Monday. Nvidia fell.\n")
    assert load_file(tmp_path / "n.txt").title == "U.S. markets panicked on Monday."


def test_an_html_images_alt_text_is_read_when_it_describes_the_image(tmp_path):
    (tmp_path / "p.html").write_text(
        '<body><h2>let-else <img alt="Minimum Rust version: 1.65" src="b.svg"></h2><img alt="logo" src="l.png">'
        '<p>The stack:</p><figure><img src="f.svg" alt="A box labelled Cons  holds an i32."></figure>'
        '<img alt="build-info" src="i.png"><img src="x.png"></body>')
    assert load_file(tmp_path / "p.html").text.splitlines() == [
        "let-else Minimum Rust version: 1.65", "The stack:", "A box labelled Cons holds an i32."]


def test_an_epub_reads_its_chapters_in_reading_order_with_its_title_and_date(tmp_path):
    book = make_epub(tmp_path / "b.epub", [("one.xhtml", "<h1>Chapter 1</h1><p>Rain in <em>Leeds</em>.</p>"),
                                          ("text/two%20b.xhtml", "<h1>Chapter 2</h1><p>Sun in Porto.</p>")],
                     title="Two Cities", date="2024-05-01T00:00:00Z")
    doc = load_file(book)
    assert (doc.title, doc.dates) == ("Two Cities", ((0, "2024-05-01"),))
    # the table of contents (nav) is not read as a chapter, nor the <title> each chapter repeats
    assert doc.text == "Chapter 1\nRain in Leeds.\n\nChapter 2\nSun in Porto."


def test_an_epub_that_is_not_one_or_is_encrypted_is_skipped_with_a_reason(tmp_path):
    (tmp_path / "fake.epub").write_bytes(b"not a zip")
    with pytest.raises(LoadError, match="not a zip archive"):
        load_file(tmp_path / "fake.epub")
    with pytest.raises(LoadError, match="encrypted"):
        load_file(make_epub(tmp_path / "drm.epub", [("one.xhtml", "<p>x</p>")], encrypted=True))


def test_a_slide_decks_slides_are_its_pages_with_their_notes_and_tables(tmp_path):
    deck = make_pptx(tmp_path / "q3.pptx", [
        ("Q3 review", ["Revenue grew 12%", "Churn fell", "Hiring paused"], "Say the churn figure is provisional."),
        ("Next steps", ["Open the Leeds office"], "")], table=[["region", "target"], ["North", "£2m"]])
    doc = load_file(deck)
    assert doc.title == "Q3 review"
    assert doc.text.split("\n\n") == [
        "Q3 review\nRevenue grew 12%\nChurn fell\nHiring paused\nSay the churn figure is provisional.",
        "Next steps\nOpen the Leeds office\nregion | target\nNorth | £2m"]
    assert doc.page_at(doc.text.index("Open the Leeds")) == 2 and doc.page_at(0) == 1
    assert doc.dates == ()  # python-pptx's template date is not the deck's
    (tmp_path / "fake.pptx").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(LoadError, match="pptx"):
        load_file(tmp_path / "fake.pptx")


def test_a_workbooks_sheets_read_as_rows_of_column_value_pairs(tmp_path):
    import datetime
    import openpyxl
    book = openpyxl.Workbook()
    budget = book.active
    budget.title = "Budget"
    budget.append([])
    budget.append(["item", "cost", "paid on"])
    budget.append(["van hire", 120.0, datetime.datetime(2025, 5, 3)])
    budget.append(["boxes", 18.5, None])
    book.create_sheet("Notes").append(["Deposit back in June"])
    book.save(tmp_path / "move.xlsx")
    doc = load_file(tmp_path / "move.xlsx")
    assert doc.text == ("Sheet: Budget\nitem: van hire; cost: 120; paid on: 2025-05-03.\nitem: boxes; cost: 18.5.\n\n"
                        "Sheet: Notes\nDeposit back in June")
    del book["Notes"]
    book.save(tmp_path / "one.xlsx")
    assert load_file(tmp_path / "one.xlsx").text.startswith("item: van hire;")
    (tmp_path / "fake.xlsx").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(LoadError, match="xlsx"):
        load_file(tmp_path / "fake.xlsx")
