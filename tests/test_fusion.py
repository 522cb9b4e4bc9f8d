import numpy as np
import pytest

from rag.fusion import distinct, mmr, rrf, weighted


def test_rrf_by_hand():
    fused = dict(rrf([[(1, 9.0), (2, 8.0)], [(2, 0.5), (3, 0.4)]], k=60))
    assert fused[2] == pytest.approx(1 / 62 + 1 / 61)
    assert fused[1] == pytest.approx(1 / 61)
    assert fused[3] == pytest.approx(1 / 62)
    assert max(fused, key=fused.get) == 2


def test_weighted_minmax_by_hand():
    dense = [(1, 0.9), (2, 0.5), (3, 0.1)]
    lexical = [(3, 10.0), (1, 0.0)]
    fused = dict(weighted([dense, lexical], [0.7, 0.3]))
    assert fused[1] == pytest.approx(0.7 * 1.0 + 0.3 * 0.0)
    assert fused[2] == pytest.approx(0.7 * 0.5)
    assert fused[3] == pytest.approx(0.7 * 0.0 + 0.3 * 1.0)


def test_weighted_with_an_empty_list():
    assert weighted([[(1, 0.3)], []], [0.5, 0.5]) == [(1, 0.5)]


def test_mmr_skips_near_duplicates():
    a = np.array([1.0, 0.0]); b = np.array([0.99, 0.141]); c = np.array([0.0, 1.0])
    vectors = {1: a, 2: b / np.linalg.norm(b), 3: c}
    candidates = [(1, 1.0), (2, 0.95), (3, 0.6)]
    assert [i for i, _ in mmr(candidates, vectors, k=2, lam=0.5)] == [1, 3]
    assert [i for i, _ in mmr(candidates, vectors, k=2, lam=1.0)] == [1, 2]


def test_distinct_leaves_out_copies_and_keeps_the_order():
    a = np.array([1.0, 0.0]); copy = np.array([0.999, 0.0447]); c = np.array([0.6, 0.8]); d = np.array([0.0, 1.0])
    vectors = {1: a, 2: copy / np.linalg.norm(copy), 3: c, 4: d}
    candidates = [(1, 0.9), (2, 0.8), (3, 0.7), (4, 0.6)]
    assert distinct(candidates, vectors.get, k=2, threshold=0.97) == [(1, 0.9), (3, 0.7)]
    assert distinct(candidates, vectors.get, k=3, threshold=0.97) == [(1, 0.9), (3, 0.7), (4, 0.6)]
    assert distinct(candidates, vectors.get, k=2, threshold=1.0) == [(1, 0.9), (2, 0.8)]
