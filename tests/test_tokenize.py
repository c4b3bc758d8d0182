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


def test_identifiers_give_their_whole_name_and_their_parts() -> None:
    assert tokenize("resp.is_ok and max_pool_connections") == [
        "resp.is_ok", "resp", "ok", "max_pool_connections", "max", "pool", "connect",
    ]  # fmt: skip
    assert tokenize("socket.sleep(time)") == ["socket.sleep", "socket", "sleep", "time"]
    assert tokenize("poetry install --no-root") == ["poetri", "instal", "--no-root", "root"]
    assert tokenize("installer.max-workers") == ["installer.max-workers", "instal", "max", "worker"]
    # a hyphenated word in prose is its parts
    assert tokenize("a boundary-layer flow") == ["boundari", "layer", "flow"]


def test_urls_are_not_words() -> None:
    text = "See https://python-poetry.org/docs/cli#install or www.example.com/x for more."
    assert tokenize(text) == ["see"]
    spans = list(token_spans(text))
    assert [text[a:b] for a, b, _ in spans] == ["See"]


def test_contractions_typed_without_apostrophes_are_stopwords() -> None:
    assert tokenize("whats the timeout, doesnt it retry? hows it work, i dont know") == [
        "timeout", "retri", "work", "know",
    ]  # fmt: skip
    assert {"whats", "doesnt", "what's", "don't", "cant"} <= STOPWORDS


def test_version_requirements_keep_their_operator() -> None:
    # "^1.2.3" and "~1.2.3" allow different versions: each is a term, with the bare version
    assert tokenize("^1.2.3 ~1.2 ~=1.2 >=1.2.0 <2.0.0") == [
        "^1.2.3", "1.2.3", "~1.2", "1.2", "~=1.2", "1.2", ">=1.2.0", "1.2.0", "<2.0.0", "2.0.0",
    ]  # fmt: skip
    # an assignment is not a requirement
    assert tokenize("x=1 retries==2") == ["x", "1", "retri", "2"]
