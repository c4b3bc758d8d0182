"""An extractive, cited answer from ranked passages, or an abstention.

The answer is one to three sentences copied verbatim from the top passages, each followed
by the ``[n]`` of its passage. We abstain when the best passage holds too little of the
question's informative weight: each distinct query term weighs its IDF (times its turn
weight), and a term no chunk contains weighs more than the rarest real term, so a question
about something the documents never mention cannot be carried by one common word.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from index.chunking import passage_sentences
from index.models import Answer, AnswerSentence, Passage
from index.tokenize import tokenize

ABSTAIN_TEXT = "The documents do not answer this question."
NO_MATCH_TEXT = "The documents do not answer this question: no passage shares a word with it."

# A sentence from a lower-ranked passage must be this much better to beat one from above.
_RANK_DISCOUNT = 0.05
# Further sentences join the best one only when they score this share of it.
_FOLLOWER_SHARE = 0.5
_MIN_SENTENCE_TERMS = 2


@dataclass(frozen=True)
class _Candidate:
    text: str
    passage: int  # 1-based
    position: int
    terms: frozenset[str]
    score: float


def coverage(
    passage: Passage, weights: dict[str, float], idf: Callable[[str], float]
) -> float:
    """Share of the question's IDF-weighted terms that ``passage`` contains."""
    total = sum(w * idf(t) for t, w in weights.items())
    held = sum(w * idf(t) for t, w in weights.items() if t in passage.matched_terms)
    return held / total if total > 0 else 0.0


def _term_weights(terms: Sequence[str], weights: Sequence[float]) -> dict[str, float]:
    merged: dict[str, float] = {}
    for term, weight in zip(terms, weights):
        merged[term] = max(merged.get(term, 0.0), weight)
    return merged


def _candidates(
    passages: Sequence[Passage], weights: dict[str, float], idf: Callable[[str], float]
) -> list[_Candidate]:
    found: list[_Candidate] = []
    seen: set[tuple[str, str]] = set()
    for n, passage in enumerate(passages, start=1):
        for a, b in passage_sentences(passage.text):
            # hard-wrapped lines read as one sentence; the words stay verbatim
            text = " ".join(passage.text[a:b].split())
            key = (passage.source, text)
            if key in seen:  # overlapping chunks repeat sentences
                continue
            seen.add(key)
            sentence_terms = tokenize(text)
            if len(sentence_terms) < _MIN_SENTENCE_TERMS or text.lstrip().startswith("#"):
                continue
            hits = frozenset(t for t in sentence_terms if t in weights)
            if not hits:
                continue
            score = sum(weights[t] * idf(t) for t in hits) * (1 - _RANK_DISCOUNT * (n - 1))
            found.append(_Candidate(text, n, a, hits, score))
    return found


def select_sentences(
    passages: Sequence[Passage],
    terms: Sequence[str],
    weights: Sequence[float],
    idf: Callable[[str], float],
    max_sentences: int = 3,
) -> list[AnswerSentence]:
    """The sentences that best answer the question, in passage then reading order."""
    term_weights = _term_weights(terms, weights)
    candidates = _candidates(passages, term_weights, idf)
    # in a follow-up the answer must speak to the new question's own words, not only to
    # the earlier turns' (which weigh less)
    top = max(term_weights.values(), default=0.0)
    own = {t for t, w in term_weights.items() if w == top}
    candidates = [c for c in candidates if c.terms & own] or candidates
    ranked = sorted(candidates, key=lambda c: (-c.score, c.passage, c.position))
    if not ranked:
        return []
    chosen = [ranked[0]]
    covered = set(ranked[0].terms)
    for cand in ranked[1:]:
        if len(chosen) >= max_sentences or cand.score < _FOLLOWER_SHARE * ranked[0].score:
            break
        # a further sentence must bring a question word the answer lacks so far
        if cand.terms - covered:
            chosen.append(cand)
            covered |= cand.terms
    chosen.sort(key=lambda c: (c.passage, c.position))
    return [AnswerSentence(text=c.text, passage=c.passage) for c in chosen]


def compose_answer(
    question: str,
    terms: Sequence[str],
    weights: Sequence[float],
    passages: Sequence[Passage],
    idf: Callable[[str], float],
    threshold: float,
    max_sentences: int = 3,
) -> Answer:
    """Answer from ``passages`` (best first), or abstain and still return them."""
    term_weights = _term_weights(terms, weights)
    if not passages:
        return Answer(question=question, text=NO_MATCH_TEXT, abstained=True)
    best = max(coverage(p, term_weights, idf) for p in passages)
    sentences = select_sentences(passages, terms, weights, idf, max_sentences)
    if best < threshold or not sentences:
        return Answer(
            question=question,
            text=ABSTAIN_TEXT,
            abstained=True,
            passages=tuple(passages),
            coverage=best,
        )
    text = " ".join(f"{s.text} [{s.passage}]" for s in sentences)
    return Answer(
        question=question,
        text=text,
        abstained=False,
        sentences=tuple(sentences),
        passages=tuple(passages),
        coverage=best,
    )
