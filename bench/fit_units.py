"""Fit the answer layer's unit weights (``index.answer.FEATURES``) on question sets.

    python -m bench.fit_units [SET.yaml=DOCS ...]

By default the four devdocs sets (../shared/datasets/devdocs: md, html, pdf, rst). For
every answerable question, each unit of its top passages is a candidate with its features;
the units holding an expected answer are the right ones. The weights maximise the
likelihood of the right units under a softmax over each question's units (a conditional
logit), with an L2 pull towards the shipped weights. It prints how often the top unit is
right with the shipped weights and with weights fitted on all sets but one, scored on that
one (the held-out check), then the weights fitted on all sets, to paste into FEATURES.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from bot.evaluation.metrics import contains_any
from bot.evaluation.questions import load_questions
from index import answer
from index.chunking import ChunkingConfig
from index.retrieval import Engine, EngineConfig, build_index

DEVDOCS = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "devdocs"
NAMES = list(answer.FEATURES)
Rows = list[tuple[np.ndarray, np.ndarray]]  # per question: unit features, right units


def collect(questions: Path, docs: Path) -> Rows:
    engine = Engine(build_index(docs, ChunkingConfig()), EngineConfig(abstain_threshold=0.0))
    rows: Rows = []
    for question in load_questions(questions):
        if question.unanswerable:
            continue
        query = engine.query(question.question)
        passages = engine.retrieve(question.question)
        weights = engine.informative_weights(query)
        total = sum(weights.values()) + engine.unknown_weight(query)
        scored = answer.scored_units(passages, query.terms, weights, total, query.kinds)
        units = [(unit, features) for unit, features in scored if answer.is_candidate(features)]
        if units:
            x = np.array([[f[name] for name in NAMES] for _, f in units])
            y = np.array([contains_any(u.text, question.answers) for u, _ in units])
            rows.append((x, y))
    return rows


def top_right(rows: Rows, w: np.ndarray) -> tuple[int, int]:
    """Questions whose top unit is right, of those where some unit is."""
    right = sum(bool(y[int(np.argmax(x @ w))]) for x, y in rows)
    return right, sum(bool(y.any()) for _, y in rows)


def fit(rows: Rows, prior: np.ndarray, l2: float = 1.0, steps: int = 4000) -> np.ndarray:
    """Gradient descent with momentum on the mean negative log-likelihood of the right
    units, plus ``l2`` times the squared distance to ``prior`` (per question)."""
    usable = [(x, y) for x, y in rows if y.any()]
    w, velocity = prior.copy(), np.zeros_like(prior)
    for _ in range(steps):
        grad = np.zeros_like(w)
        for x, y in usable:
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            grad += p @ x - (p[y] / p[y].sum()) @ x[y]
        grad = grad / len(usable) + l2 * (w - prior) / len(usable)
        velocity = 0.9 * velocity + grad
        w -= 0.03 * velocity
    return w


def main(argv: list[str]) -> int:
    sets = [tuple(a.split("=", 1)) for a in argv] or [
        (str(DEVDOCS / f"{name}.yaml"), str(DEVDOCS / name))
        for name in ("md", "html", "pdf", "rst")
    ]
    data = {Path(q).stem: collect(Path(q), Path(d)) for q, d in sets}
    prior = np.array([answer.FEATURES[name] for name in NAMES])
    print("shipped weights, top unit right:", {n: top_right(r, prior) for n, r in data.items()})
    held_total = fitted_total = 0
    for held in data:
        train = [row for name, rows in data.items() if name != held for row in rows]
        w = fit(train, prior)
        right, available = top_right(data[held], w)
        held_total += right
        print(f"fitted without {held}, on {held}: {right} of {available}")
    w = fit([row for rows in data.values() for row in rows], prior)
    for name, rows in data.items():
        fitted_total += top_right(rows, w)[0]
    available = sum(top_right(rows, w)[1] for rows in data.values())
    print(f"held out in turn: {held_total} of {available}; fitted on all: {fitted_total}")
    print("FEATURES = {")
    for name, value in zip(NAMES, w):
        print(f'    "{name}": {value:.3f},')
    print("}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
