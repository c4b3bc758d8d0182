from __future__ import annotations

import pytest

from index.answer import ABSTAIN_TEXT, NO_MATCH_TEXT, compose_answer, coverage
from index.models import Passage
from index.retrieval import Engine


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        (
            "Who is the CEO of OpenAI?",
            "He even offered to buy OpenAI for $97.4 billion, but CEO Sam Altman rejected the "
            "offer. [1]",
        ),
        (
            "who sued openai",
            "Elon Musk, a co-founder of OpenAI, has sued the company, accusing it of betraying "
            "its original mission. [1]",
        ),
        (
            "which companies raised 6.6 billion",
            "However, key investors like Microsoft, NVIDIA, and SoftBank raised $6.6 billion to "
            "support the company, pushing its market value to $157 billion. [1]",
        ),
        (
            "Which alternatives is Microsoft testing for Copilot?",
            "Reports suggest that Microsoft is developing its own AI models while testing other "
            "alternatives like DeepSeek, Meta, and xAI for its Copilot tool. [1]",
        ),
    ],
)
def test_answers_are_verbatim_cited_sentences(
    seeds_engine: Engine, question: str, answer: str
) -> None:
    result = seeds_engine.ask(question)
    assert not result.abstained
    assert result.text == answer
    for sentence in result.sentences:
        assert sentence.text in " ".join(result.passages[sentence.passage - 1].text.split())


def test_a_question_sharing_only_a_common_word_abstains(seeds_engine: Engine) -> None:
    result = seeds_engine.ask("When was Microsoft founded?")
    assert result.abstained
    assert result.text == ABSTAIN_TEXT
    assert result.sentences == ()
    assert len(result.passages) == 5  # the closest passages are still shown
    assert all(p.matched_terms == ("microsoft",) for p in result.passages)
    assert result.coverage < 0.2


def test_a_question_sharing_no_word_abstains_without_passages(seeds_engine: Engine) -> None:
    result = seeds_engine.ask("What is the capital of France?")
    assert (result.abstained, result.text, result.passages) == (True, NO_MATCH_TEXT, ())


def test_followups_answer_the_new_words(seeds_engine: Engine) -> None:
    history = ("What did Elon Musk offer for OpenAI?",)
    result = seeds_engine.ask("and who rejected it?", history=history)
    assert result.text == (
        "He even offered to buy OpenAI for $97.4 billion, but CEO Sam Altman rejected the "
        "offer. [1]"
    )
    how_much = seeds_engine.ask("how much was that?", history=history)
    assert not how_much.abstained and "$97.4 billion" in how_much.text


def _passage(text: str, matched: tuple[str, ...], score: float = 1.0) -> Passage:
    return Passage(
        chunk_id=0, source="a.txt", start_line=1, end_line=1, text=text, score=score,
        matched_terms=matched,
    )


def test_coverage_weighs_terms_by_idf() -> None:
    idf = {"rare": 3.0, "common": 1.0}.__getitem__
    assert coverage(_passage("x", ("rare",)), {"rare": 1.0, "common": 1.0}, idf) == 0.75
    assert coverage(_passage("x", ("common",)), {"rare": 1.0, "common": 0.5}, idf) == 0.5 / 3.5


def test_threshold_decides_and_up_to_three_sentences_join() -> None:
    text = (
        "Alpha beta gamma here. Nothing relevant at all. Beta delta there. "
        "Gamma epsilon again. Alpha zeta four. Delta epsilon five."
    )
    passage = _passage(text, ("alpha", "beta", "gamma", "delta", "epsilon", "zeta"))
    terms = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta")
    idf = lambda term: 1.0  # noqa: E731
    answer = compose_answer("q", terms, (1.0,) * 6, [passage], idf, threshold=0.5)
    assert answer.text == (
        "Alpha beta gamma here. [1] Beta delta there. [1] Gamma epsilon again. [1]"
    )
    passage_missing = _passage(text, ("alpha",))
    abstain = compose_answer("q", terms, (1.0,) * 6, [passage_missing], idf, threshold=0.5)
    assert abstain.abstained and abstain.coverage == pytest.approx(1 / 6)
