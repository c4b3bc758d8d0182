"""An extractive, cited answer from ranked passages, or an abstention.

The answer is made of **answer units** copied verbatim from the top passages: a sentence,
a whole list item (with its trailing "(Default 100)"), a table row with its header, a code
block, a heading (an API signature with its defaults), or a lead-in that ends with ":"
together with the block it introduces.

Each unit is scored by a small linear model over its features (``FEATURES``): the share
of the question's informative (IDF-weighted) words it holds, and those its heading path
and neighbouring units hold; whether the question's word pairs stand together in it;
whether it holds the kind of answer the question asks for (``index.query.answer_kinds``:
code for "how do I", a value for "what's the default", a name for "who", a definition
for "what is X"), and whether such a value or command stands next to a question word;
its kind, length and passage rank. The best unit leads; the unit after it joins when it
continues it ("It defaults to ...") or holds the asked-for value it lacks; other units
close in score join when they bring a question word the answer lacks.

We abstain when the **confidence** is below the threshold: the share of the question's
informative weight that the best unit and its heading path hold, where a question word
that no document holds (after typo correction) weighs ``UNKNOWN_PENALTY`` times the
rarest real word. Words scattered over a passage, or a subject no document names, give a
low confidence; one unknown word does not alone sink an answer that holds the others.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from index.chunking import SIGNATURE, passage_sentences, split_sentences
from index.models import Answer, AnswerSentence, BlockSpan, Passage
from index.query import CODE, DEFINITION, LIST, NAME, QUANTITY, VALUE
from index.tokenize import tokenize

ABSTAIN_TEXT = "The documents do not answer this question."
NO_MATCH_TEXT = "The documents do not answer this question: no passage shares a word with it."

# The confidence of an answer to "how many / how much / how long" whose best unit holds no
# number is multiplied by this
NO_QUANTITY_SHARE = 0.5
_QUANTITY_LIKE = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty"
    r"|hundred|thousand|million|billion|dozen|twice|half|once|several|few|many|no)\b",
    re.IGNORECASE,
)
# In the confidence, the question's words in the unit before the best one count this much
# (the answer often follows the sentence that names the subject: "... It defaults to 5")
BEFORE_SHARE = 0.5
# In the confidence, a question word no document holds weighs this many times its IDF
# were half a chunk to hold it (chosen with ``docqa eval --calibrate`` on the devdocs sets
# and the seed set, with the threshold: see the README)
UNKNOWN_PENALTY = 2.0
# Units longer than this many characters lose score gradually: a long block holds many
# words by chance.
LONG_UNIT = 400
# A further unit joins the best one when its score is within this of the best (scores
# are log-odds: 2.0 is about a seventh of the best unit's likelihood) and it brings a
# question word the answer lacks.
FOLLOWER_MARGIN = 2.0
MAX_ANSWER_CHARS = 900
MAX_CODE_LINES = 14

# A sentence that continues the one before it rather than starting a new point.
_CONTINUATION = re.compile(
    r"^(?:it|its|it's|this|that|these|those|they|their|he|she|his|her|such|the default"
    r"|defaults?|otherwise|however|but|so|thus|then|instead|for example|e\.g\.|note)\b",
    re.IGNORECASE,
)
_CODE_LIKE = re.compile(
    r"(?:^|\s)--?[a-z][\w-]*|\b\w+\.\w+\(|\b[a-z]+_[a-z_]+\b|\b\w+\(\)|[=:]\s*[\"'`\[{]"
    r"|\$ \w|^\s*[a-z][\w-]* [a-z][\w-]*(?: [\w.-]+)* --|\b[a-z]+\.[a-z][\w.]*\b|[{}]|=>|->"
)
_VALUE_LIKE = re.compile(
    r"\d|\b(?:true|false|none|null|nil|yes|no|on|off|enabled|disabled|default|defaults"
    r"|unlimited|infinite)\b|[\"'“‘][^\"'”’]{1,40}[\"'”’]|~/|\{[\w-]+\}|/\w"
)
_NAME_LIKE = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")
_DEFINES = re.compile(
    r"\b(?:is|are|was|means|refers to|stands for|describes|provides|lets|allows|is used to"
    r"|is called|known as)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Unit:
    """A piece of a passage that can stand as an answer."""

    passage: int  # 1-based
    start: int  # offsets into the passage's text
    end: int
    kind: str  # sentence, list_item, table_row, code, quote, lead_in
    block: int  # its block's position in the passage
    text: str  # as shown: prose on one line, code with its line breaks
    terms: frozenset[str]
    context: frozenset[str] = frozenset()  # its section's heading path
    sequence: tuple[str, ...] = ()  # its terms in order
    first: bool = False  # the first unit of its block

    @property
    def is_code(self) -> bool:
        return self.kind in ("code", "lead_in")


@dataclass
class _Scored:
    unit: Unit
    score: float
    own: float  # weight of question terms in the unit itself
    near: float  # ... only in its heading path, or (at half weight) in the unit before it
    has_kind: bool
    followers: list[Unit] = field(default_factory=list)
    similarity: float | None = None  # to the question, when the semantic layer is on


def _display(text: str, code: bool) -> str:
    if code:
        lines = [line.rstrip() for line in text.strip("\n").split("\n")]
        return "\n".join(lines)
    return " ".join(text.split())


def _blocks_of(passage: Passage) -> tuple[BlockSpan, ...]:
    if passage.blocks:
        return passage.blocks
    # a passage without typed blocks (built by hand, or by an older index): its paragraphs
    # are found again by the loader's rules
    return tuple((a, b, "paragraph") for a, b in passage_sentences(passage.text))


def passage_units(passage: Passage, n: int) -> list[Unit]:
    """The answer units of passage ``n`` (1-based), in reading order."""
    text = passage.text
    heading = frozenset(tokenize(passage.heading or ""))
    units: list[Unit] = []
    blocks = _blocks_of(passage)
    for i, (start, end, kind) in enumerate(blocks):
        if kind == "heading":
            # a heading can hold the answer itself (an API signature with its defaults:
            # "sort ([cmp='<'])"); it is scored as a unit like the others
            shown = _display(text[start:end], False)
            sequence = tuple(tokenize(shown))
            if sequence:
                units.append(
                    Unit(n, start, end, "heading", i, shown, frozenset(sequence),
                         heading - frozenset(sequence), sequence, first=True)
                )  # fmt: skip
            continue
        spans: list[tuple[int, int, str]]
        if kind == "code":
            spans = [(a, b, "code") for a, b in _code_runs(text, start, end)]
        elif kind in ("list_item", "table_row") and end - start <= 2 * LONG_UNIT:
            spans = [(start, end, kind)]
        else:
            spans = [(a, b, "sentence") for a, b in split_sentences(text, start, end)]
        block_units = []
        for a, b, unit_kind in spans:
            shown = _display(text[a:b], unit_kind == "code")
            sequence = tuple(tokenize(shown))
            if not shown or not sequence:
                continue
            unit = Unit(
                n, a, b, unit_kind, i, shown, frozenset(sequence), heading, sequence,
                first=not block_units,
            )  # fmt: skip
            block_units.append(unit)
        units.extend(block_units)
        lead = block_units[-1] if block_units else None
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        if (
            lead is not None
            and lead.kind != "code"
            and lead.text.endswith(":")
            and nxt is not None
            and nxt[2] != "heading"
        ):
            a, b = lead.start, nxt[1]
            body_code = nxt[2] == "code"
            body = _display(text[nxt[0] : nxt[1]], body_code)
            if body and b - a <= 2 * MAX_ANSWER_CHARS:
                shown = f"{lead.text}\n{body}" if body_code else f"{lead.text} {body}"
                sequence = lead.sequence + tuple(tokenize(body))
                units.append(
                    Unit(n, a, b, "lead_in", i, shown, frozenset(sequence), heading, sequence)
                )
    return units


def _code_runs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A code block as one unit, or a long one in runs of lines split at blank lines
    where possible."""
    lines: list[tuple[int, int]] = []
    cursor = start
    while cursor <= end:
        newline = text.find("\n", cursor, end)
        stop = end if newline < 0 else newline
        lines.append((cursor, stop))
        cursor = stop + 1
    if len(lines) <= MAX_CODE_LINES:
        return [(start, end)]
    runs = []
    first = 0
    for k in range(len(lines)):
        blank = not text[lines[k][0] : lines[k][1]].strip()
        if k - first + 1 >= MAX_CODE_LINES or (blank and k - first >= 3):
            runs.append((lines[first][0], lines[k][1]))
            first = k + 1
    if first < len(lines):
        runs.append((lines[first][0], lines[-1][1]))
    return [(a, b) for a, b in runs if text[a:b].strip()]


def has_kind(unit: Unit, kind: str) -> bool:
    """Whether the unit holds the kind of answer ``kind`` asks for."""
    if kind == CODE:
        return unit.is_code or bool(_CODE_LIKE.search(unit.text))
    if kind == VALUE:
        return bool(_VALUE_LIKE.search(unit.text))
    if kind == NAME:
        return bool(_NAME_LIKE.search(unit.text))
    if kind == DEFINITION:
        return unit.kind == "sentence" and bool(_DEFINES.search(unit.text))
    if kind == LIST:
        return unit.kind in ("list_item", "table_row", "lead_in") or unit.text.count(",") >= 2
    return False


def _weights_held(terms: frozenset[str], weights: dict[str, float]) -> float:
    return sum(w for t, w in weights.items() if t in terms)


# The features of a unit, and what each adds to its score. The weights were set by hand,
# then fitted on the devdocs question sets (a conditional logit over each question's
# units, checked on each set held out in turn: see the README, "How an answer is made").
FEATURES: dict[str, float] = {
    "own": 3.477,  # share of the question's weight in the unit itself
    "heading": 1.577,  # ... only in its section's heading path
    "before": 1.123,  # ... only in the unit before it
    "after": -0.16,  # ... only in the unit after it
    "all_held": 1.21,  # the unit and its heading hold every known question word
    "rarest": -0.3,  # it holds the question's rarest word
    "phrase": 0.6,  # share of the question's word pairs that stand together in it
    "density": 0.863,  # share of its words that are question words
    "novelty": -0.181,  # share of its words that are not the question's
    "rank": -0.294,  # passage rank - 1
    "passage_score": 1.504,  # passage score / best passage score
    "long": 0.057,  # log2 of length / LONG_UNIT when longer
    "short": -0.094,  # fewer than 4 words
    "list_item": 0.301,
    "table_row": 1.439,
    "code": -0.236,
    "lead_in": -0.086,
    "code_asked_code": -0.126,  # holds code (or a command) for a "how do I" question
    "value_asked_value": 0.498,  # holds a value for "what's the default / how many"
    "name_asked_name": 0.257,
    "definition_asked_definition": 0.206,
    "list_asked_list": 0.605,
    "kind_missing": -0.979,  # a kind was asked for and the unit has none
    "code_block_asked_code": 0.612,  # a code block for a "how do I" question
    "default_asked_value": 1.432,  # says "default" for a value question
    "ends_with_colon": -1.106,  # a lead-in without what it leads to
    "continues": -0.171,  # starts "It ...", "This ...": leans on the sentence before
    "asks": -0.238,  # a question itself (FAQ headings restate the question)
    "first": -0.153,  # the first unit of its block
    "heading_unit": -0.706,  # a heading (a signature or a setting's name) rather than text
    "value_near": 0.368,  # a value stands within three words of a question word
    "code_near": 0.291,  # a command, option or identifier stands next to a question word
    "defines_subject": 0.851,  # "X is ...", where X is the question's subject
}
_ASKED = {CODE: "code_asked_code", VALUE: "value_asked_value", NAME: "name_asked_name",
          DEFINITION: "definition_asked_definition", LIST: "list_asked_list"}  # fmt: skip
_DEFAULT = re.compile(r"\bdefaults?\b|\bby default\b", re.IGNORECASE)
_WORD = re.compile(r"\S+")
_VALUE_WORD = re.compile(r"\d|^[\"'“‘(\[{<]|^(?:true|false|none|null|nil|on|off|unlimited)\W*$", re.I)
_CODE_WORD = re.compile(r"^--?\w|\w[._]\w|\(\)|=|^[$>]|[{}]", re.I)
_DEFINING_VERB = re.compile(
    r"^(?:is|are|was|were|means|refers|stands|describes|provides|lets|allows|does|do|returns"
    r"|creates|makes|handles|contains|holds|gives)$",
    re.IGNORECASE,
)
# how far (in words) a value or a piece of code may stand from a question word
NEAR = 3


def _typed_nearness(unit: Unit, weights: dict[str, float]) -> tuple[bool, bool, bool]:
    """Whether a value, and a piece of code, stand within ``NEAR`` words of a question
    word in the unit; and whether the unit defines the question's rarest word ("X is a
    ...": the word among its first words, a defining verb right after it)."""
    words = _WORD.findall(unit.text)
    hits = []
    values = []
    codes = []
    rarest = max(weights, key=weights.__getitem__) if weights else None
    defines = False
    for i, word in enumerate(words[:200]):
        terms = tokenize(word)
        if any(t in weights for t in terms):
            hits.append(i)
            if rarest in terms and i < 6:
                after = words[i + 1 : i + 5]
                defines = defines or any(_DEFINING_VERB.match(w.strip(",;:")) for w in after)
        elif _VALUE_WORD.search(word):
            values.append(i)
        if _CODE_WORD.search(word) and not any(t in weights for t in terms):
            codes.append(i)
    near_value = any(abs(v - h) <= NEAR for v in values for h in hits)
    near_code = any(abs(c - h) <= NEAR for c in codes for h in hits)
    return near_value, near_code, defines


def _phrase(question: Sequence[str], unit: Sequence[str]) -> float:
    """Share of the question's consecutive term pairs that stand within two terms of each
    other, in the same order, in the unit."""
    pairs = [(a, b) for a, b in zip(question, question[1:]) if a != b]
    if not pairs:
        return 0.0
    positions: dict[str, list[int]] = {}
    for i, term in enumerate(unit):
        positions.setdefault(term, []).append(i)
    found = 0
    for a, b in pairs:
        if any(0 < j - i <= 2 for i in positions.get(a, ()) for j in positions.get(b, ())):
            found += 1
    return found / len(pairs)


def unit_features(
    unit: Unit,
    before: frozenset[str],
    after: frozenset[str],
    question: Sequence[str],
    weights: dict[str, float],
    total: float,
    kinds: frozenset[str],
    passage_score: float,
) -> dict[str, float]:
    """The features of one unit for one question (see ``FEATURES``). ``question`` is the
    question's known terms in order; ``weights`` their informative weights; ``total`` the
    whole question's weight, unknown words included."""
    if total <= 0:
        total = 1.0
    own = _weights_held(unit.terms, weights)
    heading = _weights_held(unit.context - unit.terms, weights)
    seen = unit.terms | unit.context
    near_before = _weights_held(before - seen, weights)
    near_after = _weights_held(after - seen - before, weights)
    known_total = sum(weights.values()) or 1.0
    rarest = max(weights, key=weights.__getitem__) if weights else None
    matched = sum(1 for t in unit.sequence if t in weights)
    features = dict.fromkeys(FEATURES, 0.0)
    features.update(
        own=own / total,
        heading=heading / total,
        before=near_before / total,
        after=near_after / total,
        all_held=float(own + heading >= known_total * 0.999),
        rarest=float(rarest in unit.terms),
        phrase=_phrase(question, unit.sequence),
        density=matched / len(unit.sequence),
        novelty=len(unit.terms - weights.keys()) / len(unit.terms),
        rank=float(unit.passage - 1),
        passage_score=passage_score,
        long=max(0.0, math.log2(len(unit.text) / LONG_UNIT)),
        short=float(len(unit.sequence) < 4),
        ends_with_colon=float(unit.kind != "lead_in" and unit.text.rstrip().endswith(":")),
        continues=float(bool(_CONTINUATION.match(unit.text))),
        asks=float(unit.text.rstrip().endswith("?")),
        first=float(unit.first),
    )
    if unit.kind in ("list_item", "table_row", "code", "lead_in"):
        features[unit.kind] = 1.0
    features["heading_unit"] = float(unit.kind == "heading")
    wanted = [k for k in _ASKED if k in kinds]
    held = [k for k in wanted if has_kind(unit, k)]
    for k in held:
        features[_ASKED[k]] = 1.0
    features["kind_missing"] = float(bool(wanted) and not held)
    features["code_block_asked_code"] = float(CODE in kinds and unit.is_code)
    if kinds & {VALUE, CODE, DEFINITION}:
        near_value, near_code, defines = _typed_nearness(unit, weights)
        features["value_near"] = float(VALUE in kinds and near_value)
        features["code_near"] = float(CODE in kinds and near_code)
        features["defines_subject"] = float(DEFINITION in kinds and defines)
    features["default_asked_value"] = float(VALUE in kinds and bool(_DEFAULT.search(unit.text)))
    return features


# The semantic layer's unit features, added to a unit's score only when the index has
# chunk vectors (so the answer without the extra is exactly the one above): the unit's
# cosine similarity to the question. Fitted like FEATURES, with FEATURES fixed
# (``python -m bench.fit_units --semantic``).
SEMANTIC_FEATURES: dict[str, float] = {
    "similarity": 3.0,
}
# With the semantic layer the confidence also counts the surest unit's similarity to the
# question: SIMILARITY_SHARE of how far it stands above SIMILARITY_FLOOR (all-MiniLM-L6-v2
# gives unrelated English sentences 0 to 0.3). Chosen with the semantic threshold (0.4,
# ``DOCQA_SEMANTIC_ABSTAIN_THRESHOLD``) on the devdocs sets and the seed set (README).
SIMILARITY_FLOOR = 0.3
SIMILARITY_SHARE = 0.5


@dataclass(frozen=True)
class Semantic:
    """What the answer layer takes from the semantic layer: the question's vector and a
    way to embed units the same way."""

    question: np.ndarray
    embed: Callable[[Sequence[str]], np.ndarray]

    def similarities(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0, dtype=np.float32)
        return self.embed(texts) @ self.question


def add_similarities(
    units: Sequence[tuple[Unit, dict[str, float]]], semantic: Semantic
) -> None:
    """Set the ``similarity`` feature of every candidate unit (embedded in one batch)."""
    candidates = [f for _, f in units if is_candidate(f)]
    sims = semantic.similarities([u.text for u, f in units if is_candidate(f)])
    for features, sim in zip(candidates, sims.tolist()):
        features["similarity"] = sim


def is_candidate(features: dict[str, float]) -> bool:
    """A unit can answer when it, its heading path or the unit before it holds a question
    word: under a heading that names the subject ("socket.protect(func)"), the answer
    ("Converts a function that throws exceptions ...") need not repeat it."""
    return features["own"] > 0 or features["heading"] > 0 or features["before"] > 0


def _score(features: dict[str, float]) -> float:
    return sum(
        (FEATURES.get(name) or SEMANTIC_FEATURES.get(name, 0.0)) * value
        for name, value in features.items()
    )


def scored_units(
    passages: Sequence[Passage],
    question: Sequence[str],
    weights: dict[str, float],
    total: float,
    kinds: frozenset[str],
) -> list[tuple[Unit, dict[str, float]]]:
    """Every unit of the passages with its features, in passage then reading order."""
    top = max((p.score for p in passages), default=0.0) or 1.0
    found = []
    for n, passage in enumerate(passages, start=1):
        units = passage_units(passage, n)
        plain = [u for u in units if u.kind not in ("lead_in", "heading")]
        neighbours: dict[int, tuple[frozenset[str], frozenset[str]]] = {}
        for k, unit in enumerate(plain):
            before = plain[k - 1].terms if k else frozenset()
            after = plain[k + 1].terms if k + 1 < len(plain) else frozenset()
            neighbours[unit.start] = (before, after)
        for unit in units:
            before, after = neighbours.get(unit.start, (frozenset(), frozenset()))
            features = unit_features(
                unit, before, after, question, weights, total, kinds, passage.score / top
            )
            found.append((unit, features))
    return found


@dataclass(frozen=True)
class Choice:
    """The chosen units and how sure we are of them."""

    units: tuple[Unit, ...]
    confidence: float
    similarity: float | None = None  # the surest unit's, when the semantic layer is on


def choose_units(
    passages: Sequence[Passage],
    question: Sequence[str],
    weights: dict[str, float],
    kinds: frozenset[str] = frozenset(),
    own_terms: frozenset[str] | None = None,
    unknown_weight: float = 0.0,
    max_units: int = 3,
    semantic: Semantic | None = None,
) -> Choice | None:
    """The units that best answer the question, in passage then reading order, and the
    confidence of that answer; None when no unit can answer.

    ``question`` is the question's known terms in order and ``weights`` their
    informative weights (IDF times the turn weight); ``unknown_weight`` is the weight of
    question words no document holds. In a follow-up, ``own_terms`` are the new
    question's terms: the answer must hold one of them.
    """
    total = sum(weights.values()) + unknown_weight
    units = scored_units(passages, question, weights, total, kinds)
    if semantic is not None:
        add_similarities(units, semantic)
    scored = [
        _Scored(
            u,
            _score(f),
            f["own"] * total,
            (f["heading"] + BEFORE_SHARE * f["before"]) * total,
            not f["kind_missing"],
            similarity=f.get("similarity"),
        )
        for u, f in units
        if is_candidate(f)
    ]
    if own_terms:
        scored = [s for s in scored if s.unit.terms & own_terms] or scored
    if not scored:
        return None
    ranked = sorted(scored, key=lambda s: (-s.score, s.unit.passage, s.unit.start))
    best = ranked[0]
    chosen = [best.unit, *_followers(best, [u for u, _ in units], kinds)]
    covered = set().union(*(u.terms for u in chosen))
    for other in ranked[1:]:
        if len(chosen) >= max_units or other.score < best.score - FOLLOWER_MARGIN:
            break
        new = other.unit.terms - covered
        if not _overlaps(other.unit, chosen) and any(t in weights for t in new):
            chosen.append(other.unit)
            covered |= other.unit.terms
    chosen = _within_budget(chosen[:max_units])
    chosen.sort(key=lambda u: (u.passage, u.start))
    # the answer is as sure as its surest unit
    by_unit = {id(s.unit): s for s in ranked}
    surest = max(
        (by_unit[id(u)] for u in chosen if id(u) in by_unit),
        key=lambda s: _confidence(s, weights, unknown_weight, kinds),
    )
    confidence = _confidence(surest, weights, unknown_weight, kinds)
    if surest.similarity is not None:
        above = max(0.0, surest.similarity - SIMILARITY_FLOOR)
        confidence = min(1.0, confidence + SIMILARITY_SHARE * above)
    return Choice(tuple(chosen), confidence, surest.similarity)


def _followers(best: _Scored, units: Sequence[Unit], kinds: frozenset[str]) -> list[Unit]:
    """Neighbours of the best unit that belong with it: the unit after it when it
    continues it ("It defaults to ..."), and the unit before or after it that holds the
    kind of answer asked for when the best one lacks it (the "Default: 15" line above a
    setting's description, the value after a bullet that names it)."""
    plain = [u for u in units if u.kind not in ("lead_in", "heading")]
    position = next(
        (k for k, u in enumerate(plain) if (u.passage, u.start) == (best.unit.passage, best.unit.start)),
        None,
    )
    if position is None:
        return []
    unit = best.unit
    found = []
    nxt = plain[position + 1] if position + 1 < len(plain) else None
    prev = plain[position - 1] if position > 0 else None
    if nxt is not None and (nxt.passage != unit.passage or nxt.start < unit.end):
        nxt = None
    if prev is not None and (prev.passage != unit.passage or prev.end > unit.start):
        prev = None
    if nxt is not None and nxt.block == unit.block and _CONTINUATION.match(nxt.text):
        found.append(nxt)
    elif nxt is not None and SIGNATURE.match(unit.text):
        found.append(nxt)  # an API entry's signature is followed by what it does
    wanted = kinds & {CODE, VALUE, NAME, LIST}
    if wanted and not best.has_kind:
        for near in (nxt, prev):
            if (
                near is not None
                and near not in found
                and abs(near.block - unit.block) <= 1
                and any(has_kind(near, k) for k in wanted)
            ):
                found.append(near)
                break
    return found


def _overlaps(unit: Unit, chosen: Sequence[Unit]) -> bool:
    return any(
        unit.passage == c.passage and unit.start < c.end and c.start < unit.end for c in chosen
    )


def _within_budget(units: list[Unit]) -> list[Unit]:
    kept = [units[0]]
    size = len(units[0].text)
    for unit in units[1:]:
        if size + len(unit.text) > MAX_ANSWER_CHARS:
            break
        kept.append(unit)
        size += len(unit.text)
    return kept


def _confidence(
    best: _Scored,
    weights: dict[str, float],
    unknown_weight: float,
    kinds: frozenset[str],
) -> float:
    """The share of the question's informative weight that the best unit holds, with its
    heading path and (at half weight) the unit before it, where each word no document
    holds weighs ``UNKNOWN_PENALTY`` times a rare word: a question whose words are
    scattered over a passage, or whose subject no document names, gets a low confidence."""
    total = sum(weights.values()) + UNKNOWN_PENALTY * unknown_weight
    confidence = min(1.0, (best.own + best.near) / total) if total > 0 else 0.0
    if QUANTITY in kinds and not _QUANTITY_LIKE.search(best.unit.text):
        # "how many ...?" answered by a unit that holds no number
        confidence *= NO_QUANTITY_SHARE
    return confidence


def coverage(
    passage: Passage, weights: dict[str, float], idf: Callable[[str], float]
) -> float:
    """Share of the question's IDF-weighted terms that ``passage`` contains."""
    total = sum(w * idf(t) for t, w in weights.items())
    held = sum(w * idf(t) for t, w in weights.items() if t in passage.matched_terms)
    return held / total if total > 0 else 0.0


def compose_answer(
    question: str,
    question_terms: Sequence[str],
    weights: dict[str, float],
    passages: Sequence[Passage],
    threshold: float,
    kinds: frozenset[str] = frozenset(),
    own_terms: frozenset[str] | None = None,
    unknown_weight: float = 0.0,
    followup: bool = False,
    max_units: int = 3,
    semantic: Semantic | None = None,
) -> Answer:
    """Answer from ``passages`` (best first), or abstain and still return them.

    ``weights`` are the known question terms' informative weights (see ``choose_units``).
    """
    if not passages:
        return Answer(question=question, text=NO_MATCH_TEXT, abstained=True, followup=followup)
    choice = choose_units(
        passages, question_terms, weights, kinds, own_terms, unknown_weight, max_units,
        semantic,
    )
    confidence = choice.confidence if choice is not None else 0.0
    if choice is None or confidence < threshold:
        return Answer(
            question=question,
            text=ABSTAIN_TEXT,
            abstained=True,
            passages=tuple(passages),
            coverage=confidence,
            followup=followup,
        )
    sentences = tuple(
        AnswerSentence(text=u.text, passage=u.passage, kind="code" if u.is_code else "text")
        for u in choice.units
    )
    return Answer(
        question=question,
        text=answer_text(sentences),
        abstained=False,
        sentences=sentences,
        passages=tuple(passages),
        coverage=confidence,
        followup=followup,
    )


def answer_text(sentences: Sequence[AnswerSentence]) -> str:
    """The answer as one text: prose units joined on a line, code on lines of its own,
    each followed by the ``[n]`` of its passage."""
    out = ""
    for s in sentences:
        piece = f"{s.text} [{s.passage}]"
        if "\n" in s.text:
            out = f"{out}\n{piece}\n" if out else f"{piece}\n"
        else:
            out = f"{out} {piece}" if out and not out.endswith("\n") else out + piece
    return out.strip()
