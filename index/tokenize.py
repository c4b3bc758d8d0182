"""One tokenizer for documents and questions.

Lowercase, Unicode-aware words, the typographic apostrophe read as ``'``, English
stopwords dropped, Snowball (Porter2) stems from PyStemmer. Numbers survive as terms:
``97.4`` stays ``97.4`` and ``20,000`` becomes ``20000`` so that "20000" finds it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator

import Stemmer

# NLTK's English stopword list (179 words), kept here as data: the PyPI packages that ship
# a list either pull in a large toolkit or use a 1,300-word list that drops real content
# words ("microsoft", "billion", "research").
_NLTK_STOPWORDS = """
i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself
yourselves he him his himself she she's her hers herself it it's its itself they them their
theirs themselves what which who whom this that that'll these those am is are was were be
been being have has had having do does did doing a an the and but if or because as until
while of at by for with about against between into through during before after above below
to from up down in out on off over under again further then once here there when where why
how all any both each few more most other some such no nor not only own same so than too
very s t can will just don don't should should've now d ll m o re ve y ain aren aren't
couldn couldn't didn didn't doesn doesn't hadn hadn't hasn hasn't haven haven't isn isn't ma
mightn mightn't mustn mustn't needn needn't shan shan't shouldn shouldn't wasn wasn't weren
weren't won won't wouldn wouldn't
"""
# Words of question phrasing that NLTK keeps but that say nothing about the topic; left in,
# "how much was it?" would look like a question about the word "much".
_QUESTION_WORDS = "much many would could might may also tell please"

STOPWORDS: frozenset[str] = frozenset((_NLTK_STOPWORDS + _QUESTION_WORDS).split())

# A number (with thousands separators or decimals) or a word, apostrophes and inner dots
# kept ("don't", "u.s"); hyphens and other punctuation split words.
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W_]+(?:['.][^\W_]+)*")
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+$")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})

_stemmer = Stemmer.Stemmer("english")


def _fold(word: str) -> str:
    """Drop accents ("café" → "cafe") so a question typed without them still matches."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _normalize(word: str) -> str:
    word = word.lower()
    if not word.isascii():
        word = _fold(word)
    if "," in word and _THOUSANDS.match(word):
        return word.replace(",", "")
    return word


def token_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """Yield ``(start, end, term)`` for every indexed term of ``text``, in order."""
    translated = text.translate(_APOSTROPHES)  # same length: offsets stay valid
    kept: list[tuple[int, int, str]] = []
    for match in _TOKEN.finditer(translated):
        word = _normalize(match.group())
        if word not in STOPWORDS:
            kept.append((match.start(), match.end(), word))
    stems = _stemmer.stemWords([word for _, _, word in kept])
    for (start, end, _), stem in zip(kept, stems):
        yield start, end, stem


def tokenize(text: str) -> list[str]:
    """The terms of ``text`` as the index sees them."""
    words = [_normalize(w) for w in _TOKEN.findall(text.translate(_APOSTROPHES))]
    return _stemmer.stemWords([w for w in words if w not in STOPWORDS])


def fingerprint() -> str:
    """Changes whenever the tokenizer would give other terms (saved indexes check it)."""
    return f"tokenize-v2:pystemmer-english:stop{len(STOPWORDS)}"


class _TermCache(dict[str, str]):
    """Raw word → its term ("" for a stopword), filled on first sight.

    Words repeat a lot across chunks, so a corpus pays for lowercasing, the stopword
    check and stemming once per distinct word instead of once per occurrence.
    """

    def __missing__(self, word: str) -> str:
        normalized = _normalize(word)
        term = "" if normalized in STOPWORDS else _stemmer.stemWord(normalized)
        self[word] = term
        return term


# Past this many distinct words (numbers and typos keep adding some) the cache starts over
# rather than grow without bound.
_CACHE_LIMIT = 500_000


def tokenize_many(texts: Iterable[str]) -> Iterator[list[str]]:
    """``tokenize`` of each text, in order, several times faster on a large corpus."""
    cache = _TermCache()
    for text in texts:
        if len(cache) > _CACHE_LIMIT:
            cache = _TermCache()
        # the apostrophes we translate are all outside ASCII
        if not text.isascii():
            text = text.translate(_APOSTROPHES)
        words = _TOKEN.findall(text)
        # filter(None, ...) drops the stopwords' empty terms; all of it runs in C
        yield list(filter(None, map(cache.__getitem__, words)))
