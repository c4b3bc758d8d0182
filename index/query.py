"""What a question asks: its words as index terms (typos corrected against the index's own
vocabulary), the kind of answer it wants, and whether it leans on the turn before.

Pure functions of the question and of what the index knows (``known`` tells whether a
term is in the index, ``idf`` how rare it is); the engine wires them to its scorer.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from index.tokenize import query_words, word_terms

# --- the kind of answer a question wants ---------------------------------------------

CODE, VALUE, NAME, DEFINITION, LIST, YESNO = "code", "value", "name", "definition", "list", "yesno"
QUANTITY = "quantity"  # a kind of value: "how many", "how much", "how long"

_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        CODE,
        re.compile(
            r"\bhow (?:do|can|should|would|could|to|does one)\b|\bhow'?d\b|^\s*how\b.*\b(?:i|we|you)\b"
            r"|\b(?:command|cmd|flag|option|argument|arg|syntax|snippet|example|env(?:ironment)?"
            r" var(?:iable)?s?|variable|setting|key|parameter|param|function|method|call|api"
            r"|module|class)\b"
            r"|\b(?:enable|disable|turn (?:on|off)|switch (?:on|off)|set ?up|configure|install"
            r"|uninstall|activate|deactivate|import|pass|specify|override|pin|add|remove)\b"
        ),
    ),
    (
        VALUE,
        re.compile(
            r"\bdefaults?\b|\bhow (?:many|much|long|big|large|small|often|fast|slow|old|far)\b"
            r"|\bwhat (?:version|size|port|time|year|date|day|month|percent(?:age)?|number"
            r"|value|limit|length|width|timeout|rate|speed|latency|range|format|encoding)\b"
            r"|\bwhich (?:version|year|port|value|format|range)\b|\bwhen\b|\bmax(?:imum)?\b"
            r"|\bmin(?:imum)?\b|\blimits?\b|\bnumber of\b|\bsize\b|\bcount\b|\bpercent"
            r"|\bversion\b|\bwhere (?:is|are|does|do)\b|\bwhere'?s\b|\bpath\b|\bdir(?:ectory)?\b"
            r"|\bfolder\b|\blocation\b|\bhow big\b|\bvalue\b"
        ),
    ),
    (
        QUANTITY,
        re.compile(
            r"\bhow (?:many|much|long|big|large|small|often|old|far|fast|slow)\b"
            r"|\bnumber of\b|\bwhat percent"
        ),
    ),
    (NAME, re.compile(r"^\s*who\b|\bwho(?:'s| is| was| are| were| did| made| wrote)\b")),
    (
        DEFINITION,
        re.compile(
            r"^\s*(?:so\s+)?(?:what(?:'s| is| are|s)|what does .* (?:mean|do|stand for)|define"
            r"|meaning of|explain)\b"
        ),
    ),
    (
        LIST,
        re.compile(
            r"\b(?:which|what) (?:\w+ ){0,2}(?:are there|kinds?|types?|modes?|options|methods"
            r"|functions|strategies|values|ways)\b|\blist (?:the|all|of)?\b|\bwhat are the\b"
        ),
    ),
    (
        YESNO,
        re.compile(
            r"^\s*(?:can|could|does|do|is|are|will|would|should|may|must|has|have|did)\b"
            r"|\bis (?:it|there) (?:possible|a way)\b"
        ),
    ),
)


def answer_kinds(question: str) -> frozenset[str]:
    """The kinds of answer the question asks for (empty when it does not say): ``code``
    for "how do I ..." and commands, ``value`` for defaults, numbers, versions, dates and
    places (``quantity`` too when it asks "how many / how much / how long"), ``name`` for
    "who", ``definition`` for "what is X", ``list`` for "which ... are there", ``yesno``
    for "can I / does it"."""
    text = " ".join(question.lower().replace("’", "'").split())
    return frozenset(kind for kind, pattern in _KINDS if pattern.search(text))


# --- typos ------------------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# shorter words have too many real neighbours one edit away ("mars": "mark", "maps")
MIN_CORRECTED_LENGTH = 5


def _edits1(word: str) -> set[str]:
    """Every string one deletion, transposition, replacement or insertion away, except
    those that only change the last letter: that is how words inflect ("founded",
    "founder"; "https", "http"), not how they are mistyped."""
    splits = [(word[:i], word[i:]) for i in range(len(word))]
    deletes = [a + b[1:] for a, b in splits[:-1]]
    transposes = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits[:-1] for c in _LETTERS if c != b[0]]
    inserts = [a + c + b for a, b in splits for c in _LETTERS]
    return set(deletes + transposes + replaces + inserts)


@cache
def english_words() -> frozenset[str]:
    """82,765 common English words (symspellpy's frequency dictionary): a word among them
    is not a typo, even when no document holds it."""
    spec = importlib.util.find_spec("symspellpy")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    path = Path(next(iter(spec.submodule_search_locations))) / _ENGLISH_DICTIONARY
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return frozenset()
    return frozenset(line.split(" ", 1)[0] for line in lines)


_ENGLISH_DICTIONARY = "frequency_dictionary_en_82_765.txt"


def correct_word(
    word: str, known: Callable[[str], bool], idf: Callable[[str], float]
) -> tuple[str, ...] | None:
    """The terms of the word one edit away from ``word`` whose terms the index holds, the
    most common one when several do (Norvig's corrector, with the index's own vocabulary
    as the dictionary); None when there is none, the word is too short to correct, or it
    is a real English word that the documents just do not use ("founded", "nickname")."""
    if len(word) < MIN_CORRECTED_LENGTH or not word.isalpha() or not word.isascii():
        return None
    if word in english_words():
        return None
    best: tuple[float, str, tuple[str, ...]] | None = None
    for candidate in _edits1(word):
        terms = word_terms(candidate)
        if len(terms) != 1 or not known(terms[0]):
            continue
        key = (idf(terms[0]), candidate, terms)
        if best is None or key < best:
            best = key
    return None if best is None else best[2]


# --- a question's terms -------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionTerm:
    """One term to search for. ``word`` is what the user typed; ``corrected`` is set when
    the term replaces a typed word no document holds; ``known`` is False for a term no
    chunk contains (it still counts against an answer that lacks it)."""

    term: str
    word: str
    known: bool
    corrected: bool = False


# "how long", "how big": the second word asks for a measure, it is not the topic
_HOW_MEASURE = re.compile(
    r"\bhow\s+(?:long|big|large|small|far|fast|slow|old|often|soon|high|tall|wide|deep|heavy)\b",
    re.IGNORECASE,
)


# Abbreviations of technical chat, read out when the documents do not use the short form
# ("env var" for "environment variable"): tried before typo correction, only for a word
# no chunk holds.
ABBREVIATIONS = {
    "env": "environment", "envs": "environments", "var": "variable", "vars": "variables",
    "config": "configuration", "cfg": "configuration", "conf": "configuration",
    "dir": "directory", "dirs": "directories", "repo": "repository",
    "repos": "repositories", "dep": "dependency", "deps": "dependencies",
    "pkg": "package", "pkgs": "packages", "auth": "authentication", "doc": "documentation",
    "docs": "documentation", "info": "information", "arg": "argument", "args": "arguments",
    "param": "parameter", "params": "parameters", "app": "application",
    "apps": "applications", "db": "database", "func": "function", "fn": "function",
    "lib": "library", "libs": "libraries", "msg": "message", "msgs": "messages",
    "num": "number", "len": "length", "str": "string", "int": "integer", "bool": "boolean",
    "dev": "development", "prod": "production", "req": "request", "reqs": "requests",
    "resp": "response", "ver": "version", "impl": "implementation", "perf": "performance",
    "src": "source", "dest": "destination", "tmp": "temporary", "temp": "temporary",
    "cert": "certificate", "certs": "certificates", "creds": "credentials",
    "pwd": "password", "passwd": "password", "cmd": "command", "cmds": "commands",
    "exe": "executable", "ext": "extension", "ms": "milliseconds", "sec": "seconds",
    "secs": "seconds", "min": "minimum", "max": "maximum", "mins": "minutes",
    "hr": "hour", "hrs": "hours", "pic": "picture", "img": "image", "vid": "video",
}  # fmt: skip


# Phrasal verbs of chat read as the word documentation uses ("turn off" the timeout: the
# docs "disable" it), when the index holds that word.
PHRASES = (
    (re.compile(r"\b(?:turn|switch|shut)(?:s|ed|ing)?\s+off\b", re.IGNORECASE), "disable"),
    (re.compile(r"\b(?:turn|switch)(?:s|ed|ing)?\s+on\b", re.IGNORECASE), "enable"),
    (re.compile(r"\bget(?:s|ting)?\s+rid\s+of\b", re.IGNORECASE), "remove"),
)


def _rephrased(question: str, known: Callable[[str], bool]) -> str:
    for phrase, word in PHRASES:
        if all(known(t) for t in word_terms(word)):
            question = phrase.sub(word, question)
    return question


def _expanded(word: str, known: Callable[[str], bool]) -> tuple[str, ...] | None:
    """The terms of an abbreviation's long form, when the index holds them."""
    long_form = ABBREVIATIONS.get(word)
    if long_form is None:
        return None
    terms = word_terms(long_form)
    return terms if terms and all(known(t) for t in terms) else None


def question_terms(
    question: str, known: Callable[[str], bool], idf: Callable[[str], float]
) -> list[QuestionTerm]:
    """The question's terms in order, each distinct term once; a word whose every term is
    unknown to the index is replaced by its long form when it is a known abbreviation
    ("env var"), else by its correction when one exists. The measure word of "how long /
    how big ..." is a question word, not a term."""
    found: dict[str, QuestionTerm] = {}
    for word, terms in query_words(_rephrased(_HOW_MEASURE.sub("how", question), known)):
        if not any(known(t) for t in terms):
            corrected = _expanded(word, known) or correct_word(word, known, idf)
            if corrected is not None:
                for term in corrected:
                    found.setdefault(term, QuestionTerm(term, word, True, corrected=True))
                continue
        for term in terms:
            found.setdefault(term, QuestionTerm(term, word, known(term)))
    return list(found.values())


# --- conversations ------------------------------------------------------------------------

_CONTINUES = re.compile(
    r"^\s*(?:and|or|but|also|so|then|plus|what about|how about|same for|and what about)\b"
)
_REFERS = re.compile(
    r"\b(?:it|its|it's|that|this|these|those|they|them|their|theirs|he|him|his|she|her|hers"
    r"|there|such|same|former|latter|one|ones)\b"
)
# a question that points back ("how much was that?") and says little of its own leans on
# the turn before; one that names its own subject in more words starts afresh
MAX_OWN_TERMS_OF_A_FOLLOWUP = 2


def is_followup(question: str, own_terms: Sequence[QuestionTerm]) -> bool:
    """Whether the question leans on the earlier turns: it continues them ("and ...",
    "what about ..."), or refers back (it, that, they ...) with few words of its own."""
    text = " ".join(question.lower().replace("’", "'").split())
    if _CONTINUES.search(text):
        return True
    own = sum(1 for t in own_terms if t.known)
    return own <= MAX_OWN_TERMS_OF_A_FOLLOWUP and bool(_REFERS.search(text))
