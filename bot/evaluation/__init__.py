"""Scripted evaluation: question sets, their metrics, BEIR runs, calibration and reports.

``questions`` reads a question set, ``runs`` asks and grades it, ``metrics`` holds the pure
metric definitions, ``beir`` ranks documents for a BEIR collection, ``calibration`` sweeps
the abstention threshold, ``report`` formats, and ``command`` is ``docqa eval``.
"""

from bot.evaluation.beir import BeirDataset, load_beir, run_beir
from bot.evaluation.calibration import choose_threshold, sweep
from bot.evaluation.questions import EvalQuestion, QuestionSetError, load_questions
from bot.evaluation.runs import QuestionResult, grade, run_questions, summarize

__all__ = [
    "BeirDataset",
    "EvalQuestion",
    "QuestionResult",
    "QuestionSetError",
    "choose_threshold",
    "grade",
    "load_beir",
    "load_questions",
    "run_beir",
    "run_questions",
    "summarize",
    "sweep",
]
