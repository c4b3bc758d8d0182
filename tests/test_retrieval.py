from __future__ import annotations

from pathlib import Path

import pytest
from rank_bm25 import BM25Plus

from index.chunking import ChunkingConfig
from index.errors import QuestionError
from index.retrieval import Conversation, Engine, EngineConfig, build_index
from index.tokenize import tokenize


def _engine(root: Path, texts: dict[str, str], **config: object) -> Engine:
    for name, text in texts.items():
        (root / name).write_text(text + "\n", encoding="utf-8")
    return Engine(build_index(root, ChunkingConfig()), EngineConfig(**config))  # type: ignore[arg-type]


THREE = {"a.txt": "microsoft openai deal", "b.txt": "microsoft openai copilot", "c.txt": "openai musk"}


def test_matching_chunks_outrank_the_rest_on_a_tiny_corpus(tmp_path: Path) -> None:
    engine = _engine(tmp_path, THREE)
    passages = engine.retrieve("microsoft")
    assert [(p.source, p.matched_terms) for p in passages] == [
        ("a.txt", ("microsoft",)),
        ("b.txt", ("microsoft",)),
    ]
    oracle = BM25Plus([tokenize(t) for t in THREE.values()]).get_scores(["microsoft"])
    assert [p.score for p in passages] == pytest.approx(list(oracle[:2]), abs=1e-9)
    assert passages[0].score > oracle[2] > 0  # BM25+ floor: the non-match stays below


@pytest.mark.parametrize("count", [1, 2])
def test_one_and_two_chunk_corpora(tmp_path: Path, count: int) -> None:
    texts = dict(list(THREE.items())[:count])
    passages = _engine(tmp_path, texts).retrieve("Microsoft deal?")
    assert [p.source for p in passages] == list(texts)[:count]
    assert all(p.score > 0 for p in passages)


def test_ranking_ties_and_k_larger_than_the_corpus(tmp_path: Path) -> None:
    engine = _engine(tmp_path, {"x.txt": "turbine blade", "y.txt": "turbine blade", "z.txt": "rotor"})
    passages = engine.retrieve("turbine", k=50)
    assert [p.source for p in passages] == ["x.txt", "y.txt"]  # equal scores: lower id first
    assert passages[0].score == passages[1].score
    # the rarer word wins: "rotor" is in one chunk, "turbine" in two
    assert engine.retrieve("rotor turbine", k=1)[0].source == "z.txt"


def test_passage_fields(tmp_path: Path) -> None:
    engine = _engine(tmp_path, {"g.md": "# Setup\n\nInstall the turbine.\nThen start it."})
    (passage,) = engine.retrieve("install turbine")
    assert passage.model_dump() == {
        "chunk_id": 0,
        "source": "g.md",
        "start_line": 1,
        "end_line": 4,
        "page": None,
        "heading": "Setup",
        "text": "Setup\n\nInstall the turbine. Then start it.",
        "score": passage.score,
        "matched_terms": ("instal", "turbin"),
        "blocks": ((0, 5, "heading"), (7, 42, "paragraph")),
        "stale": False,
        "similarity": None,
    }


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "the question is empty"),
        ("   \n ", "the question is empty"),
        ("what is the?", "no searchable words"),
        ("?!...", "no searchable words"),
        ("turbine " * 300, "the limit is 2,000"),
    ],
)
def test_unusable_questions_raise_question_error(
    tmp_path: Path, question: str, message: str
) -> None:
    engine = _engine(tmp_path, THREE)
    with pytest.raises(QuestionError, match=message):
        engine.ask(question)


def test_followup_adds_earlier_terms_at_a_lower_weight(tmp_path: Path) -> None:
    engine = _engine(tmp_path, THREE, followup_weight=0.5)
    query = engine.query("and copilot?", history=["who made a deal with microsoft"])
    # "made" is in no document: it adds nothing to the search
    assert (query.terms, query.weights, query.followup) == (
        ("copilot", "deal", "microsoft"), (1.0, 0.5, 0.5), True
    )
    # a question that names its own subject starts afresh
    fresh = engine.query("what did microsoft and openai sign", history=["musk"])
    assert (fresh.followup, "musk" in fresh.terms) == (False, False)
    # a follow-up with no words of its own leans on the conversation alone
    assert engine.query("and then?", history=["musk"]).terms == ("musk",)


def test_conversation_keeps_the_last_turns() -> None:
    conv = Conversation(max_turns=2)
    for q in ["one", "two", "three"]:
        conv.add(q)
    assert conv.history == ("two", "three")
    conv.clear()
    assert conv.history == ()


def test_explain_sums_to_the_score(tmp_path: Path) -> None:
    engine = _engine(tmp_path, THREE)
    top = engine.retrieve("microsoft copilot unknownword")[0]
    rows = engine.explain("microsoft copilot unknownword", top.chunk_id)
    assert [(r.term, r.tf) for r in rows] == [("microsoft", 1), ("copilot", 1), ("unknownword", 0)]
    assert rows[2].score == 0.0
    assert sum(r.score for r in rows) == pytest.approx(top.score, abs=1e-12)


def test_sources_and_source_lines(docs_dir: Path) -> None:
    engine = Engine(build_index(docs_dir, ChunkingConfig()))
    assert [(s.source, s.chunks) for s in engine.sources()] == [
        ("faq.html", 2),
        ("guide.md", 3),
        ("manual.pdf", 2),
        ("notes/cafe.txt", 1),
    ]
    (passage,) = engine.retrieve("schema", k=1)
    # which lines are cited (the spans within them: tests/test_source_lines.py)
    assert [(n, text, span is not None) for n, text, span in engine.source_lines(passage, 1)] == [
        (5, "", False),
        (6, "## Upgrading", True),
        (7, "", True),
        (8, "Back up the database before upgrading. Version 3.2 changed the", True),
        (9, "schema, so older backups cannot be restored.", True),
        (10, "", False),
    ]
    (returns,) = engine.retrieve("returns accepted", k=1)
    assert returns.page == 2 and returns.citation == "manual.pdf:1-2 p.2"
    assert [r[1] for r in engine.source_lines(returns)] == [
        "Returns",
        "Returns are accepted within 30 days.",
    ]
