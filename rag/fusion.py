"""Fusing ranked lists from several retrievers."""

from __future__ import annotations


def rrf(rankings: list[list[tuple[int, float]]], k: int = 60, weights: list[float] | None = None):
    """Reciprocal rank fusion: sum of w / (k + rank) over the lists an item appears in."""
    weights = weights or [1.0] * len(rankings)
    fused: dict[int, float] = {}
    for w, ranking in zip(weights, rankings):
        for rank, (item, _) in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + w / (k + rank)
    return sorted(fused.items(), key=lambda x: -x[1])


def _minmax(ranking: list[tuple[int, float]]) -> dict[int, float]:
    if not ranking:
        return {}
    scores = [s for _, s in ranking]
    lo, hi = min(scores), max(scores)
    span = hi - lo
    return {item: (s - lo) / span if span > 0 else 1.0 for item, s in ranking}


def weighted(rankings: list[list[tuple[int, float]]], weights: list[float]):
    """Weighted sum of min-max normalised scores; an item missing from a list scores 0 there."""
    fused: dict[int, float] = {}
    for w, ranking in zip(weights, rankings):
        for item, s in _minmax(ranking).items():
            fused[item] = fused.get(item, 0.0) + w * s
    return sorted(fused.items(), key=lambda x: -x[1])


def distinct(candidates: list[tuple[int, float]], vector, k: int, threshold: float):
    """The first k candidates, in order, leaving out each that is a copy of one kept before it:
    cosine at least `threshold` (the same passage in two files, a section that is also a page of
    its own, a re-saved copy). vector(item) -> unit vector; threshold 1 or more keeps all."""
    if threshold >= 1.0:
        return candidates[:k]
    kept: list[tuple[int, float]] = []
    seen = []
    for item, score in candidates:
        v = vector(item)
        if any(float(v @ u) >= threshold for u in seen):
            continue
        kept.append((item, score))
        seen.append(v)
        if len(kept) == k:
            break
    return kept


def mmr(candidates: list[tuple[int, float]], vectors: dict, k: int, lam: float = 0.7):
    """Maximal marginal relevance over fused candidates: relevance (rescaled to [0, 1]) against
    cosine similarity to the passages already chosen. vectors: item -> unit vector."""
    if not candidates:
        return []
    rel = _minmax(candidates)
    chosen: list[int] = []
    pool = [item for item, _ in candidates]
    while pool and len(chosen) < k:
        def gain(item):
            sim = max((float(vectors[item] @ vectors[c]) for c in chosen), default=0.0)
            return lam * rel[item] - (1 - lam) * sim
        best = max(pool, key=gain)
        chosen.append(best)
        pool.remove(best)
    score = dict(candidates)
    return [(item, score[item]) for item in chosen]
