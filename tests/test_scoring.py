"""BM25Scorer against its oracle, rank-bm25's BM25Plus, on random and tiny corpora."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Plus

from index import scoring
from index.scoring import BM25Scorer, Deletions, PostingsBuilder

# A small alphabet makes repeated terms, shared terms and ties common; "zz" is never in a
# corpus, so every question may hold a term the index has not seen.
WORDS = ["a", "b", "c", "d", "e", "f", "g"]
UNKNOWN = "zz"

chunk = st.lists(st.sampled_from(WORDS), max_size=8)
corpora = st.lists(chunk, min_size=1, max_size=12)
questions = st.lists(st.sampled_from(WORDS + [UNKNOWN]), max_size=6)
# rank-bm25 divides by the average chunk length, so it cannot score a corpus of empty chunks
scorable = corpora.filter(lambda corpus: any(corpus))

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])


@pytest.fixture(params=["kernel", "numpy"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every scoring test runs on the compiled kernel and on the numpy fallback."""
    if request.param == "numpy":
        monkeypatch.setattr(scoring, "_kernel", None)
    elif scoring._kernel is None:
        pytest.fail("the compiled kernel (index/_kernel.c) was not built: pip install -e .")
    return request.param


def segmented(corpus: list[list[str]], cuts: list[int], deleted: list[bool]) -> BM25Scorer:
    """``corpus`` cut into segments at ``cuts``, with the ``deleted`` chunks (one flag per
    chunk, recycled) deleted from their segments."""
    bounds = [0, *sorted({c % (len(corpus) + 1) for c in cuts}), len(corpus)]
    segments, dels = [], []
    for lo, hi in zip(bounds, bounds[1:]):
        if hi <= lo:
            continue
        builder = PostingsBuilder()
        builder.add_many(corpus[lo:hi])
        postings = builder.postings()
        gone = [i - lo for i in range(lo, hi) if deleted[i % len(deleted)]]
        segments.append(postings)
        dels.append(Deletions.none(postings.n_docs).delete(postings, np.array(gone, dtype=np.int64)))
    return BM25Scorer(segments, dels)


def expected_top_k(scorer: BM25Scorer, corpus: list[list[str]], question: list[str], k: int):  # type: ignore[no-untyped-def]
    """Chunks holding a question term, best first, lower id first among equal scores."""
    scores = scorer.get_scores(question)
    wanted = set(question)
    matching = [i for i, tokens in enumerate(corpus) if wanted & set(tokens)]
    ranked = sorted(matching, key=lambda i: (-scores[i], i))[:k]
    return [(i, float(scores[i])) for i in ranked]


@FAST
@given(corpus=scorable, question=questions)
def test_scores_equal_rank_bm25(backend: str, corpus: list[list[str]], question: list[str]) -> None:
    ours = BM25Scorer.build(corpus).get_scores(question)
    oracle = BM25Plus(corpus).get_scores(question)
    np.testing.assert_allclose(ours, oracle, rtol=0, atol=1e-9)


@FAST
@given(corpus=scorable, question=questions, k=st.integers(min_value=1, max_value=15))
@pytest.mark.parametrize("prune", [True, False], ids=["pruned", "exhaustive"])
def test_top_k_is_exact(
    backend: str, prune: bool, corpus: list[list[str]], question: list[str], k: int
) -> None:
    scorer = BM25Scorer.build(corpus)
    assert scorer.top_k(question, k, prune=prune) == expected_top_k(scorer, corpus, question, k)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(200, 800),
    k=st.sampled_from([1, 3, 10]),
    cuts=st.lists(st.integers(0, 2000), max_size=3),
)
def test_pruned_top_k_on_larger_skewed_corpora(
    backend: str, seed: int, n: int, k: int, cuts: list[int]
) -> None:
    # Zipf-like words and longer chunks, where pruning really skips postings: the k best
    # are exactly the exhaustive k best, scores and tie-breaks included, over segments
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(300)]
    p = 1 / np.arange(1, 301) ** 1.1
    p /= p.sum()
    corpus = [list(rng.choice(words, size=int(rng.integers(1, 40)), p=p)) for _ in range(n)]
    deleted = list(rng.random(37) < 0.2)
    scorer = segmented(corpus, cuts, deleted)
    live = [c for i, c in enumerate(corpus) if not deleted[i % len(deleted)]]
    oracle = BM25Plus(live)
    for _ in range(5):
        question = list(rng.choice(words[:60] + ["zz"], size=int(rng.integers(1, 7))))
        expected = expected_top_k(scorer, live, question, k)
        assert scorer.top_k(question, k, prune=True) == expected
        scores = oracle.get_scores(question)
        np.testing.assert_allclose(
            [s for _, s in expected], [scores[i] for i, _ in expected], rtol=0, atol=1e-9
        )


def test_pruned_top_k_across_the_kernels_windows(backend: str) -> None:
    # the kernel scores a segment 16,384 chunks at a time, carrying its cursors and the
    # k-th best score from one window to the next: segments of 50,000 and 6,000 chunks
    # with deletions, questions of common and rare words, against exhaustive scoring
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(2000)]
    p = 1 / np.arange(1, 2001) ** 1.05
    p /= p.sum()
    lengths = rng.integers(1, 12, size=56_000)
    drawn = np.array(words)[rng.choice(2000, size=int(lengths.sum()), p=p)].tolist()
    ends = np.cumsum(lengths).tolist()
    corpus = [drawn[end - n : end] for end, n in zip(ends, lengths.tolist())]
    deleted = list(rng.random(41) < 0.15)
    scorer = segmented(corpus, [50_000], deleted)
    assert [seg.n_docs for seg in scorer.segments] == [50_000, 6_000]
    live = [c for i, c in enumerate(corpus) if not deleted[i % len(deleted)]]
    for _ in range(16):
        question = list(rng.choice(words[:30] + words[500:520], size=int(rng.integers(1, 7))))
        for k in (1, 10):
            expected = expected_top_k(scorer, live, question, k)
            assert len(expected) == k
            assert scorer.top_k(question, k, prune=True) == expected
            assert scorer.top_k(question, k, prune=False) == expected


@FAST
@given(
    corpus=scorable,
    cuts=st.lists(st.integers(0, 20), max_size=3),
    deleted=st.lists(st.booleans(), min_size=1, max_size=12),
    question=questions,
    k=st.integers(min_value=1, max_value=15),
)
def test_segments_with_deletions_score_as_one_index_of_the_live_chunks(
    backend: str, corpus: list[list[str]], cuts: list[int], deleted: list[bool],
    question: list[str], k: int,
) -> None:
    # what an edit does: old chunks deleted from their segment, new ones in a new
    # segment; the scores must be those of rank-bm25 over the live chunks alone
    live = [c for i, c in enumerate(corpus) if not deleted[i % len(deleted)]]
    scorer = segmented(corpus, cuts, deleted)
    assert scorer.n_docs == len(live)
    if any(live):
        np.testing.assert_allclose(
            scorer.get_scores(question), BM25Plus(live).get_scores(question), rtol=0, atol=1e-9
        )
    fresh = BM25Scorer.build(live)
    assert scorer.get_scores(question).tolist() == fresh.get_scores(question).tolist()
    assert scorer.top_k(question, k) == fresh.top_k(question, k)
    assert scorer.top_k(question, k) == expected_top_k(scorer, live, question, k)
    assert set(scorer.vocab) == set(fresh.vocab)
    for doc_id, tokens in enumerate(live):
        for word in WORDS:
            assert scorer.term_frequency(word, doc_id) == tokens.count(word)


@FAST
@given(
    corpus=scorable,
    terms=st.lists(
        st.tuples(st.sampled_from(WORDS + [UNKNOWN]), st.sampled_from([1.0, 0.5, 0.25])),
        max_size=5,
    ),
)
def test_weighted_scores_are_weighted_sums(
    backend: str, corpus: list[list[str]], terms: list[tuple[str, float]]
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
def test_contributions_add_up_to_the_score(backend: str, corpus: list[list[str]], question: list[str]) -> None:
    scorer = BM25Scorer.build(corpus)
    scores = scorer.get_scores(question)
    for doc_id in range(len(corpus)):
        total = sum(scorer.contribution(term, doc_id) for term in question)
        assert total == pytest.approx(scores[doc_id], abs=1e-9)


@FAST
@given(corpus=corpora)
def test_term_frequency_counts_tokens(backend: str, corpus: list[list[str]]) -> None:
    scorer = BM25Scorer.build(corpus)
    for doc_id, tokens in enumerate(corpus):
        for word in WORDS + [UNKNOWN]:
            assert scorer.term_frequency(word, doc_id) == tokens.count(word)


def test_three_chunks_matching_chunks_outrank_the_other(backend: str) -> None:
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


def test_top_k_breaks_ties_by_lower_id_and_takes_k_beyond_the_corpus(backend: str) -> None:
    corpus = [["x", "y"], ["y", "x"], ["x"], ["z"], ["x", "y"]]
    scorer = BM25Scorer.build(corpus)
    ranked = scorer.top_k(["y"], 50)
    assert [doc for doc, _ in ranked] == [0, 1, 4]
    assert ranked[0][1] == ranked[1][1] == ranked[2][1]
    assert [doc for doc, _ in scorer.top_k(["x", "y"], 2)] == [0, 1]
    assert scorer.top_k(["nothing"], 3) == []
    assert scorer.top_k(["x"], 0) == []


def test_empty_chunks_and_an_empty_corpus(backend: str) -> None:
    only_empty = BM25Scorer.build([[], []])
    assert only_empty.get_scores(["a"]).tolist() == [0.0, 0.0]
    assert only_empty.top_k(["a"], 3) == []
    nothing = BM25Scorer.build([])
    assert nothing.n_docs == 0
    assert nothing.get_scores(["a"]).tolist() == []
    assert nothing.top_k(["a"], 3) == []


def test_large_term_frequencies_keep_their_value(backend: str) -> None:
    # term frequencies are stored in the smallest unsigned type that holds them
    corpus = [["a"] * 300, ["a", "b"], ["b"] * 70_000]
    scorer = BM25Scorer.build(corpus)
    assert scorer.segments[0].tfs.dtype == np.uint32
    assert [scorer.term_frequency("a", 0), scorer.term_frequency("b", 2)] == [300, 70_000]
    np.testing.assert_allclose(
        scorer.get_scores(["a", "b"]), BM25Plus(corpus).get_scores(["a", "b"]), rtol=0, atol=1e-9
    )
