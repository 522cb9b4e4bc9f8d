"""Each evaluation metric against values computed by hand, edge cases included."""

import math

import pytest

from rag.eval import metrics as m

REFUSAL = "I could not find the answer in your documents."


# ---------- retrieval ----------

def test_first_ranks_keeps_each_document_at_its_best_rank():
    assert m.first_ranks(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]


def test_hit_recall_mrr_ndcg_by_hand():
    ranked = ["x", "a", "y", "b"]
    relevant = {"a", "b", "z"}
    assert m.hit_at_k(ranked, relevant, 1) == 0.0
    assert m.hit_at_k(ranked, relevant, 2) == 1.0
    assert m.recall_at_k(ranked, relevant, 2) == pytest.approx(1 / 3)
    assert m.recall_at_k(ranked, relevant, 10) == pytest.approx(2 / 3)
    assert m.mrr_at_k(ranked, relevant, 10) == 0.5
    assert m.mrr_at_k(ranked, relevant, 1) == 0.0
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert m.ndcg_at_k(ranked, relevant, 10) == pytest.approx(dcg / ideal)


def test_ndcg_ideal_is_cut_at_k_and_perfect_ranking_is_one():
    assert m.ndcg_at_k(["a", "b"], {"a", "b"}, 10) == pytest.approx(1.0)
    # three relevant, k = 1: the ideal list has one relevant document
    assert m.ndcg_at_k(["a"], {"a", "b", "c"}, 1) == pytest.approx(1.0)
    assert m.ndcg_at_k(["x", "a"], {"a"}, 10) == pytest.approx(1 / math.log2(3))


def test_retrieval_metrics_without_gold_sources_are_undefined():
    for fn in (m.hit_at_k, m.recall_at_k, m.mrr_at_k, m.ndcg_at_k):
        assert fn(["a"], set(), 10) is None
    assert m.ndcg_at_k([], {"a"}, 10) == 0.0


# ---------- answers ----------

def test_squad_normalisation():
    assert m.normalize_answer("The  Cat, sat!") == "cat sat"
    assert m.normalize_answer("an apple a day") == "apple day"
    assert m.normalize_answer("$1,000") == "1000"
    assert m.normalize_answer("Jevon’s “Paradox”") == m.normalize_answer("Jevon's \"Paradox\"") == "jevons paradox"


def test_exact_match_and_f1_take_the_best_gold_answer():
    assert m.exact_match("the Normans.", ["Norsemen", "Normans"]) == 1.0
    assert m.exact_match("Normans in France", ["Normans"]) == 0.0
    # pred [cat, sat], gold [cat, sat, on, mat]: precision 1, recall 1/2
    assert m.token_f1("the cat sat", ["cat sat on the mat"]) == pytest.approx(2 / 3)
    assert m.token_f1("the cat sat", ["dog", "cat sat on the mat", "cat"]) == pytest.approx(2 / 3)
    assert m.token_f1("dog", ["cat"]) == 0.0


def test_empty_answer_and_no_gold_answers():
    assert m.exact_match("", ["yellow"]) == 0.0
    assert m.token_f1("", ["yellow"]) == 0.0
    assert m.contains_answer("", ["yellow"]) == 0.0
    assert m.exact_match("yellow", []) is None
    assert m.token_f1("yellow", []) is None
    assert m.contains_answer("yellow", []) is None


def test_containment_is_on_whole_words():
    assert m.contains_answer("Meta will spend over $60 billion in 2025.", ["60 billion"]) == 1.0
    assert m.contains_answer("It is Liang Wenfang’s company.", ["Liang Wenfang"]) == 1.0
    assert m.contains_answer("It is Liang Wenfangs company.", ["Liang Wenfang"]) == 0.0
    assert m.contains_answer("It costs 10 billion.", ["1"]) == 0.0
    assert m.contains_answer("It costs 1,000 dollars.", ["1000"]) == 1.0
    assert m.contains_answer("anything", ["the"]) == 0.0  # a gold answer that normalises to nothing


def test_strip_answer_removes_markers_and_the_refusal():
    assert m.strip_answer("Over $60 billion [1][2].", REFUSAL) == "Over $60 billion."
    assert m.strip_answer(REFUSAL, REFUSAL) == ""
    assert m.strip_answer("i could not find the answer in your documents", REFUSAL) == ""
    assert m.strip_answer("Bananas are yellow [1]. " + REFUSAL, REFUSAL) == "Bananas are yellow."


# ---------- numbers ----------

def test_number_forms():
    assert m.number_forms("1,000 GPUs") == {"1000"}
    assert m.number_forms("$65 billion") == {"65", "65000000000"}
    assert m.number_forms("USD20bn") == {"20", "20000000000"}
    assert m.number_forms("2.50% and 3.0") == {"2.5", "3"}
    assert m.number_forms("DeepSeek R1 on H100 chips [2]") == set()


def test_a_computed_interval_is_judged_by_its_dates_and_its_count():
    passages = ["France took Algeria in 1830.", "Algeria became independent in 1962."]
    right = "1830 [1] 1962 [2] From 1830 to 1962 is 132 years (computed) [1][2]."
    assert m.unsupported_numbers(right, passages) == []
    assert m.unsupported_numbers(right.replace("132", "130"), passages) == ["130"]
    assert m.supports("From 1830 to 1962 is 132 years (computed).", passages)
    assert not m.supports("From 1830 to 1962 is 132 years (computed).", passages[:1])  # one date unread
    assert m.interval_right("From 24 September to 15 November is 52 days (computed).")
    assert m.interval_right("From 7 March 2025 to 1 April 2025 is 3 weeks and 4 days (computed).")
    assert not m.interval_right("From 1573 to 1685 is 111 years (computed).")
    assert not m.interval_right("From the vote to the strike is 4 days (computed).")  # no dates to check


def test_a_computed_order_is_judged_by_its_dates():
    passages = ["The edict was issued in 1598.", "The war began in 1754."]
    assert m.supports("Yes: 1598 is before 1754 (computed).", passages)
    assert not m.supports("Yes: 1754 is before 1598 (computed).", passages)  # the wrong way round
    assert not m.supports("Yes: 1598 is before 1754 (computed).", passages[:1])


def test_unsupported_numbers():
    passages = ["Meta would spend more than $60 billion in 2025.", "Training took 1000 GPUs."]
    assert m.unsupported_numbers("Meta will spend $60 billion in 2025 using 1,000 GPUs.", passages) == []
    assert m.unsupported_numbers("Meta will spend $65 billion.", passages) == ["65 billion"]
    assert m.unsupported_numbers("Meta spends 60,000,000,000 dollars.", passages) == []
    assert m.unsupported_numbers("In 2024 it was less.", passages, question="What about 2024?") == []
    assert m.unsupported_numbers("", passages) == []


# ---------- citations ----------

P1 = "Meta would spend more than $60 billion in 2025 alone on capital expenditures."
P2 = "Apples are red. Bananas are yellow."


def test_supports_needs_content_words_numbers_and_names():
    assert m.supports("Meta will spend more than $60 billion in 2025.", [P1])
    assert not m.supports("Meta will spend more than $65 billion in 2025.", [P1])  # number
    assert not m.supports("Meta and Google will spend $60 billion in 2025.", [P1])  # name
    assert not m.supports("Bananas taste sweet and grow in tropical plantations.", [P2])  # 1 of 6 words
    assert m.supports("Bananas are yellow.", [P1, P2])
    assert not m.supports("Bananas are yellow.", [])


def test_citation_verdicts_coverage_support_precision_by_hand():
    text = "Meta will spend more than $60 billion in 2025 [1][2]. Bananas are yellow [2]. Apples grow on trees."
    verdicts = m.citation_verdicts(text, {1: P1, 2: P2})
    assert [v["cites"] for v in verdicts] == [[1, 2], [2], []]
    assert [v["supported"] for v in verdicts] == [True, True, False]
    # [2] in the first sentence is neither needed nor sufficient
    assert [v["precise"] for v in verdicts] == [[True, False], [True], []]
    assert m.citation_coverage(verdicts) == pytest.approx(2 / 3)
    assert m.citation_support(verdicts) == pytest.approx(2 / 3)
    assert m.citation_precision(verdicts) == pytest.approx(2 / 3)


def test_two_citations_needed_together_are_both_precise():
    text = "Meta will spend $60 billion while Bananas are yellow [1][2]."
    [v] = m.citation_verdicts(text, {1: P1, 2: P2})
    assert v["supported"] and v["precise"] == [True, True]


def test_citations_of_an_empty_answer_are_undefined():
    assert m.citation_verdicts("", {1: P1}) == []
    assert m.citation_verdicts("3. [1]\n4.", {1: P1}) == []  # list numbers say nothing
    assert m.citation_coverage([]) is None
    assert m.citation_support([]) is None
    assert m.citation_precision([]) is None


def test_citation_validity_counts_markers_to_shown_passages():
    assert m.citation_validity("A [1]. B [3][2]. C [7].", {1, 2, 3}) == pytest.approx(3 / 4)
    assert m.citation_validity("No markers.", {1}) is None


# ---------- refusals ----------

def test_refusal_scores_by_hand():
    answerable = [True, True, True, False, False]
    refused = [False, True, False, True, False]
    s = m.refusal_scores(answerable, refused)
    assert s["precision"] == 0.5 and s["recall"] == 0.5 and s["f1"] == 0.5
    assert s["over_refusal"] == pytest.approx(1 / 3)


def test_refusal_edge_cases():
    all_refused = m.refusal_scores([True, False], [True, True])
    assert all_refused == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "over_refusal": 1.0}
    no_unanswerable = m.refusal_scores([True, True], [False, True])
    assert no_unanswerable["recall"] is None and no_unanswerable["f1"] is None
    assert no_unanswerable["precision"] == 0.0 and no_unanswerable["over_refusal"] == 0.5
    no_refusals = m.refusal_scores([True, False], [False, False])
    assert no_refusals["precision"] is None and no_refusals["recall"] == 0.0 and no_refusals["f1"] is None
    assert m.refusal_scores([], [])["over_refusal"] is None


# ---------- speed and aggregation ----------

def test_percentile_and_tokens_per_second():
    assert m.percentile([1, 2, 3, 4], 50) == 2.5
    assert m.percentile([None, 2.0], 95) == 2.0
    assert m.percentile([], 50) is None
    assert m.tokens_per_second([10, 30], [1.0, 1.0]) == 20.0
    assert m.tokens_per_second([], []) is None


def test_mean_stat_counts_and_interval():
    s = m.mean_stat([1.0, 0.0, None, 1.0, 1.0])
    assert s["value"] == 0.75 and s["n"] == 4
    assert 0.0 <= s["ci95"][0] <= 0.75 <= s["ci95"][1] <= 1.0
    assert m.mean_stat([1.0, 0.0, 1.0, 1.0], seed=3) == m.mean_stat([1.0, 0.0, 1.0, 1.0], seed=3)
    assert m.mean_stat([0.5, 0.5])["ci95"] == [0.5, 0.5]
    assert m.mean_stat([None]) == {"value": None, "n": 0, "ci95": None}


def test_bootstrap_stat_of_a_ratio():
    pairs = [(True, False)] * 8 + [(False, True)] * 2
    s = m.bootstrap_stat(pairs, lambda p: m.refusal_scores([a for a, _ in p], [r for _, r in p])["recall"], 2)
    assert s["value"] == 1.0 and s["n"] == 2 and s["ci95"] == [1.0, 1.0]
    assert m.bootstrap_stat([], lambda p: None, 0) == {"value": None, "n": 0, "ci95": None}
