"""Pure metric functions: ranking metrics with trec_eval's definitions, and QA metrics.

Ranking metrics take one query's ranked document ids (best first) and its judgements
(``{doc id: grade}``); a document is relevant when its grade is 1 or more, as with
trec_eval's default ``relevance_level``. Averages over queries are the caller's job
(``mean``), so each function stays a one-query definition that can be checked by hand.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence

RELEVANT = 1  # trec_eval's relevance_level: grades below it count as not relevant


def _relevant(qrels: Mapping[str, int]) -> set[str]:
    return {doc for doc, grade in qrels.items() if grade >= RELEVANT}


def dcg(gains: Iterable[float]) -> float:
    """Discounted cumulative gain: the gain at rank ``i`` (1-based) divided by log2(i + 1)."""
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, start=1))


def ndcg_at_k(ranking: Sequence[str], qrels: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k as trec_eval's ``ndcg_cut``: the gain is the grade itself (not 2^grade - 1),
    the discount log2(rank + 1), and the ideal ranking orders every judged document by
    grade. A query without relevant documents scores 0."""
    ideal = dcg(sorted((g for g in qrels.values() if g >= RELEVANT), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    gains = [max(qrels.get(doc, 0), 0) for doc in ranking[:k]]
    return dcg(gains) / ideal


def recall_at_k(ranking: Sequence[str], qrels: Mapping[str, int], k: int = 100) -> float:
    """Share of the relevant documents found in the top ``k``."""
    relevant = _relevant(qrels)
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranking[:k])) / len(relevant)


def mrr_at_k(ranking: Sequence[str], qrels: Mapping[str, int], k: int = 10) -> float:
    """1 / rank of the first relevant document in the top ``k``, else 0."""
    relevant = _relevant(qrels)
    for rank, doc in enumerate(ranking[:k], start=1):
        if doc in relevant:
            return 1.0 / rank
    return 0.0


def average_precision_at_k(
    ranking: Sequence[str], qrels: Mapping[str, int], k: int = 100
) -> float:
    """AP cut at ``k`` as trec_eval's ``map_cut``: the precision at the rank of each
    relevant document found in the top ``k``, summed and divided by the number of
    relevant documents (all of them, also those ranked below ``k`` or not at all)."""
    relevant = _relevant(qrels)
    if not relevant:
        return 0.0
    found = 0
    total = 0.0
    for rank, doc in enumerate(ranking[:k], start=1):
        if doc in relevant:
            found += 1
            total += found / rank
    return total / len(relevant)


def mean(values: Sequence[float]) -> float:
    """The arithmetic mean; 0 for no values."""
    return sum(values) / len(values) if values else 0.0


def ratio(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator``, or None when the metric is undefined (nothing to count)."""
    return numerator / denominator if denominator else None


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation between the closest ranks
    (numpy's default method). 0 for no values."""
    if not values:
        return 0.0
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be between 0 and 100, got {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


# --- question answering --------------------------------------------------------------


# Inline markup of Markdown and reStructuredText: ``literal``, `code`, **strong** and a
# role's name (:func:`...`). Question-set authors copy answers from the source files, while
# docqa quotes the text without its markup.
_INLINE_MARKUP = re.compile(r":[a-z][\w.+-]*:(?=`)|`+|\*\*")


def normalize_text(text: str) -> str:
    """Lowercase, the typographic apostrophe as ', inline markup left out, runs of
    whitespace as one space: users type "OpenAI's" where the document has "OpenAI’s",
    an expected answer copied from a file keeps its backticks, and a passage keeps the
    file's line breaks."""
    text = _INLINE_MARKUP.sub("", text.replace("’", "'").replace("‘", "'"))
    return " ".join(text.casefold().split())


def contains_any(text: str, expected: Iterable[str]) -> bool:
    """Whether one of the ``expected`` strings stands in ``text`` (see ``normalize_text``)."""
    haystack = normalize_text(text)
    return any(normalize_text(e) in haystack for e in expected)


def first_hit_rank(texts: Sequence[str], expected: Iterable[str]) -> int | None:
    """1-based rank of the first text that contains an expected string, or None."""
    wanted = [normalize_text(e) for e in expected]
    for rank, text in enumerate(texts, start=1):
        haystack = normalize_text(text)
        if any(w in haystack for w in wanted):
            return rank
    return None
