"""The metric functions against values worked out by hand (trec_eval's definitions)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.evaluation.metrics import (
    average_precision_at_k,
    contains_any,
    dcg,
    first_hit_rank,
    mean,
    mrr_at_k,
    ndcg_at_k,
    normalize_text,
    percentile,
    ratio,
    recall_at_k,
)

# Three toy queries with graded judgements (grade 0 = judged, not relevant).
QRELS = {
    "q1": {"d1": 3, "d2": 2, "d3": 1},
    "q2": {"d7": 1, "d8": 0},
    "q3": {"d1": 2, "d2": 2},
}
RUN = {
    "q1": ["d2", "d4", "d1", "d5", "d3"],
    "q2": ["d8", "d9", "d7"],
    "q3": ["d5", "d6"],
}

# q1: gains 2, 0, 3, 0, 1 at ranks 1..5; the ideal order is 3, 2, 1.
Q1_DCG = 2 / 1 + 3 / 2 + 1 / math.log2(6)  # log2(2) = 1, log2(4) = 2
Q1_IDCG = 3 / 1 + 2 / math.log2(3) + 1 / 2
Q1_NDCG = Q1_DCG / Q1_IDCG  # 3.886853 / 4.761860


def test_dcg_by_hand() -> None:
    assert dcg([3, 2, 1]) == pytest.approx(3 + 2 / math.log2(3) + 0.5)
    assert dcg([]) == 0.0


def test_ndcg_uses_the_grade_as_gain() -> None:
    assert Q1_NDCG == pytest.approx(0.816246, abs=1e-6)
    assert ndcg_at_k(RUN["q1"], QRELS["q1"]) == pytest.approx(Q1_NDCG, rel=1e-12)
    # q2: the relevant d7 at rank 3 (gain 1 / log2 4); d8 is judged 0 and gains nothing
    assert ndcg_at_k(RUN["q2"], QRELS["q2"]) == pytest.approx(0.5, rel=1e-12)
    assert ndcg_at_k(RUN["q3"], QRELS["q3"]) == 0.0


def test_ndcg_cut_at_k() -> None:
    # at k = 2, q1 keeps gains 2, 0 against the ideal 3, 2
    assert ndcg_at_k(RUN["q1"], QRELS["q1"], k=2) == pytest.approx(2 / (3 + 2 / math.log2(3)))
    # the ideal is cut at k too: 12 relevant documents, the first 10 all found → 1
    qrels = {f"d{i}": 1 for i in range(12)}
    assert ndcg_at_k([f"d{i}" for i in range(10)], qrels, k=10) == pytest.approx(1.0)


def test_ndcg_without_relevant_documents_is_zero() -> None:
    assert ndcg_at_k(["d1"], {"d1": 0}) == 0.0
    assert ndcg_at_k(["d1"], {}) == 0.0


def test_recall() -> None:
    assert recall_at_k(RUN["q1"], QRELS["q1"], 100) == 1.0
    assert recall_at_k(RUN["q1"], QRELS["q1"], 2) == pytest.approx(1 / 3)
    assert recall_at_k(RUN["q2"], QRELS["q2"], 2) == 0.0
    assert recall_at_k(RUN["q3"], QRELS["q3"], 100) == 0.0


def test_mrr() -> None:
    assert mrr_at_k(RUN["q1"], QRELS["q1"], 10) == 1.0
    assert mrr_at_k(RUN["q2"], QRELS["q2"], 10) == pytest.approx(1 / 3)
    assert mrr_at_k(RUN["q2"], QRELS["q2"], 2) == 0.0  # d7 at rank 3 is past the cut
    assert mrr_at_k(RUN["q3"], QRELS["q3"], 10) == 0.0


def test_average_precision_divides_by_all_relevant() -> None:
    # q1: relevant at ranks 1, 3, 5 → precisions 1/1, 2/3, 3/5, over 3 relevant
    assert average_precision_at_k(RUN["q1"], QRELS["q1"], 100) == pytest.approx(
        (1 + 2 / 3 + 3 / 5) / 3
    )
    # cut at 3: d3 (rank 5) is lost but still counts in the denominator
    assert average_precision_at_k(RUN["q1"], QRELS["q1"], 3) == pytest.approx((1 + 2 / 3) / 3)
    assert average_precision_at_k(RUN["q2"], QRELS["q2"], 100) == pytest.approx(1 / 3)
    assert average_precision_at_k(RUN["q3"], QRELS["q3"], 100) == 0.0


def test_means_over_the_three_queries() -> None:
    ndcg = mean([ndcg_at_k(RUN[q], QRELS[q]) for q in QRELS])
    assert ndcg == pytest.approx((Q1_NDCG + 0.5 + 0) / 3)
    ap = mean([average_precision_at_k(RUN[q], QRELS[q]) for q in QRELS])
    assert ap == pytest.approx(((1 + 2 / 3 + 3 / 5) / 3 + 1 / 3 + 0) / 3)
    assert mean([]) == 0.0


def test_ratio_is_undefined_without_a_denominator() -> None:
    assert ratio(3, 4) == 0.75
    assert ratio(0, 0) is None


@pytest.mark.parametrize("q", [0, 25, 50, 90, 95, 100])
def test_percentile_matches_numpy(q: float) -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0, 0.5]
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_by_hand() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)  # 3 + 0.85 * (4 - 3)
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) == 0.0
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_answer_matching_ignores_case_apostrophes_and_spacing() -> None:
    assert normalize_text("  OpenAI’s\n  plan ") == "openai's plan"
    assert contains_any("Microsoft’s next steps\nremain unclear", ["microsoft's next steps remain"])
    assert not contains_any("Microsoft’s next steps", ["next step remains"])
    assert first_hit_rank(["no", "costs $97.4 billion", "97.4"], ["$97.4 BILLION"]) == 2
    assert first_hit_rank(["no", "nothing"], ["yes"]) is None


def test_answer_matching_ignores_inline_markup() -> None:
    # an expected answer copied from a .rst or .md file matches the quoted display text
    assert normalize_text("used over those set in :file:`.flaskenv`") == "used over those set in .flaskenv"
    assert contains_any("The prefix is FLASK_ by default.", ["The prefix is ``FLASK_`` by default"])
    assert contains_any("It does not modify your pyproject.toml", ["**does not** modify your `pyproject.toml`"])
    # and the other way round; other punctuation stays
    assert contains_any("run `eval $(poetry env activate)`", ["eval $(poetry env activate)"])
    assert normalize_text("a*b = c_d") == "a*b = c_d"
