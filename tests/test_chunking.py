from rag.chunking import all_sentences, chunk_document, sentences
from rag.types import Document


def words(text):
    return len(text.split())


def test_sentences_keep_exact_spans_and_abbreviations():
    text = "Mr. Smith went to the U.S. office. It cost $5.5 billion! Did it? Yes."
    spans = sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "Mr. Smith went to the U.S. office.", "It cost $5.5 billion!", "Did it?", "Yes."]


def test_chunks_are_exact_spans_within_size_with_overlap():
    body = " ".join(f"Sentence number {i} talks about topic {i}." for i in range(30))
    doc = Document(source="/x/a.txt", text="Title line\n" + body + "\n")
    chunks = chunk_document(doc, size=20, overlap=8, count=words)
    assert len(chunks) > 3
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text
        assert words(c.text) <= 20
    # consecutive chunks share their boundary sentence (overlap), and cover everything
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end
    assert chunks[-1].text.endswith("topic 29.")


def test_repeated_paragraphs_are_indexed_once():
    para = "This paragraph is repeated word for word in the comment thread below."
    doc = Document(source="/x/t.txt", text=f"{para}\nA different comment here.\n{para}\nAnother one.\n")
    chunks = chunk_document(doc, size=100, overlap=10, count=words)
    joined = " ".join(c.text for c in chunks)
    assert joined.count("repeated word for word") == 1
    assert "Another one." in joined


def test_overlong_sentence_is_cut_at_words():
    doc = Document(source="/x/l.txt", text=" ".join(f"w{i}" for i in range(50)))
    chunks = chunk_document(doc, size=12, overlap=0, count=words)
    assert all(words(c.text) <= 12 for c in chunks)
    assert sum(words(c.text) for c in chunks) == 50


def test_pages_are_kept():
    doc = Document(source="/x/p.pdf", text="Page one text.\n\nPage two text.", pages=((1, 0), (2, 16)))
    chunks = chunk_document(doc, size=3, overlap=0, count=words)
    assert [c.page for c in chunks] == [1, 2]


def test_all_sentences_splits_paragraphs():
    assert len(all_sentences("One. Two.\nThree")) == 3


def test_a_hard_wrapped_sentence_is_one_sentence_and_a_line_of_its_own_stays_one():
    wrapped = ("The simple form is a convenient way to insert debugging\nassertions into a program,\n"
               "and it costs nothing when optimised.\nThe extended form\n\nraises an error.")
    assert [wrapped[s:e] for s, e in all_sentences(wrapped)] == [
        "The simple form is a convenient way to insert debugging\nassertions into a program,\n"
        "and it costs nothing when optimised.", "The extended form", "raises an error."]
    log = "[2025-03-07 09:00] Sam: the hall is booked,\n[2025-03-07 09:05] Kim: great\nthanks Sam"
    # a stamped line is a message of its own; a line with no stamp carries on the message before it
    assert [log[s:e] for s, e in all_sentences(log)] == [
        "[2025-03-07 09:00] Sam: the hall is booked,", "[2025-03-07 09:05] Kim: great\nthanks Sam"]
    thread = "Prices collapsed after that, as the whole market knows. " * 3 + "https://example.org/nickel\nwe saw it too."
    assert len(all_sentences(thread)) == 5  # a long line is not wrapped text: two comments stay two
    listed = "Options:\n- fast\n- cheap, and wrapped\nonto a second line\n- Done"
    assert [listed[s:e] for s, e in all_sentences(listed)] == [
        "Options:", "- fast", "- cheap, and wrapped\nonto a second line", "- Done"]


def test_a_wrapped_line_opening_with_a_quoted_or_emphasised_word_carries_on_the_sentence():
    text = ('It is also recommended that mappings provide the methods "keys()", "get()",\n'
            '"clear()" and "pop()", behaving similar to those of\n*dict* objects.\n'
            '"Quoted" at the start of a sentence\n* a bullet\n(A note.)')
    assert [text[s:e] for s, e in all_sentences(text)] == [
        'It is also recommended that mappings provide the methods "keys()", "get()",\n'
        '"clear()" and "pop()", behaving similar to those of\n*dict* objects.',
        '"Quoted" at the start of a sentence', "* a bullet", "(A note.)"]
