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
