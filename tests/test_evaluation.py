"""docqa eval: grading, metrics, calibration, output, and the command's exit statuses."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from conftest import SEEDS

from bot.cli import main
from bot.evaluation.beir import DocumentRanker, load_beir
from bot.evaluation.calibration import SweepRow, choose_threshold, thresholds
from bot.evaluation.questions import EvalQuestion
from bot.evaluation.report import Change, compare_results, format_failures, markdown_report
from bot.evaluation.runs import Metric, QuestionResult, grade, run_questions, summarize
from index.chunking import ChunkingConfig, indexed_text
from index.models import Answer, Passage
from index.retrieval import Engine, EngineConfig, build_index


def _passage(text: str, source: str = "a.txt") -> Passage:
    return Passage(chunk_id=0, source=source, start_line=1, end_line=1, text=text, score=1.0)


def _answer(text: str, abstained: bool, passages: tuple[Passage, ...] = ()) -> Answer:
    return Answer(question="q", text=text, abstained=abstained, passages=passages, coverage=0.5)


def _result(
    id: str, outcome: str, unanswerable: bool = False, passage_rank: int | None = 1, **extra: object
) -> QuestionResult:
    return QuestionResult(
        id=id,
        question=f"question {id}",
        unanswerable=unanswerable,
        expected=() if unanswerable else ("x",),
        answer="The documents do not answer this question." if outcome in ("missed", "abstained")
        else f"answer {id}",
        abstained=outcome in ("missed", "abstained"),
        outcome=outcome,
        passed=outcome in ("correct", "abstained"),
        coverage=0.25,
        passage_rank=None if unanswerable else passage_rank,
        latency_ms=1.0,
        **extra,  # type: ignore[arg-type]
    )


# --- grading ------------------------------------------------------------------------


def test_grade_outcomes() -> None:
    q = EvalQuestion(id="a", question="Who?", answers=("Elon Musk",), sources=("b.txt",))
    passages = (_passage("nothing here"), _passage("Elon  MUSK sued", source="b.txt"))
    right = grade(q, _answer("Elon Musk sued. [2]", False, passages), 0.3)
    assert (right.outcome, right.passed, right.passage_rank, right.source_rank) == (
        "correct", True, 2, 2,
    )  # fmt: skip
    wrong = grade(q, _answer("Sam Altman. [1]", False, passages), 0.3)
    assert (wrong.outcome, wrong.passed) == ("wrong", False)
    missed = grade(q, _answer("The documents do not answer this question.", True), 0.3)
    assert (missed.outcome, missed.passage_rank, missed.source_rank) == ("missed", None, None)

    u = EvalQuestion(id="u", question="When?", unanswerable=True)
    assert grade(u, _answer("x", True), 0.1).outcome == "abstained"
    assert grade(u, _answer("x", False), 0.1).outcome == "answered"


def test_summarize_counts_each_metric() -> None:
    results = [
        _result("1", "correct", passage_rank=1, sources=("a.txt",), source_rank=2),
        _result("2", "wrong", passage_rank=2, sources=("a.txt",)),
        _result("3", "missed", passage_rank=None),
        _result("4", "correct", passage_rank=4),
        _result("5", "abstained", unanswerable=True),
        _result("6", "answered", unanswerable=True),
    ]
    assert summarize(results, k=5) == [
        Metric("answer_accuracy", 0.5, "2/4"),
        Metric("passage_hit@5", 0.75, "3/4"),
        Metric("source_hit@5", 0.5, "1/2"),
        Metric("mrr", (1 + 1 / 2 + 0 + 1 / 4) / 4, "over 4"),
        Metric("abstain_precision", 0.5, "1/2"),  # 3 (missed) and 5 abstained
        Metric("abstain_recall", 0.5, "1/2"),
    ]


def test_undefined_metrics_are_left_out() -> None:
    results = [_result("1", "correct")]
    assert [m.name for m in summarize(results, k=3)] == ["answer_accuracy", "passage_hit@3", "mrr"]


def test_run_questions_on_a_folder(tmp_path: Path) -> None:
    (tmp_path / "rockets.txt").write_text(
        "Liquid rockets burn hydrogen.\nSolid rockets burn a powder.\n", encoding="utf-8"
    )
    (tmp_path / "birds.md").write_text("# Birds\n\nSwallows migrate in autumn.\n", encoding="utf-8")
    engine = Engine(build_index(tmp_path, ChunkingConfig()), EngineConfig(abstain_threshold=0.5))
    questions = [
        EvalQuestion(id="fuel", question="What do liquid rockets burn?", answers=("hydrogen",)),
        EvalQuestion(
            id="when", question="when do swallows migrate", answers=("autumn",),
            sources=("birds.md",),
        ),  # fmt: skip
        EvalQuestion(id="no", question="Who built the pyramids?", unanswerable=True),
        EvalQuestion(id="stop", question="the of and", unanswerable=True),
    ]
    results = run_questions(engine, questions)
    assert [(r.id, r.outcome, r.passage_rank, r.source_rank) for r in results] == [
        ("fuel", "correct", 1, None),
        ("when", "correct", 1, 1),
        ("no", "abstained", None, None),
        ("stop", "abstained", None, None),  # no searchable word: the engine refuses it
    ]
    assert results[3].error is not None and "stopwords" in results[3].error
    assert all(c.valid for r in results for c in r.citations)
    assert [len(r.citations) for r in results] == [1, 1, 0, 0]  # one chunk a file


# --- calibration --------------------------------------------------------------------


def _row(t: float, right: int) -> SweepRow:
    return SweepRow(t, right, 0, 0, 0, 0)


def test_choose_threshold_takes_the_middle_of_the_longest_best_run() -> None:
    rows = [_row(0.1, 5), _row(0.2, 7), _row(0.3, 6), _row(0.4, 7), _row(0.5, 7), _row(0.6, 7)]
    assert choose_threshold(rows).threshold == 0.5
    # an even run: the lower middle; runs of equal length: the first
    rows = [_row(0.1, 7), _row(0.2, 7), _row(0.3, 1), _row(0.4, 7), _row(0.5, 7)]
    assert choose_threshold(rows).threshold == 0.1
    assert choose_threshold([_row(0.3, 2)]).threshold == 0.3
    with pytest.raises(ValueError):
        choose_threshold([])


def test_thresholds_grid() -> None:
    assert thresholds(0.25) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert len(thresholds()) == 51 and thresholds()[15] == 0.3


# --- output -------------------------------------------------------------------------


def test_format_failures_lists_question_expected_got() -> None:
    results = [
        _result("ok", "correct"),
        _result("m", "missed", passage_rank=None),
        _result("u", "answered", unanswerable=True),
    ]
    assert format_failures(results) == (
        "Failed questions (2 of 3):\n"
        "id  outcome   question    expected   got\n"
        "m   missed    question m  x          (abstained; confidence 25%)\n"
        "u   answered  question u  (abstain)  answer u"
    )
    assert format_failures(results[:1]) == "All 1 question passed."
    assert format_failures(results[:1] * 2) == "All 2 questions passed."


def test_compare_results_kinds() -> None:
    previous = {
        "questions": [
            {"id": "a", "question": "question a", "outcome": "missed"},
            {"id": "b", "question": "question b", "outcome": "correct"},
            {"id": "c", "question": "question c", "outcome": "correct"},
            {"id": "gone", "question": "old", "outcome": "correct"},
        ]
    }
    now = [
        _result("a", "correct"),
        _result("b", "wrong"),
        _result("c", "correct"),
        _result("new", "missed", passage_rank=None),
    ]
    changes = compare_results(previous, now)
    assert changes == [
        Change("a", "question a", "missed", "correct"),
        Change("b", "question b", "correct", "wrong"),
        Change("new", "question new", None, "missed"),
        Change("gone", "old", "correct", None),
    ]
    assert [c.kind for c in changes] == ["fixed", "broken", "new", "gone"]
    assert Change("x", "q", "wrong", "missed").kind == "changed"


def test_markdown_report_escapes_pipes() -> None:
    times = {"index_build_s": 0.5, "query_p50_ms": 1.0, "query_p95_ms": 2.0}
    result = _result("p", "wrong").model_copy(update={"answer": "a | b"})
    text = markdown_report("title", [Metric("mrr", 0.5, "over 1")], times, [result])
    assert text == (
        "# title\n\n| metric | value | counted |\n| --- | ---: | ---: |\n| mrr | 0.500 | over 1 |\n"
        "\nindex build 0.500 s · query p50 1.00 ms · p95 2.00 ms\n\n"
        "## Failed questions (1 of 1)\n\n"
        "| id | outcome | question | expected | got |\n| --- | --- | --- | --- | --- |\n"
        "| p | wrong | question p | x | a \\| b |\n"
    )


# --- the command --------------------------------------------------------------------

SET = """\
- id: sued
  question: Who sued OpenAI?
  answers: [Elon Musk]
- id: offer
  question: How much did Musk offer for OpenAI?
  answers: ["$97.4 billion"]
- id: founded
  question: When was Microsoft founded?
  unanswerable: true
"""


@pytest.fixture
def qset(tmp_path: Path) -> Path:
    path = tmp_path / "set.yaml"
    path.write_text(SET, encoding="utf-8")
    return path


def _eval(*args: str) -> int:
    return main(["eval", *args, "--docs", str(SEEDS)])


def test_json_is_one_object_of_the_documented_shape(
    qset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _eval(str(qset), "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["metrics", "timing", "questions"]
    assert data["metrics"] == {
        "answer_accuracy": 1.0,
        "passage_hit@5": 1.0,
        "mrr": 1.0,
        "abstain_precision": 1.0,
        "abstain_recall": 1.0,
        "citation_validity": 1.0,
    }
    assert list(data["timing"]) == ["index_build_s", "query_p50_ms", "query_p95_ms"]
    assert all(isinstance(v, float) and v >= 0 for v in data["timing"].values())
    assert [(q["id"], q["outcome"], q["passed"]) for q in data["questions"]] == [
        ("sued", "correct", True),
        ("offer", "correct", True),
        ("founded", "abstained", True),
    ]


def test_terminal_table_and_report(
    qset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.md"
    assert _eval(str(qset), "-k", "2", "--report", str(report)) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == f"docqa eval {qset} — 3 questions (2 answerable), 1 document, 4 chunks, k=2"
    assert lines[2:10] == [
        "metric             value  counted",
        "answer_accuracy    1.000  2/2",
        "passage_hit@2      1.000  2/2",
        "mrr                1.000  over 2",
        "abstain_precision  1.000  1/1",
        "abstain_recall     1.000  1/1",
        "citation_validity  1.000  6/6",
        "",
    ]
    assert lines[-1] == "All 3 questions passed."
    md = report.read_text(encoding="utf-8")
    assert md.startswith(f"# docqa eval {qset} — 3 questions")
    assert "| answer_accuracy | 1.000 | 2/2 |" in md and "## Failed questions (0 of 3)" in md


def test_fail_under_names_the_metric(
    qset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _eval(str(qset), "--fail-under", "answer_accuracy=0.5", "abstain_recall=1") == 0
    capsys.readouterr()
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("- question: Who sued OpenAI?\n  answers: [Bill Gates]\n", encoding="utf-8")
    code = _eval(str(wrong), "--fail-under", "answer_accuracy=0.5", "passage_hit@5=1")
    assert code == 1
    assert capsys.readouterr().err == (
        "docqa eval: answer_accuracy is 0.000, below its bound 0.5\n"
        "docqa eval: passage_hit@5 is 0.000, below its bound 1\n"
    )


def test_fail_under_unknown_or_undefined_metric(
    qset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _eval(str(qset), "--fail-under", "accuracy=0.5") == 2
    assert capsys.readouterr().err == (
        "docqa eval: unknown metric 'accuracy' in --fail-under: choose from answer_accuracy, "
        "passage_hit@5, source_hit@5, mrr, abstain_precision, abstain_recall, "
        "citation_validity\n"
    )
    assert _eval(str(qset), "--fail-under", "source_hit@5=0.5") == 1
    assert "source_hit@5 cannot be computed on this run" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        _eval(str(qset), "--fail-under", "answer_accuracy")
    assert info.value.code == 2


def test_bad_question_file_exits_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("- question: ok\n  answers: [x]\n- id: b\n  questoin: typo\n", encoding="utf-8")
    assert _eval(str(path)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"docqa eval: {path}: item 2 (id 'b'): field 'question' is required; field 'questoin' "
        "is not a known field (known: id, question, answers, sources, unanswerable, tags)\n"
    )


def test_question_set_or_beir_but_not_both(capsys: pytest.CaptureFixture[str]) -> None:
    assert _eval() == 2
    assert "give either a question set (QUESTIONS) or --beir DIR" in capsys.readouterr().err
    assert main(["eval", "--calibrate", "--beir", "x"]) == 2
    capsys.readouterr()
    assert main(["eval", "--calibrate", "q.yaml", "--fail-under", "mrr=1"]) == 2
    assert capsys.readouterr().err == "docqa eval: --fail-under does not apply to --calibrate\n"
    assert main(["eval", "--beir", "x", "--compare", "before.json"]) == 2
    assert capsys.readouterr().err == "docqa eval: --compare does not apply to --beir\n"


def test_compare_lists_changed_outcomes(
    qset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = tmp_path / "before.json"
    previous.write_text(json.dumps({
        "metrics": {"answer_accuracy": 0.5},
        "questions": [
            {"id": "sued", "question": "Who sued OpenAI?", "outcome": "missed"},
            {"id": "offer", "question": "How much did Musk offer?", "outcome": "correct"},
        ],
    }), encoding="utf-8")  # fmt: skip
    assert _eval(str(qset), "--compare", str(previous)) == 0
    out = capsys.readouterr().out
    assert "answer_accuracy    1.000  2/2      0.500 (+0.500)" in out
    assert out.endswith(
        f"Changed against {previous} (2):\n"
        "change  id       question                     outcome\n"
        "fixed   sued     Who sued OpenAI?             missed → correct\n"
        "new     founded  When was Microsoft founded?  - → abstained\n"
    )
    previous.write_text("{}", encoding="utf-8")
    assert _eval(str(qset), "--compare", str(previous)) == 2
    assert "has no `questions` list" in capsys.readouterr().err


def test_calibrate_prints_the_sweep(qset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _eval("--calibrate", str(qset)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Abstention threshold sweep over 3 questions"
    assert out[1].split() == ["threshold", "right", "answered", "ok", "abstained", "ok", "wrong",
                              "answer", "missed", "answered", "unanswerable"]  # fmt: skip
    rows = {line.split()[0]: line.split()[1:] for line in out[2:53]}
    # "When was Microsoft founded?" shares only "Microsoft" with the documents: its
    # confidence is 0.046, so it is answered up to 0.04 and abstained from 0.06; the
    # offer question (0.83: "offer" and "OpenAI" stand in the sentence before the amount)
    # is answered up to 0.82; "Who sued OpenAI?" holds every word
    assert rows["0.00"] == ["2", "2", "0", "0", "0", "1"]
    assert rows["0.04"] == ["2", "2", "0", "0", "0", "1"]
    assert rows["0.06"] == ["3", "2", "1", "0", "0", "0"]
    assert rows["0.82"] == ["3", "2", "1", "0", "0", "0"]
    assert rows["0.84"] == ["2", "1", "1", "0", "1", "0"]
    # best from 0.06 to 0.82: the middle of those 39 values is 0.44
    assert rows["0.44"] == ["3", "2", "1", "0", "0", "0", "←", "best"]
    assert "best: 0.44 (3 of 3 decisions right; ties go to the middle of the longest run of " \
        "best values)" in out


def test_calibrate_takes_several_sets_each_with_its_documents(
    qset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "turbine.md").write_text(
        "# Turbines\n\nThe turbine blade is made of titanium.\n", encoding="utf-8"
    )
    (tmp_path / "other.yaml").write_text(
        "- id: blade\n  question: what are turbine blades made of\n  answers: [titanium]\n"
        "- id: no-rotor\n  question: how fast does the rotor spin\n  unanswerable: true\n",
        encoding="utf-8",
    )
    sets = [f"{qset}={SEEDS}", f"{tmp_path / 'other.yaml'}={other}"]
    assert main(["eval", "--calibrate", *sets, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data["sets"]) == ["set.yaml", "other.yaml"]
    assert data["sets"]["other.yaml"]["right"] == 2
    assert [c["fit_on"] for c in data["held_out"]] == ["all but set.yaml", "all but other.yaml"]
    assert sum(r["right"] for r in [data["sets"]["set.yaml"], data["sets"]["other.yaml"]]) == max(
        r["right"] for r in data["sweep"]
    )
    # one set outside --calibrate is an error
    assert main(["eval", str(qset), str(tmp_path / "other.yaml")]) == 2
    assert "only --calibrate takes several" in capsys.readouterr().err


# --- BEIR ---------------------------------------------------------------------------


def _beir(folder: Path, qrels_name: str = "qrels.tsv") -> Path:
    folder.mkdir()
    records = [
        {"_id": "d1", "title": "Rockets", "text": "Liquid fuel rockets burn hydrogen."},
        {"_id": "d2", "title": "Gliders", "text": "Wings without engines."},
        {"_id": "d3", "title": "", "text": "Solid fuel boosters."},
    ]
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    queries = [
        {"_id": "q1", "text": "hydrogen rockets"},
        {"_id": "q2", "text": "engines"},
        {"_id": "q3", "text": "not judged"},
        {"_id": "q4", "text": "the of"},
    ]
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries) + "\n")
    qrels = folder / qrels_name
    qrels.parent.mkdir(exist_ok=True)
    qrels.write_text("query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td3\t1\nq2\td2\t1\nq4\td1\t1\n")
    return folder


def test_beir_run_by_hand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _beir(tmp_path / "toy", qrels_name="qrels/test.tsv")
    dataset = load_beir(folder)
    # the title becomes the record's Markdown heading, so every chunk is indexed with it
    assert dataset.corpus[0] == ("d1", "# Rockets\n\nLiquid fuel rockets burn hydrogen.")
    assert [q for q, _ in dataset.judged_queries()] == ["q1", "q2", "q4"]
    assert main(["eval", "--beir", str(folder), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # q1 ranks only d1 (grade 2; d3 with grade 1 shares no word), q2 finds d2, and q4 has
    # only stopwords: it ranks nothing and scores 0
    q1_ndcg = 2 / (2 + 1 / math.log2(3))
    assert data["metrics"] == pytest.approx({
        "ndcg@10": (q1_ndcg + 1 + 0) / 3,
        "recall@100": (0.5 + 1 + 0) / 3,
        "mrr@10": (1 + 1 + 0) / 3,
        "map@100": (0.5 + 1 + 0) / 3,
    })  # fmt: skip
    assert [(q["id"], q["top10"]) for q in data["questions"]] == [
        ("q1", ["d1"]), ("q2", ["d2"]), ("q4", []),
    ]  # fmt: skip


def test_beir_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--beir", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err
    folder = _beir(tmp_path / "toy")
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\tvery\n")
    assert main(["eval", "--beir", str(folder)]) == 2
    assert "line 2: score 'very' is not a whole number" in capsys.readouterr().err


def test_documents_rank_by_an_even_mix_of_best_chunk_and_whole_document() -> None:
    from rank_bm25 import BM25Plus

    from index.loaders import text_document
    from index.tokenize import tokenize

    # "big" has one good chunk among many others; "spread" has its matches over chunks
    docs = [
        text_document("big", "Comets and tails. " + " ".join(["Filler words here."] * 12)),
        text_document("spread", "Comets orbit. Tails grow. Comets again. Tails again."),
        text_document("x", "A comet."),
        text_document("none", "Nothing at all."),
    ]
    engine = Engine(build_index(Path("."), ChunkingConfig(chunk_size=50, chunk_overlap=0), docs))
    ranker = DocumentRanker(engine, docs)
    question = "comets tails"
    terms = tokenize(question)

    # the oracle: rank-bm25's scores above BM25+'s floor, best chunk per document and
    # whole documents, each divided by its maximum, mixed half and half
    chunks = list(engine.index.chunks)
    chunk_model = BM25Plus([tokenize(indexed_text(c)) for c in chunks])
    floor = sum(chunk_model.idf.get(t, 0) * chunk_model.delta for t in terms)
    best = {d.source: 0.0 for d in docs}
    for chunk, score in zip(chunks, chunk_model.get_scores(terms)):
        best[chunk.source] = max(best[chunk.source], score - floor)
    doc_model = BM25Plus([tokenize(d.text) for d in docs])
    doc_floor = sum(doc_model.idf.get(t, 0) * doc_model.delta for t in terms)
    whole = {d.source: s - doc_floor for d, s in zip(docs, doc_model.get_scores(terms))}
    mix = {
        s: 0.5 * best[s] / max(best.values()) + 0.5 * max(whole[s], 0) / max(whole.values())
        for s in best
    }
    expected = sorted((s for s in mix if mix[s] > 1e-12), key=lambda s: -mix[s])
    assert ranker.rank(question) == expected
    assert expected[:1] == ["spread"] and "none" not in expected
    assert ranker.rank(question, depth=2) == expected[:2]


# --- data and exit codes ---------------------------------------------------------------


def test_report_never_overwrites_an_input(
    qset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = qset.read_bytes()
    assert _eval(str(qset), "--report", str(qset)) == 2
    assert capsys.readouterr() == (
        "",
        f"docqa eval: --report {qset} is the input {qset}: writing the report would replace "
        "it; give another file name\n",
    )
    assert qset.read_bytes() == before
    previous = tmp_path / "before.json"
    previous.write_text('{"questions": []}', encoding="utf-8")
    assert _eval(str(qset), "--compare", str(previous), "--report", str(previous)) == 2
    assert "is the input" in capsys.readouterr().err
    assert previous.read_text(encoding="utf-8") == '{"questions": []}'


@pytest.mark.parametrize("where", ["missing", "folder"])
def test_report_in_a_missing_folder_or_on_a_folder_says_so(
    qset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    report = tmp_path / "nonexistent" / "dir" / "r.md" if where == "missing" else tmp_path
    assert _eval(str(qset), "--report", str(report)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # refused before the run
    assert captured.err == (
        f"docqa eval: --report {report}: the folder {report.parent} does not exist; create it "
        "or write the report elsewhere\n"
        if where == "missing"
        else f"docqa eval: --report {report} is a folder: give a file name, such as "
        f"{report / 'report.md'}\n"
    )


def test_no_documents_is_bad_input_not_a_failed_bound(
    qset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["eval", str(qset), "--docs", str(empty)]) == 2
    assert capsys.readouterr().err.startswith(f"docqa eval: no documents found in {empty}: ")
    assert main(["eval", str(qset), "--docs", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.startswith(
        f"docqa eval: documents folder {tmp_path / 'nope'} does not exist: "
    )


def test_sources_missing_from_the_folder_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "mydocs"
    docs.mkdir()
    (docs / "notes.txt").write_text("Elon Musk sued OpenAI over its mission.\n")
    path = tmp_path / "set.yaml"
    path.write_text(
        "- question: Who sued OpenAI?\n  answers: [Elon Musk]\n"
        "  sources: [000_a337b3eb2b0d8fb8.txt]\n"
        "- question: Who else?\n  answers: [Musk]\n  sources: [notes.txt]\n",
        encoding="utf-8",
    )
    warning = (
        f"docqa eval: warning: 1 of the 2 files the questions name as sources is not indexed "
        f"from {docs}: 000_a337b3eb2b0d8fb8.txt; is --docs the folder the questions were "
        "written for?\n"
    )
    assert main(["eval", str(path), "--docs", str(docs)]) == 0
    assert capsys.readouterr().err == warning
    assert main(["eval", "--calibrate", str(path), "--docs", str(docs)]) == 0
    assert capsys.readouterr().err == warning


def test_text_output_escapes_control_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(
        "The turbine spins at 300 rpm when the wind blows.\x1b[2J It was built in 1999.\n"
    )
    path = tmp_path / "set.yaml"
    path.write_text(
        '- id: "x\\e]0;t\\a"\n  question: "How fast does the turbine spin?"\n'
        "  answers: [3000 rpm]\n",
        encoding="utf-8",
    )
    assert main(["eval", str(path), "--docs", str(docs)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert out.endswith(
        "Failed questions (1 of 1):\n"
        "id             outcome  question                         expected  got\n"
        "x\\x1b]0;t\\x07  wrong    How fast does the turbine spin?  3000 rpm  The turbine "
        "spins at 300 rpm when the wind blows.\\x1b[2J It…\n"
    )


def test_a_sweep_gives_what_the_engine_gives_at_each_threshold() -> None:
    # the sweep asks once and derives each threshold's decisions from the confidence; the
    # engine at that threshold must decide the same
    from bot.evaluation.calibration import sweep
    from bot.evaluation.questions import load_questions

    questions = load_questions(Path(__file__).parent.parent / "evals" / "seeds.yaml")
    index = build_index(SEEDS, ChunkingConfig())
    values = [0.0, 0.1, 0.3, 0.5, 0.8, 1.0]
    runs = sweep(index, EngineConfig(), questions, values)
    for value in values:
        engine = Engine(index, EngineConfig(abstain_threshold=value))
        real = run_questions(engine, questions, check_citations=False)
        assert [(r.id, r.outcome, r.abstained) for r in runs[value]] == [
            (r.id, r.outcome, r.abstained) for r in real
        ]
