"""BM25Scorer against its oracle, rank-bm25's BM25Plus, on random and tiny corpora."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Plus

from index import scoring
from index.scoring import BM25Scorer, PostingsBuilder

# A small alphabet makes repeated terms, shared terms and ties common; "zz" is never in a
# corpus, so every question may hold a term the index has not seen.
WORDS = ["a", "b", "c", "d", "e", "f", "g"]
UNKNOWN = "zz"

chunk = st.lists(st.sampled_from(WORDS), max_size=8)
corpora = st.lists(chunk, min_size=1, max_size=12)
questions = st.lists(st.sampled_from(WORDS + [UNKNOWN]), max_size=6)
# rank-bm25 divides by the average chunk length, so it cannot score a corpus of empty chunks
scorable = corpora.filter(lambda corpus: any(corpus))

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])


def expected_top_k(scorer: BM25Scorer, corpus: list[list[str]], question: list[str], k: int):
    """Chunks holding a question term, best first, lower id first among equal scores."""
    scores = scorer.get_scores(question)
    wanted = set(question)
    matching = [i for i, tokens in enumerate(corpus) if wanted & set(tokens)]
    ranked = sorted(matching, key=lambda i: (-scores[i], i))[:k]
    return [(i, float(scores[i])) for i in ranked]


@FAST
@given(corpus=scorable, question=questions)
def test_scores_equal_rank_bm25(corpus: list[list[str]], question: list[str]) -> None:
    ours = BM25Scorer.build(corpus).get_scores(question)
    oracle = BM25Plus(corpus).get_scores(question)
    np.testing.assert_allclose(ours, oracle, rtol=0, atol=1e-9)


@FAST
@given(corpus=scorable, question=questions, k=st.integers(min_value=1, max_value=15))
@pytest.mark.parametrize("dense_ratio", [0, 10**9], ids=["dense", "sparse"])
def test_top_k_is_exact(
    dense_ratio: int, corpus: list[list[str]], question: list[str], k: int
) -> None:
    # both selection paths (dense array of every chunk, sorted candidates only) must give
    # the same answer; the ratio forces one or the other on these tiny corpora
    original = scoring._DENSE_RATIO
    scoring._DENSE_RATIO = dense_ratio
    try:
        scorer = BM25Scorer.build(corpus)
        assert scorer.top_k(question, k) == expected_top_k(scorer, corpus, question, k)
    finally:
        scoring._DENSE_RATIO = original


@FAST
@given(
    corpus=scorable,
    terms=st.lists(
        st.tuples(st.sampled_from(WORDS + [UNKNOWN]), st.sampled_from([1.0, 0.5, 0.25])),
        max_size=5,
    ),
)
def test_weighted_scores_are_weighted_sums(
    corpus: list[list[str]], terms: list[tuple[str, float]]
) -> None:
    # a conversation adds earlier terms at a lower weight: each term's score times its weight
    scorer = BM25Scorer.build(corpus)
    oracle = BM25Plus(corpus)
    expected = np.zeros(len(corpus))
    for term, weight in terms:
        expected += weight * oracle.get_scores([term])
    got = scorer.get_scores([t for t, _ in terms], [w for _, w in terms])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


@FAST
@given(corpus=scorable, question=questions)
def test_contributions_add_up_to_the_score(corpus: list[list[str]], question: list[str]) -> None:
    scorer = BM25Scorer.build(corpus)
    scores = scorer.get_scores(question)
    for doc_id in range(len(corpus)):
        total = sum(scorer.contribution(term, doc_id) for term in question)
        assert total == pytest.approx(scores[doc_id], abs=1e-9)


@FAST
@given(corpus=corpora)
def test_term_frequency_counts_tokens(corpus: list[list[str]]) -> None:
    scorer = BM25Scorer.build(corpus)
    for doc_id, tokens in enumerate(corpus):
        for word in WORDS + [UNKNOWN]:
            assert scorer.term_frequency(word, doc_id) == tokens.count(word)


@FAST
@given(corpus=corpora)
def test_doc_postings_round_trip(corpus: list[list[str]]) -> None:
    # incremental updates rebuild from the chunk-by-chunk form: it must lose nothing
    scorer = BM25Scorer.build(corpus)
    terms, tfs, per_doc = scorer.doc_postings()
    again = BM25Scorer.from_postings(scorer.vocab, terms, tfs, per_doc, scorer.doc_len)
    assert np.array_equal(again.indptr, scorer.indptr)
    assert np.array_equal(again.doc_ids, scorer.doc_ids)
    assert np.array_equal(again.tfs, scorer.tfs)


@FAST
@given(old=scorable, keep=st.lists(st.booleans(), min_size=12, max_size=12), new=corpora)
def test_rebuilding_from_kept_postings_equals_a_fresh_build(
    old: list[list[str]], keep: list[bool], new: list[list[str]]
) -> None:
    # what an incremental update does: keep some chunks' postings, drop the others (and
    # with them terms no chunk holds any more), tokenize only the new chunks
    scorer = BM25Scorer.build(old)
    terms, tfs, per_doc = scorer.doc_postings()
    starts = np.concatenate([[0], np.cumsum(per_doc)])
    builder = PostingsBuilder(scorer.vocab)
    kept_chunks = []
    for doc_id, tokens in enumerate(old):
        if keep[doc_id]:
            lo, hi = starts[doc_id], starts[doc_id + 1]
            builder.add_postings(
                terms[lo:hi], tfs[lo:hi], per_doc[doc_id : doc_id + 1], scorer.doc_len[doc_id : doc_id + 1]
            )
            kept_chunks.append(tokens)
    for tokens in new:
        builder.add(tokens)
    updated = builder.build()
    fresh = BM25Scorer.build(kept_chunks + new)
    assert set(updated.vocab) == set(fresh.vocab)
    for question in (WORDS, ["a", "a", UNKNOWN], ["g"]):
        assert updated.get_scores(question).tolist() == fresh.get_scores(question).tolist()
        assert updated.top_k(question, 5) == fresh.top_k(question, 5)


def test_three_chunks_matching_chunks_outrank_the_other() -> None:
    corpus = [["microsoft", "openai", "deal"], ["microsoft", "openai", "copilot"], ["openai", "musk"]]
    scorer = BM25Scorer.build(corpus)
    # N = 3, df(microsoft) = 2: idf = ln(4/2); avgdl = 8/3; the third chunk gets only
    # BM25+'s floor, delta * idf, which is still below the two that hold the term
    idf = np.log(2)
    norm3 = 1.5 * (0.25 + 0.75 * 3 / (8 / 3))
    with_term = idf * (1 + 2.5 / (norm3 + 1))
    assert scorer.get_scores(["microsoft"]).tolist() == pytest.approx(
        [with_term, with_term, idf], abs=1e-12
    )
    assert scorer.get_scores(["microsoft"]) == pytest.approx(
        BM25Plus(corpus).get_scores(["microsoft"]), abs=1e-12
    )
    assert [doc for doc, _ in scorer.top_k(["microsoft"], 3)] == [0, 1]
    assert scorer.top_k(["microsoft"], 3)[0][1] == pytest.approx(with_term, abs=1e-12)


def test_top_k_breaks_ties_by_lower_id_and_takes_k_beyond_the_corpus() -> None:
    corpus = [["x", "y"], ["y", "x"], ["x"], ["z"], ["x", "y"]]
    scorer = BM25Scorer.build(corpus)
    ranked = scorer.top_k(["y"], 50)
    assert [doc for doc, _ in ranked] == [0, 1, 4]
    assert ranked[0][1] == ranked[1][1] == ranked[2][1]
    assert [doc for doc, _ in scorer.top_k(["x", "y"], 2)] == [0, 1]
    assert scorer.top_k(["nothing"], 3) == []
    assert scorer.top_k(["x"], 0) == []


def test_empty_chunks_and_an_empty_corpus() -> None:
    only_empty = BM25Scorer.build([[], []])
    assert only_empty.get_scores(["a"]).tolist() == [0.0, 0.0]
    assert only_empty.top_k(["a"], 3) == []
    nothing = BM25Scorer.build([])
    assert nothing.n_docs == 0
    assert nothing.get_scores(["a"]).tolist() == []
    assert nothing.top_k(["a"], 3) == []


def test_large_term_frequencies_keep_their_value() -> None:
    # term frequencies are stored in the smallest unsigned type that holds them
    corpus = [["a"] * 300, ["a", "b"], ["b"] * 70_000]
    scorer = BM25Scorer.build(corpus)
    assert scorer.tfs.dtype == np.uint32
    assert [scorer.term_frequency("a", 0), scorer.term_frequency("b", 2)] == [300, 70_000]
    np.testing.assert_allclose(
        scorer.get_scores(["a", "b"]), BM25Plus(corpus).get_scores(["a", "b"]), rtol=0, atol=1e-9
    )
