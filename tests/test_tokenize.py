from __future__ import annotations

from index.tokenize import STOPWORDS, token_spans, tokenize


def test_lowercase_stopwords_and_stems() -> None:
    assert tokenize("The Investors were pressuring OpenAI") == ["investor", "pressur", "openai"]


def test_typographic_apostrophe_reads_like_a_plain_one() -> None:
    assert tokenize("Microsoft’s reliance") == tokenize("Microsoft's reliance") == [
        "microsoft",
        "relianc",
    ]
    assert tokenize("don’t") == []  # "don't" is a stopword either way


def test_numbers_survive_as_terms() -> None:
    assert tokenize("$97.4 billion, 20,000 per month in 2024") == [
        "97.4",
        "billion",
        "20000",
        "per",
        "month",
        "2024",
    ]
    assert tokenize("20000") == tokenize("20,000")


def test_unicode_words_and_accents_fold() -> None:
    assert tokenize("Le café est fermé") == ["le", "cafe", "est", "ferm"]
    assert tokenize("cafe") == tokenize("café")
    assert tokenize("Zürich Straße") == ["zurich", "straße"]


def test_question_words_are_stopwords() -> None:
    assert tokenize("How much was that? Who did it, and when?") == []
    assert {"what", "who", "when", "how", "much"} <= STOPWORDS


def test_token_spans_point_at_the_original_words() -> None:
    text = "Microsoft’s $97.4 offer"
    spans = list(token_spans(text))
    assert [(text[a:b], stem) for a, b, stem in spans] == [
        ("Microsoft’s", "microsoft"),
        ("97.4", "97.4"),
        ("offer", "offer"),
    ]
    assert [stem for _, _, stem in spans] == tokenize(text)
