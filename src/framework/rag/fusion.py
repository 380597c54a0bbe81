"""Reciprocal rank fusion: combine rankings by position, not by score.

BM25 scores and cosine similarities live on unrelated scales; RRF only uses each list's
ranks (score = sum of weight / (k + rank)), so it needs no calibration. A weight below 1 lets
a weaker retriever add documents the other one missed without reordering its top hits.

Equal fused scores are ordered by id, so the fused list depends only on the rankings given,
never on the order in which the retrievers' lists happen to be passed or built.
"""

from __future__ import annotations

from collections.abc import Sequence

DEFAULT_RRF_K = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]],
    weights: Sequence[float] | None = None,
    k: int = DEFAULT_RRF_K,
) -> list[tuple[str, float]]:
    """(id, fused score) best first; equal scores by id (ascending)."""
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    # rounded for the comparison: two sums of the same terms in another order may differ in
    # their last bit, and such a tie must still fall to the id
    return sorted(scores.items(), key=lambda pair: (-round(pair[1], 12), pair[0]))
