"""What a question asks: kinds of answer, typo correction, follow-ups."""

from __future__ import annotations

import pytest

from index.query import (
    CODE,
    DEFINITION,
    LIST,
    NAME,
    QUANTITY,
    VALUE,
    YESNO,
    QuestionTerm,
    answer_kinds,
    correct_word,
    is_followup,
    question_terms,
)

INDEX = {"timeout": 1.0, "cach": 2.0, "default": 0.5, "strategi": 3.0, "complet": 2.5,
         "http": 1.0, "founder": 4.0, "poetri": 0.2, "set": 0.7, "request": 1.2}  # fmt: skip


def known(term: str) -> bool:
    return term in INDEX


def idf(term: str) -> float:
    return INDEX[term]


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        ("how do i install just the dependencies", {CODE}),
        ("whats the default http timout?", {VALUE, DEFINITION}),
        ("default number of workers for the parallel installer?", {VALUE, QUANTITY}),
        ("who sued openai", {NAME}),
        ("what is the N pattern basically", {DEFINITION}),
        ("which wait stratagies are there", {LIST}),
        ("can poetry download and install a python version for me", {CODE, VALUE, YESNO}),
        ("where's the poetry cahce on linux", {VALUE}),
        ("bumping 1.0.3b0 with prerelease --next-phase gives what", set()),
    ],
)
def test_answer_kinds(question: str, kinds: set[str]) -> None:
    assert answer_kinds(question) == kinds


@pytest.mark.parametrize(
    ("word", "terms"),
    [
        ("timout", ("timeout",)),  # a letter left out
        ("cahce", ("cach",)),  # two letters swapped
        ("stratagies", ("strategi",)),  # one letter replaced
        ("completoin", ("complet",)),
        ("https", None),  # only the last letter differs: an inflection, not a typo
        ("founded", None),  # a real English word the documents do not use
        ("tiomeout", ("timeout",)),  # a letter too many
        ("cach", None),  # too short to correct safely
        ("xyzzyq", None),  # nothing one edit away
    ],
)
def test_typos_are_corrected_against_the_index_vocabulary(
    word: str, terms: tuple[str, ...] | None
) -> None:
    assert correct_word(word, known, idf) == terms


def test_the_most_common_correction_wins() -> None:
    vocab = {"cart": 3.0, "card": 1.0}  # "card" is the more common (lower IDF)
    assert correct_word("cxard", vocab.__contains__, vocab.__getitem__) == ("card",)


def test_question_terms_correct_only_unknown_words() -> None:
    terms = question_terms("whats the default http timout for poetry?", known, idf)
    assert terms == [
        QuestionTerm("default", "default", True),
        QuestionTerm("http", "http", True),
        QuestionTerm("timeout", "timout", True, corrected=True),
        QuestionTerm("poetri", "poetry", True),
    ]
    # a word no document holds and nothing corrects stays, unknown
    assert question_terms("poetry telemetry", known, idf)[1] == QuestionTerm(
        "telemetri", "telemetry", False
    )


@pytest.mark.parametrize(
    ("question", "followup"),
    [
        ("and who rejected it?", True),  # continues
        ("what about the timeout", True),
        ("how much was that?", True),  # refers back, no words of its own
        ("does it set a default?", True),  # refers back with two words of its own
        ("warranty length", False),  # a new subject
        ("how do i set the http request timeout default", False),  # says it all itself
        ("zebras", False),
    ],
)
def test_followups_lean_on_the_turn_before(question: str, followup: bool) -> None:
    assert is_followup(question, question_terms(question, known, idf)) is followup


def test_abbreviations_read_out_when_the_documents_use_the_long_form() -> None:
    vocab = {"environ": 1.0, "variabl": 2.0, "set": 0.5, "env": 3.0}
    terms = question_terms("which env var sets it", vocab.__contains__, vocab.__getitem__)
    # "env" is in the documents (a command's name): kept; "var" is not: read out
    assert [(t.term, t.word, t.corrected) for t in terms] == [
        ("env", "env", False), ("variabl", "var", True), ("set", "sets", False),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("question", "vocab", "terms"),
    [
        # the documents say "disable": the phrasal verb is read as it
        ("how do i turn off the timeout", {"disabl", "timeout", "turn"}, ["disabl", "timeout"]),
        ("Switching on debug mode?", {"enabl", "debug", "mode"}, ["enabl", "debug", "mode"]),
        ("how to get rid of the cache", {"remov", "cach"}, ["remov", "cach"]),
        # the documents never say "disable": the words stay as typed
        ("how do i turn off the timeout", {"turn", "timeout"}, ["turn", "timeout"]),
    ],
)
def test_phrasal_verbs_read_as_the_documents_word(
    question: str, vocab: set[str], terms: list[str]
) -> None:
    found = question_terms(question, vocab.__contains__, lambda term: 1.0)
    assert [t.term for t in found if t.known] == terms
