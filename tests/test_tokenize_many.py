"""tokenize_many, the batch tokenizer the index builds with, gives tokenize's terms."""

from __future__ import annotations

import importlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.tokenize import tokenize, tokenize_many

# index/__init__ re-exports the function tokenize, which hides the module of that name
tokenize_module = importlib.import_module("index.tokenize")

# Pieces that exercise every rule: numbers with separators, apostrophes (typographic too),
# stopwords, accents, mixed case, a dotted abbreviation, non-Latin letters, identifiers,
# URLs and hyphenated words.
PIECES = [
    "The", "don’t", "don't", "20,000", "97.4", "2024", "U.S.", "Café", "naïve", "İstanbul",
    "ΟΔΟΣ", "running", "ran", "and", "Microsoft's", "x_y", "—", "!", "\n", " ", "1,23",
    "socket.sleep", "--no-root", "https://x.org/a_b", "www.a.io", "a-b-c", "whats",
    "^1.2.3", "~=1.2", ">=2.0", "pkg>=2.0", "!=4.1.*", "==3",
]
texts = st.lists(
    st.one_of(st.sampled_from(PIECES), st.text(max_size=12)), max_size=30
).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(batch=st.lists(texts, max_size=8))
def test_same_terms_as_tokenize(batch: list[str]) -> None:
    assert list(tokenize_many(batch)) == [tokenize(text) for text in batch]


def test_cache_starting_over_changes_nothing(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(tokenize_module, "_CACHE_LIMIT", 2)
    batch = ["Running dogs ran", "the café’s 20,000 dogs", "dogs running"]
    assert list(tokenize_many(batch)) == [
        ["run", "dog", "ran"],
        ["cafe", "20000", "dog"],
        ["dog", "run"],
    ]


# ASCII made of the characters the word rules turn on: the kernel's word finder
# (index/_kernel.c, used for ASCII text) must find exactly the regex's words
ascii_texts = st.text(alphabet="ab1_9.,'-~^<>=!*:/hwtpf )]\"`\n", max_size=40)


@settings(max_examples=500, deadline=None)
@given(text=st.lists(st.one_of(st.sampled_from(PIECES).filter(str.isascii), ascii_texts), max_size=12).map("".join))
def test_the_kernels_words_are_the_regexs(text: str) -> None:
    if tokenize_module._ascii_words is None:
        pytest.fail("the compiled kernel (index/_kernel.c) was not built: pip install -e .")
    assert tokenize_module._ascii_words(text) == tokenize_module._TOKEN.findall(text)
