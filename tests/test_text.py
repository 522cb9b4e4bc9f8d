from rag import text


def test_stems_match_the_forms_an_answer_and_a_passage_use():
    assert text.stem("planned") == text.stem("plans") == "plan"
    assert text.stem("used") == text.stem("use")
    assert text.stem("microsoft's") == "microsoft"
    assert text.stem("feared") == text.stem("fear")


def test_content_words_leave_out_stop_words_and_short_words():
    assert text.content_words("What did Tom paint in the kitchen of his flat?") == {"tom", "paint", "kitchen", "flat"}
    assert text.words("Nadia's new-build flat") == ["nadia's", "new-build", "flat"]


def test_grounding_the_chat_and_the_eval_share_one_list_and_one_stemmer():
    from rag import verify
    from rag.eval import metrics
    from ui import app
    assert verify.STOPWORDS is text.STOPWORDS and app.STOPWORDS is text.STOPWORDS
    assert text.STOPWORDS <= metrics.STOPWORDS
    assert verify.content_words is text.content_words
    assert metrics.words("plans") == [text.stem("plans")]
