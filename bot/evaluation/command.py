"""``docqa eval``: run a question set (or a BEIR collection) and score the bot.

    docqa eval QUESTIONS [--docs DIR] [-k N] [--json] [--report FILE.md]
                         [--compare PREVIOUS.json] [--fail-under METRIC=VALUE ...]
    docqa eval --beir DIR
    docqa eval --calibrate QUESTIONS[=DOCS] [QUESTIONS[=DOCS] ...]

This module parses and wires: ``runs`` grades the questions, ``calibration`` sweeps the
threshold, ``beir`` ranks documents, and ``report`` formats. The index is always built
fresh here (never loaded from a saved index) so ``index_build_s`` measures a build and
results never come from a stale one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from bot.evaluation.beir import METRICS as BEIR_METRICS
from bot.evaluation.beir import (
    DatasetError,
    DocumentRanker,
    beir_documents,
    beir_metrics,
    load_beir,
    run_beir,
)
from bot.evaluation.calibration import (
    choose_threshold,
    cross_check,
    halves,
    leave_one_out,
    sweep,
    sweep_row,
    thresholds,
)
from bot.evaluation.questions import EvalQuestion, QuestionSetError, load_questions
from bot.evaluation.report import (
    compare_results,
    format_calibration,
    format_changes,
    format_failures,
    format_metrics,
    markdown_report,
)
from bot.evaluation.runs import (
    Metric,
    QuestionResult,
    metric_names,
    run_questions,
    summarize,
    timing,
    untracked,
)
from bot.options import (
    add_docs_option,
    add_k_option,
    check_docs_dir,
    load_semantic,
    progress_tracker,
)
from bot.printable import json_printable, printable
from bot.settings import Settings, load_settings
from index.errors import NoDocumentsError
from index.models import Document
from index.retrieval import Engine, build_index

T = TypeVar("T")


def _bound(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        if not sep or not name.strip():
            raise ValueError
        return name.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not METRIC=VALUE (for example answer_accuracy=0.9)"
        ) from None


def register(subparsers: Any) -> None:
    """Add ``docqa eval`` to the CLI's subcommands."""
    parser = subparsers.add_parser(
        "eval",
        help=cmd_eval.__doc__,
        description=cmd_eval.__doc__,
        epilog="Question set format: see the README's Evaluation section. Exit status: 0 ok, 1 a "
        "--fail-under bound is not met, 2 bad input (a question file, a folder without "
        "documents, an option).",
    )
    parser.add_argument(
        "questions", nargs="*", metavar="QUESTIONS",
        help="question set (.yaml list or .jsonl), e.g. evals/seeds.yaml; --calibrate takes "
        "several, each as QUESTIONS=DOCS to name its documents folder",
    )  # fmt: skip
    add_docs_option(parser)
    add_k_option(parser, help="passages per question (default: DOCQA_K)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument(
        "--report", type=Path, metavar="FILE.md", help="also write a Markdown report"
    )
    parser.add_argument(
        "--compare", type=Path, metavar="PREVIOUS.json",
        help="list the questions whose outcome changed since an earlier --json output",
    )  # fmt: skip
    parser.add_argument(
        "--fail-under", type=_bound, nargs="+", action="extend", default=[],
        metavar="METRIC=VALUE", help="exit 1 when a metric is below VALUE",
    )  # fmt: skip
    parser.add_argument(
        "--beir", type=Path, metavar="DIR",
        help="evaluate retrieval on a BEIR folder (corpus.jsonl, queries.jsonl, qrels.tsv)",
    )  # fmt: skip
    parser.add_argument(
        "--calibrate", action="store_true",
        help="sweep the abstention threshold over QUESTIONS and print the best value",
    )  # fmt: skip
    parser.set_defaults(func=cmd_eval)


def _question_sets(given: Sequence[str]) -> list[tuple[Path, Path | None]]:
    """``QUESTIONS`` or ``QUESTIONS=DOCS`` arguments as (question file, documents folder)."""
    sets = []
    for text in given:
        questions, sep, docs = text.partition("=")
        sets.append((Path(questions), Path(docs) if sep and docs else None))
    return sets


def cmd_eval(args: argparse.Namespace) -> int:
    """Score the bot on a question set or a BEIR collection, or calibrate abstention."""
    sets = _question_sets(args.questions)
    if len(sets) > 1 and not args.calibrate:
        return _usage("give one question set (only --calibrate takes several)")
    args.questions = sets[0][0] if sets else None
    if sets and sets[0][1] is not None and args.docs is None and not args.calibrate:
        args.docs = sets[0][1]
    if (args.questions is None) == (args.beir is None):
        return _usage("give either a question set (QUESTIONS) or --beir DIR, not both or neither")
    if args.calibrate and args.questions is None:
        return _usage("--calibrate needs a question set: docqa eval --calibrate QUESTIONS")
    # say so rather than silently ignore an option the mode has no use for
    mode = "--beir" if args.beir is not None else "--calibrate" if args.calibrate else ""
    not_for = {"--beir": ("--compare",), "--calibrate": ("--compare", "--report", "--fail-under")}
    for flag in not_for.get(mode, ()):
        if getattr(args, flag.removeprefix("--").replace("-", "_")):
            return _usage(f"{flag} does not apply to {mode}")
    problem = _check_report(args)
    if problem:
        return _usage(problem)
    try:
        settings = load_settings(docs_dir=args.docs, k=args.k)
        if args.beir is not None:
            return _cmd_beir(args, settings)
        if args.calibrate:
            return _cmd_calibrate(args, settings, sets)
        questions = load_questions(args.questions)
        check_docs_dir(settings.docs_dir)
        return _cmd_questions(args, settings, questions)
    except (QuestionSetError, DatasetError) as exc:
        return _usage(str(exc))
    except NoDocumentsError as exc:
        # bad input like the others: exit status 1 means only "a bound was not met"
        return _usage(str(exc))


def _check_report(args: argparse.Namespace) -> str | None:
    """Why ``--report`` cannot be written, checked before the run: it must not overwrite
    an input, and its folder must exist."""
    report: Path | None = args.report
    if report is None:
        return None
    inputs = [args.questions, args.compare]
    if args.beir is not None:
        inputs += [args.beir / name for name in ("corpus.jsonl", "queries.jsonl", "qrels.tsv")]
    for given in inputs:
        if given is not None and _same_file(report, given):
            return (
                f"--report {report} is the input {given}: writing the report would replace "
                "it; give another file name"
            )
    if report.is_dir() or str(report).endswith(("/", "\\")):
        return f"--report {report} is a folder: give a file name, such as {report / 'report.md'}"
    if not report.parent.is_dir():
        return (
            f"--report {report}: the folder {report.parent} does not exist; create it or "
            "write the report elsewhere"
        )
    return None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def _write_report(path: Path, text: str) -> int:
    """Write the Markdown report; 0, or 2 with a message when it cannot be written."""
    try:
        path.write_text(printable(text), encoding="utf-8")
    except OSError as exc:
        return _usage(f"could not write --report {path}: {exc.strerror or exc}")
    return 0


def _warn_missing_sources(questions: Sequence[EvalQuestion], engine: Engine, docs: Path) -> None:
    """Say so when files the questions name as sources are not indexed: the scores would
    then measure the wrong folder, not the bot."""
    named = sorted({s for q in questions for s in q.sources})
    indexed = {s.source for s in engine.sources()}
    missing = [s for s in named if s not in indexed]
    if not missing:
        return
    shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
    if len(named) == 1:
        what = "the file the questions name as a source is not indexed"
    elif len(missing) == len(named):
        what = f"none of the {len(named)} files the questions name as sources is indexed"
    else:
        verb = "is" if len(missing) == 1 else "are"
        what = (
            f"{len(missing)} of the {len(named)} files the questions name as sources {verb} "
            "not indexed"
        )
    print(
        printable(
            f"docqa eval: warning: {what} from {docs}: {shown}; is --docs the folder the "
            "questions were written for?",
            newlines=False,
        ),
        file=sys.stderr,
    )


def _semantic_note(settings: Settings) -> str:
    """What the title says of the semantic layer, when it is on."""
    if not settings.semantic:
        return ""
    return f", semantic: {settings.semantic_model} (BM25 weight {settings.semantic_weight:g})"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _usage(message: str) -> int:
    print(f"docqa eval: {printable(message)}", file=sys.stderr)
    return 2


def _track(desc: str, unit: str) -> Callable[[Iterable[T]], Iterable[T]]:
    """A progress bar on stderr when it is a terminal, else nothing."""
    if not sys.stderr.isatty():
        return untracked
    return progress_tracker(True, desc, unit)  # type: ignore[no-any-return]


def _build(settings: Settings, documents: Sequence[Document] | None = None) -> tuple[Engine, float]:
    start = time.perf_counter()
    index = build_index(
        settings.docs_dir, settings.chunking(), documents=documents, track=_track("indexing", "doc"),
        embedder=load_semantic(settings), embed_track=_track("embedding", "chunk"),
    )
    return Engine(index, settings.engine()), time.perf_counter() - start


def _check_bounds(
    bounds: Sequence[tuple[str, float]], known: Sequence[str]
) -> str | None:
    unknown = [name for name, _ in bounds if name not in known]
    if unknown:
        return f"unknown metric {unknown[0]!r} in --fail-under: choose from {', '.join(known)}"
    return None


def _gate(bounds: Sequence[tuple[str, float]], metrics: dict[str, float]) -> int:
    """Exit status 1, with a line naming each metric, when any is below its bound."""
    failed = 0
    for name, bound in bounds:
        value = metrics.get(name)
        if value is None:
            print(f"docqa eval: {name} cannot be computed on this run (nothing to count), "
                  f"so its bound {bound:g} is not met", file=sys.stderr)  # fmt: skip
            failed += 1
        elif value < bound:
            print(f"docqa eval: {name} is {value:.3f}, below its bound {bound:g}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def _cmd_questions(
    args: argparse.Namespace, settings: Settings, questions: list[EvalQuestion]
) -> int:
    k = settings.k
    problem = _check_bounds(args.fail_under, metric_names(k))
    if problem:
        return _usage(problem)
    previous = _read_previous(args.compare) if args.compare else None
    engine, build_s = _build(settings)
    _warn_missing_sources(questions, engine, settings.docs_dir)
    results = run_questions(engine, questions, k, track=_track("questions", "q"))
    metrics = summarize(results, k)
    values = {m.name: m.value for m in metrics}
    times = timing(build_s, [r.latency_ms for r in results if r.error is None])
    changes = compare_results(previous, results) if previous is not None else None
    index = engine.index
    title = (
        f"docqa eval {args.questions} — {_count(len(results), 'question')} "
        f"({sum(not r.unanswerable for r in results)} answerable), "
        f"{_count(len(index.sources()), 'document')}, {_count(len(index.chunks), 'chunk')}, "
        f"k={k}{_semantic_note(settings)}"
    )
    prev_metrics = previous.get("metrics") if previous else None
    if args.json:
        payload = {
            "metrics": values,
            "timing": times,
            "questions": [r.model_dump(mode="json") for r in results],
        }
        print(json_printable(json.dumps(payload, ensure_ascii=False)))
    else:
        parts = [title, format_metrics(metrics, times, prev_metrics), format_failures(results)]
        if changes is not None:
            parts.append(format_changes(changes, str(args.compare)))
        print(printable("\n\n".join(parts)))
    if args.report:
        report = markdown_report(title, metrics, times, results, changes, prev_metrics)
        if _write_report(args.report, report):
            return 2
    return _gate(args.fail_under, values)


def _read_previous(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise QuestionSetError(f"--compare file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise QuestionSetError(
            f"--compare file {path} is not the output of docqa eval --json: {exc}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise QuestionSetError(
            f"--compare file {path} has no `questions` list: give the output of docqa eval --json"
        )
    return data


def _cmd_beir(args: argparse.Namespace, settings: Settings) -> int:
    problem = _check_bounds(args.fail_under, BEIR_METRICS)
    if problem:
        return _usage(problem)
    dataset = load_beir(args.beir)
    documents = beir_documents(dataset)
    engine, build_s = _build(settings.model_copy(update={"docs_dir": args.beir}), documents)
    ranker = DocumentRanker(engine, documents)
    results = run_beir(ranker, dataset, track=_track("queries", "q"))
    values = beir_metrics(results)
    times = timing(build_s, [r.latency_ms for r in results])
    metrics = [Metric(name, values[name], f"over {len(results)}") for name in BEIR_METRICS]
    title = (
        f"docqa eval --beir {args.beir} — {len(results)} judged queries, "
        f"{len(documents)} documents, {len(engine.index.chunks)} chunks "
        f"(chunk size {settings.chunk_size}, overlap {settings.chunk_overlap})"
        f"{_semantic_note(settings)}"
    )
    if args.json:
        payload = {
            "metrics": values,
            "timing": times,
            "questions": [
                {"id": r.id, "question": r.question, **r.scores, "latency_ms": r.latency_ms,
                 "top10": r.ranked}
                for r in results
            ],
        }  # fmt: skip
        print(json_printable(json.dumps(payload, ensure_ascii=False)))
    else:
        print(printable(f"{title}\n\n{format_metrics(metrics, times)}"))
    if args.report and _write_report(args.report, markdown_report(title, metrics, times)):
        return 2
    return _gate(args.fail_under, values)


def _cmd_calibrate(
    args: argparse.Namespace, settings: Settings, sets: Sequence[tuple[Path, Path | None]]
) -> int:
    """Sweep the threshold over every set (each on its own documents), add the counts up,
    choose, and check the choice on each set left out in turn (or on halves of one set)."""
    values = thresholds()
    runs: dict[float, list[QuestionResult]] = {v: [] for v in values}
    sizes: list[tuple[str, int]] = []
    per_set: list[tuple[str, dict[float, list[QuestionResult]]]] = []
    for path, docs in sets:
        questions = load_questions(path)
        set_settings = settings if docs is None else settings.model_copy(update={"docs_dir": docs})
        check_docs_dir(set_settings.docs_dir)
        engine, _ = _build(set_settings)
        _warn_missing_sources(questions, engine, set_settings.docs_dir)
        set_runs = sweep(
            engine.index, engine.config, questions, values, track=_track(path.name, "q")
        )
        for value in values:
            runs[value].extend(set_runs[value])
        sizes.append((path.name, len(questions)))
        per_set.append((path.name, set_runs))
    total = sum(n for _, n in sizes)
    rows = [sweep_row(v, runs[v]) for v in values]
    chosen = choose_threshold(rows)
    folds = leave_one_out(sizes) if len(sizes) > 1 else halves(total) if total >= 4 else []
    checks = cross_check(runs, values, folds)
    at_chosen = {name: sweep_row(chosen.threshold, r[chosen.threshold]) for name, r in per_set}
    if args.json:
        payload = {
            "chosen": chosen.threshold,
            "current": settings.effective_threshold,
            "sweep": [{**vars(r), "right": r.right} for r in rows],
            "sets": {name: {**vars(r), "right": r.right} for name, r in at_chosen.items()},
            "held_out": [vars(c) for c in checks],
        }
        print(json.dumps(payload))
    else:
        text = format_calibration(
            rows, chosen, settings.effective_threshold, total, checks, at_chosen,
            settings.threshold_setting,
        )
        print(printable(text))
    return 0
