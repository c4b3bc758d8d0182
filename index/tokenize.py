"""One tokenizer for documents and questions.

Lowercase, Unicode-aware words, the typographic apostrophe read as ``'``, English
stopwords dropped, Snowball (Porter2) stems from PyStemmer. Numbers survive as terms:
``97.4`` stays ``97.4`` and ``20,000`` becomes ``20000`` so that "20000" finds it.
An identifier or option (``resp.is_ok``, ``max_pool_size``, ``socket.sleep``,
``--no-root``) gives its whole lowercased self and each of its parts, so the exact name
and its words both find it; a hyphenated word gives its parts.
URLs are not words: ``https://...`` and ``www....`` are left out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from itertools import chain

import Stemmer

try:
    from index._kernel import ascii_words as _ascii_words
except ImportError:  # not built (no compiler): the regex does the same work
    _ascii_words = None

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
# Contractions as people type them, with and without the apostrophe ("whats", "doesnt"):
# NLTK lists a few; the rest would become terms no document holds ("what" is a stopword,
# so "whats" would be searched for as an unknown word).
_CONTRACTIONS = """
what's whats where's wheres how's hows who's whos when's whens why's whys there's theres
here's heres that's thats it's let's lets i'm im i've ive i'd i'll we're we've we'd we'll
they're theyre they've they'd they'll you're youre you've youve you'd you'll he's she'd
he'd she'll he'll can't cant cannot won't wont don't dont doesn't doesnt didn't didnt
isn't isnt aren't arent wasn't wasnt weren't werent hasn't hasnt haven't havent hadn't hadnt
shouldn't shouldnt wouldn't wouldnt couldn't couldnt mustn't mustnt needn't neednt ain't
gonna wanna gotta
"""

STOPWORDS: frozenset[str] = frozenset((_NLTK_STOPWORDS + _QUESTION_WORDS + _CONTRACTIONS).split())

# A number (with thousands separators or decimals) or a word, apostrophes, inner dots,
# underscores and hyphens kept ("don't", "u.s", "max_size", "socket.sleep",
# "installer.max-workers"), with the dashes of an option ("--no-root"); other punctuation
# splits words. An URL is matched first so that it can be left out whole; a version
# requirement keeps its operator ("^1.2.3", "~=1.2", ">=2.0").
_TOKEN = re.compile(
    r"(?:https?|ftp)://[^\s<>\"'`)\]]+|www\.[^\s<>\"'`)\]]+"
    r"|(?<![\w=<>!~^])(?:\^|~=?|[<>]=?|==|!=)\d+(?:\.\d+)*(?:\.\*)?"
    r"|\d+(?:[.,]\d+)*|(?:(?<![\w-])--?(?=[^\W\d_]))?[^\W_]+(?:['._-]+[^\W_]+)*"
)
_VERSION_SPEC = re.compile(r"(?:\^|~=?|[<>]=?|==|!=)(\d+(?:\.\d+)*)")
_PARTS = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_URL = re.compile(r"(?:https?|ftp)://|www\.")
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


def _stem(word: str) -> str:
    """The term of one normalized word without inner punctuation ("" for a stopword)."""
    return "" if word in STOPWORDS else _stemmer.stemWord(word)


def _is_compound(word: str) -> bool:
    """An identifier or an option: inner dots or underscores, or a leading dash; a plain
    hyphenated word ("boundary-layer") is only its parts, as in prose."""
    return ("." in word or "_" in word or word.startswith("-")) and not word[:1].isdigit()


def word_terms(raw: str) -> tuple[str, ...]:
    """The terms of one matched word: its stem, or for an identifier or option its whole
    lowercased self and then its parts' stems (parts of one letter left out), or for a
    hyphenated word its parts; none for a stopword or an URL."""
    if _URL.match(raw):
        return ()
    spec = _VERSION_SPEC.match(raw)
    if spec:
        # a version requirement ("^1.2.3", "~=1.2", ">=2.0") and its bare version
        return (raw, spec.group(1))
    word = _normalize(raw)
    if not _is_compound(word):
        if "-" in word:
            return tuple(t for p in _PARTS.findall(word) if (t := _stem(p)))
        term = _stem(word)
        return (term,) if term else ()
    parts = [_stem(p) for p in _PARTS.findall(word) if len(p) > 1]
    return (word, *(p for p in parts if p))


def token_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """Yield ``(start, end, term)`` for every indexed term of ``text``, in order (an
    identifier's parts share its span)."""
    translated = text.translate(_APOSTROPHES)  # same length: offsets stay valid
    for match in _TOKEN.finditer(translated):
        for term in word_terms(match.group()):
            yield match.start(), match.end(), term


def query_words(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """Each searchable word of a question as ``(normalized word, its terms)``, so the
    engine can try to correct a word whose terms no document holds."""
    found = []
    for match in _TOKEN.finditer(text.translate(_APOSTROPHES)):
        terms = word_terms(match.group())
        if terms:
            found.append((_normalize(match.group()), terms))
    return found


def tokenize(text: str) -> list[str]:
    """The terms of ``text`` as the index sees them."""
    return [term for _, _, term in token_spans(text)]


def fingerprint() -> str:
    """Changes whenever the tokenizer would give other terms (saved indexes check it)."""
    return f"tokenize-v3:pystemmer-english:stop{len(STOPWORDS)}:ident-option-url-spec"


class _TermCache(dict[str, tuple[str, ...]]):
    """Raw word → its terms (none for a stopword), filled on first sight.

    Words repeat a lot across chunks, so a corpus pays for lowercasing, the stopword
    check and stemming once per distinct word instead of once per occurrence.
    """

    def __missing__(self, word: str) -> tuple[str, ...]:
        terms = word_terms(word)
        self[word] = terms
        return terms


# Past this many distinct words (numbers and typos keep adding some) the cache starts over
# rather than grow without bound.
_CACHE_LIMIT = 500_000
# kept between calls: a build tokenizes its files a batch at a time (in each pool worker),
# and every batch would otherwise stem the same common words again
_cache = _TermCache()


def _words(text: str) -> list[str]:
    """``_TOKEN.findall(text)``: in the compiled kernel for ASCII text (10 times faster
    than the regex, the same words: a property test checks it), else the regex."""
    if _ascii_words is not None:
        found = _ascii_words(text)
        if found is not None:
            return found  # type: ignore[no-any-return]
    return _TOKEN.findall(text)  # type: ignore[no-any-return]


def tokenize_many(texts: Iterable[str]) -> Iterator[list[str]]:
    """``tokenize`` of each text, in order, several times faster on a large corpus."""
    global _cache
    for text in texts:
        if len(_cache) > _CACHE_LIMIT:
            _cache = _TermCache()
        # the apostrophes we translate are all outside ASCII
        if not text.isascii():
            text = text.translate(_APOSTROPHES)
        yield list(chain.from_iterable(map(_cache.__getitem__, _words(text))))
