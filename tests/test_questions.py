"""Loading question sets: YAML and JSON Lines, and errors that name the item and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, SEEDS

from bot.evaluation.metrics import normalize_text
from bot.evaluation.questions import EvalQuestion, QuestionSetError, load_questions


def _write(tmp_path: Path, text: str, name: str = "set.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_list_with_defaults(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "- question: Who sued OpenAI?\n"
        "  answers: Elon Musk\n"  # one string is taken as a list of one
        "- id: 7\n"
        "  question: When was Microsoft founded?\n"
        "  unanswerable: true\n"
        "  tags: [shares-words]\n",
    )
    assert load_questions(path) == [
        EvalQuestion(id="#1", question="Who sued OpenAI?", answers=("Elon Musk",)),
        EvalQuestion(
            id="7",
            question="When was Microsoft founded?",
            unanswerable=True,
            tags=("shares-words",),
        ),
    ]


def test_json_lines_skip_blank_lines(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '{"id": "a", "question": "Who?", "answers": ["x"], "sources": ["f.txt"]}\n\n'
        '{"question": "Why?", "unanswerable": true}\n',
        name="set.jsonl",
    )
    questions = load_questions(path)
    assert [(q.id, q.sources, q.unanswerable) for q in questions] == [
        ("a", ("f.txt",), False),
        ("#3", (), True),  # the default id counts lines, as the errors do
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "- question: ok\n  answers: [x]\n- answers: [y]\n",
            "item 2: field 'question' is required",
        ),
        (
            "- question: ok\n  answer: [x]\n",
            "item 1: field 'answer' is not a known field (known: id, question, answers, "
            "sources, unanswerable, tags)",
        ),
        (
            "- id: q1\n  question: ok\n  answers: [x, 3]\n",
            "item 1 (id 'q1'): field 'answers' (entry 2): Input should be a valid string",
        ),
        (
            "- question: ok\n  answers: ['  ']\n",
            "item 1: field 'answers': an expected answer is blank (it would match every answer)",
        ),
        (
            "- question: ok\n",
            "item 1: field 'answers' is required for an answerable question (strings one of "
            "which the answer must contain), or set `unanswerable: true`",
        ),
        (
            "- question: ok\n  unanswerable: true\n  answers: [x]\n",
            "item 1: field 'answers' must be empty for an unanswerable question: drop the "
            "answers or `unanswerable: true`",
        ),
        (
            "- question: ok\n  unanswerable: perhaps\n",
            "item 1: field 'unanswerable': Input should be a valid boolean, unable to "
            "interpret input",
        ),
        ("- question: '   '\n  answers: [x]\n", "item 1: field 'question': the question is blank"),
        ("- just a string\n", "item 1: expected a mapping with at least `question`, got str"),
        (
            "- id: a\n  question: one\n  answers: [x]\n- id: a\n  question: two\n  answers: [y]\n",
            "item 2 (id 'a'): field 'id' repeats the id of item 1: ids must be unique so "
            "reports can be compared",
        ),
        (
            "question: ok\n",
            "expected a list of questions (items starting with `- question:`), got a dict",
        ),
        ("", "expected a list of questions (items starting with `- question:`), got nothing"),
        ("[]\n", "the question set is empty: add at least one question"),
        ("- question: [\n", "not valid YAML at line 2, column 1"),
    ],
)
def test_errors_name_item_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(QuestionSetError) as info:
        load_questions(path)
    assert str(info.value).startswith(f"{path}: {message}")


def test_json_lines_error_names_the_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path, '{"question": "a", "answers": ["x"]}\n\n{"question": 3}\n', name="s.jsonl"
    )
    with pytest.raises(QuestionSetError, match=r"s\.jsonl: line 3: field 'question': Input "):
        load_questions(path)
    _write(tmp_path, '{"question": "a"\n', name="bad.jsonl")
    with pytest.raises(QuestionSetError, match=r"bad\.jsonl: line 1 is not valid JSON"):
        load_questions(tmp_path / "bad.jsonl")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(QuestionSetError, match="question set .*nope.yaml does not exist"):
        load_questions(tmp_path / "nope.yaml")


def test_shipped_seed_questions_are_sound() -> None:
    """evals/seeds.yaml has the questions the issue asks for, and every expected answer
    really stands in the documents (else a right answer could never match it)."""
    questions = load_questions(ROOT / "evals" / "seeds.yaml")
    answerable = [q for q in questions if not q.unanswerable]
    assert len(answerable) >= 30
    assert sum(q.unanswerable for q in questions) >= 8
    corpus = " ".join(normalize_text(p.read_text(encoding="utf-8")) for p in SEEDS.glob("*.txt"))
    missing = [(q.id, a) for q in answerable for a in q.answers if normalize_text(a) not in corpus]
    assert missing == []
    for q in questions:
        for source in q.sources:
            assert (SEEDS / source).is_file(), (q.id, source)


def _laughs(levels: int = 9) -> str:
    """A "billion laughs" question set: an id of 9 ** levels values in a few hundred bytes
    (showing that id in a message used to expand it all)."""
    anchors = ["&l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    anchors += [f"&l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, levels)]
    return "- question: q\n  answers: [ok]\n  id: [" + ",\n    ".join(anchors) + "]\n"


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    path = _write(tmp_path, _laughs())
    assert len(path.read_bytes()) < 600
    with pytest.raises(QuestionSetError) as raised:
        load_questions(path)
    assert str(raised.value) == (
        f"{path}: its YAML aliases (*name) expand to more than 1,000,000 values: write the "
        "values out, or use fewer aliases"
    )


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "- question: Who sued OpenAI?\n  answers: &musk [Elon Musk, Musk]\n"
        "- question: Who offered 97.4 billion?\n  answers: *musk\n",
    )
    assert [q.answers for q in load_questions(path)] == [("Elon Musk", "Musk")] * 2


def test_an_alias_inside_itself_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "- &a\n  question: q\n  answers: [*a]\n")
    with pytest.raises(QuestionSetError) as raised:
        load_questions(path)
    assert str(raised.value) == f"{path}: a YAML alias refers to the node that holds it"


def test_deep_nesting_is_refused_without_a_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, "- question: " + "[" * 2000 + "]" * 2000 + "\n")
    with pytest.raises(QuestionSetError) as raised:
        load_questions(path)
    assert str(raised.value) == (
        f"{path}: nested more than 50 levels deep at line 1: a question set is a list of "
        "flat items"
    )
    jsonl = _write(tmp_path, '{"question": ' + "[" * 100_000 + "]" * 100_000 + "}\n", "d.jsonl")
    with pytest.raises(QuestionSetError) as raised:
        load_questions(jsonl)
    assert str(raised.value) == f"{jsonl}: line 1 is nested too deeply to be a question"
