from rag.citations import clean_markers, extract, is_refusal, numbered
from rag.types import Chunk, Hit


def hits(n):
    return [Hit(chunk=Chunk(id=f"c{i}", source=f"/d/f{i}.txt", text=f"passage {i}", start=10 * i,
                            end=10 * i + 9, page=None), score=1.0, rank=i) for i in range(1, n + 1)]


def test_invalid_markers_are_removed_valid_normalised():
    text = "Meta spends $65bn [1]. Bad [7]. Both [2, 9]. Twice [2][2]. After. [3]"
    assert clean_markers(text, 3) == "Meta spends $65bn [1]. Bad. Both [2]. Twice [2]. After [3]."


def test_extract_citations_point_at_passages():
    text = clean_markers("Apples are red [2]. Bananas are yellow [1][2].", 2)
    cites = extract(text, hits(2))
    assert [c.n for c in cites] == [2, 1]
    assert cites[0].chunk_id == "c2" and cites[0].source == "/d/f2.txt" and (cites[0].start, cites[0].end) == (20, 29)
    assert cites[0].sentence == "Apples are red."
    assert cites[1].sentence == "Bananas are yellow."


def test_no_markers_no_citations():
    assert extract("Nothing cited here.", hits(2)) == ()


def test_refusal_detection_ignores_case_and_punctuation():
    refusal = "I could not find the answer in your documents."
    assert is_refusal("i could not find the answer in your documents", refusal)
    assert not is_refusal("Meta spent $60 billion.", refusal)


def test_cleaning_keeps_a_dot_that_starts_a_word():
    assert clean_markers("Since 3.11 the .pdbrc file is read [1] . Then x , y [2].", 2) == \
        "Since 3.11 the .pdbrc file is read [1]. Then x, y [2]."


def test_repeated_markers_for_one_claim_become_one_per_passage_in_order():
    assert clean_markers("X [1][1].", 3) == "X [1]."
    assert clean_markers("X [2][1][2].", 3) == "X [1][2]."
    assert clean_markers("X [2] [1, 2]. [3]", 3) == "X [1][2][3]."
    assert clean_markers("X [3][9][3] and Y [2].", 3) == "X [3] and Y [2]."


def test_consecutive_sentences_keep_their_own_markers():
    assert clean_markers("A is red [1]. B is blue [1][1]. C [2][1].", 2) == "A is red [1]. B is blue [1]. C [1][2]."


def test_rendered_checks_cite_each_passage_once_in_order():
    from rag.verify import SentenceCheck, render
    checks = [SentenceCheck("A is 3 times B (computed).", (2, 1, 2), True), SentenceCheck("C.", (1,), True)]
    assert render(checks) == "A is 3 times B (computed) [1][2]. C [1]."


def test_a_passage_cited_twice_in_one_sentence_is_cited_once_at_its_last_place():
    assert clean_markers("Meta [1] plans $65bn [1] in 2025 [2].", 3) == "Meta plans $65bn [1] in 2025 [2]."
    assert clean_markers("A [1] and B [2], both [1]. C [1].", 3) == "A and B [2], both [1]. C [1]."


def test_a_passage_cited_by_its_file_name_gets_its_number():
    shown = hits(3) + [Hit(chunk=Chunk(id="c9", source="/d/f2.txt", text="more", start=90, end=94, page=None),
                           score=0.5, rank=4)]
    assert numbered("Sounds perfect [f2.txt].", shown) == "Sounds perfect [2]."
    assert numbered("A (f3.txt, page 4). B [f1.txt][2]", shown) == "A [3]. B [1][2]"
    # a name no passage has, and a file named in the sentence's own words, stay as written
    assert numbered("See [other.txt]; f1.txt is long [1].", shown) == "See [other.txt]; f1.txt is long [1]."
    assert clean_markers(numbered("Too [f3.txt] [3].", shown), 4) == "Too [3]."


def test_a_slide_decks_passages_are_placed_by_slide():
    from rag.prompts import format_passages
    slide = Hit(chunk=Chunk(id="d1", source="/d/Q3 review.pptx", text="Churn fell.", start=0, end=11, page=2),
                score=0.9, rank=1)
    page = Hit(chunk=Chunk(id="p1", source="/d/paper.pdf", text="Loss fell.", start=0, end=10, page=2), score=0.8, rank=2)
    assert format_passages([slide, page]) == "[1] (Q3 review.pptx, slide 2)\nChurn fell.\n\n[2] (paper.pdf, page 2)\nLoss fell."
    assert slide.chunk.position == "slide 2, chars 0-11" and page.chunk.position == "page 2, chars 0-10"
    assert numbered("Churn fell (Q3 review.pptx, slide 2).", [slide, page]) == "Churn fell [1]."
