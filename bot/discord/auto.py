"""When the bot speaks unprompted: a post in a help forum or an ask channel is answered
only when the answer is surer than a mention needs (``DOCQA_DISCORD_AUTO_THRESHOLD``)."""

from __future__ import annotations

from index.models import Answer


def confidence(answer: Answer) -> float:
    """How sure the engine is of ``answer``, from 0 to 1.

    That is the answer's confidence (``Answer.coverage``: the share of the question's
    informative weight its best unit holds, see ``index.answer``), and 0 for an
    abstention. This is the one place to change when the engine exposes a better signal:
    the auto-answer threshold follows it.
    """
    return 0.0 if answer.abstained else answer.coverage


def clears(answer: Answer, threshold: float) -> bool:
    """Whether an unprompted answer is sure enough to post."""
    return not answer.abstained and confidence(answer) >= threshold
