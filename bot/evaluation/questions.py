"""Question sets for ``docqa eval``: a YAML list or JSON Lines file of questions.

Each item::

    - id: musk-offer            # optional; defaults to the item's position
      question: How much did Musk offer for OpenAI?
      answers: ["$97.4 billion", "97.4 billion"]   # one of them in the answer = correct
      sources: [000_a337b3eb2b0d8fb8.txt]          # optional: files it should be cited from
      tags: [numbers]                              # optional
    - question: When was Microsoft founded?
      unanswerable: true                           # the bot should abstain

A file that does not fit raises QuestionSetError with a message naming the file, the item
(number and id) and the field, so the CLI can print it without a traceback. YAML is read
with PyYAML's safe loader and two limits no question set comes near: nesting deeper than
``MAX_DEPTH`` levels, and aliases that expand to more than ``MAX_VALUES`` values (a
"billion laughs" file of a few hundred bytes would otherwise take all memory).
"""

from __future__ import annotations

import json
import reprlib
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

MAX_DEPTH = 50
MAX_VALUES = 1_000_000


class QuestionSetError(Exception):
    """A question set cannot be read or does not validate; the message says where."""


class EvalQuestion(BaseModel):
    """One question of a set and what counts as a right answer to it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field("", description="a stable name for reports and --compare")
    question: str = Field(min_length=1, description="the question as a user would ask it")
    answers: tuple[str, ...] = Field(
        (), description="strings one of which must stand in the answer (case-insensitive)"
    )
    sources: tuple[str, ...] = Field(
        (), description="files (relative to the documents folder) it should be cited from"
    )
    unanswerable: bool = Field(False, description="the documents do not answer it")
    tags: tuple[str, ...] = ()

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        # YAML reads `id: 7` as an int; an id is a name, so take it as text
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("answers", "sources", "tags", mode="before")
    @classmethod
    def _one_as_list(cls, value: Any) -> Any:
        # `answers: Microsoft` is a natural slip for `answers: [Microsoft]`
        return [value] if isinstance(value, str) else value

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the question is blank")
        return value

    @field_validator("answers")
    @classmethod
    def _answers_not_blank(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not a.strip() for a in value):
            raise ValueError("an expected answer is blank (it would match every answer)")
        return value

    @model_validator(mode="after")
    def _answers_fit_kind(self) -> EvalQuestion:
        if self.unanswerable and self.answers:
            raise ValueError(
                "field 'answers' must be empty for an unanswerable question: "
                "drop the answers or `unanswerable: true`"
            )
        if self.unanswerable and self.sources:
            raise ValueError(
                "field 'sources' must be empty for an unanswerable question: no file answers it"
            )
        if not self.unanswerable and not self.answers:
            raise ValueError(
                "field 'answers' is required for an answerable question (strings one of "
                "which the answer must contain), or set `unanswerable: true`"
            )
        return self


def _describe(error: dict[str, Any]) -> str:
    """One pydantic error as "field 'answers' (entry 2): message"."""
    loc = [str(p) for p in error["loc"]]
    message = error["msg"].removeprefix("Value error, ")
    if not loc:  # the whole-item checks name their field themselves
        return message
    where = f"field '{loc[0]}'"
    if len(loc) > 1 and loc[1].isdigit():
        where += f" (entry {int(loc[1]) + 1})"
    if error["type"] == "missing":
        return f"{where} is required"
    if error["type"] == "extra_forbidden":
        return f"{where} is not a known field (known: {', '.join(EvalQuestion.model_fields)})"
    return f"{where}: {message}"


def parse_questions(
    items: Sequence[tuple[int, Any]], origin: str, where: str = "item"
) -> list[EvalQuestion]:
    """Validate raw ``(position, item)`` pairs from YAML or JSON; ``where`` names what the
    position counts ("item" in a YAML list, "line" in JSON Lines)."""
    questions: list[EvalQuestion] = []
    seen: dict[str, int] = {}
    for n, raw in items:
        label = f"{origin}: {where} {n}"
        if not isinstance(raw, dict):
            raise QuestionSetError(
                f"{label}: expected a mapping with at least `question`, got {type(raw).__name__}"
            )
        if raw.get("id") not in (None, ""):
            label += f" (id {reprlib.repr(raw['id'])})"  # bounded, whatever the id holds
        try:
            question = EvalQuestion.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(_describe(e) for e in exc.errors())  # type: ignore[arg-type]
            raise QuestionSetError(f"{label}: {problems}") from None
        if not question.id:
            question = question.model_copy(update={"id": f"#{n}"})
        if question.id in seen:
            raise QuestionSetError(
                f"{label}: field 'id' repeats the id of {where} {seen[question.id]}: "
                "ids must be unique so reports can be compared"
            )
        seen[question.id] = n
        questions.append(question)
    if not questions:
        raise QuestionSetError(f"{origin}: the question set is empty: add at least one question")
    return questions


def load_questions(path: Path) -> list[EvalQuestion]:
    """The questions of a ``.yaml``/``.yml`` list or a ``.jsonl`` file (one object a line)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise QuestionSetError(f"question set {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionSetError(f"question set {path} cannot be read: {exc}") from None
    origin = str(path)
    if path.suffix.lower() in {".jsonl", ".ndjson"}:
        return parse_questions(_json_lines(text, origin), origin, where="line")
    import yaml  # only docqa eval reads YAML: the other commands do not pay for the import

    try:
        data = _safe_yaml(text, origin)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or exc
        raise QuestionSetError(f"{origin}: not valid YAML{at}: {problem}") from None
    if not isinstance(data, list):
        got = "nothing" if data is None else f"a {type(data).__name__}"
        raise QuestionSetError(
            f"{origin}: expected a list of questions (items starting with `- question:`), "
            f"got {got}"
        )
    return parse_questions(list(enumerate(data, start=1)), origin)


def _json_lines(text: str, origin: str) -> list[tuple[int, Any]]:
    items: list[tuple[int, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise QuestionSetError(
                f"{origin}: line {number} is not valid JSON: {exc.msg}"
            ) from None
        except RecursionError:
            raise QuestionSetError(
                f"{origin}: line {number} is nested too deeply to be a question"
            ) from None
    return items


@cache
def _limited_loader() -> type:
    """PyYAML's SafeLoader that stops at ``MAX_DEPTH`` levels of nesting (a class made on
    first use, so PyYAML is imported only by docqa eval)."""
    import yaml

    class LimitedLoader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    mark = self.peek_event().start_mark
                    raise QuestionSetError(
                        f"nested more than {MAX_DEPTH} levels deep at line {mark.line + 1}: "
                        "a question set is a list of flat items"
                    )
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return LimitedLoader


def _safe_yaml(text: str, origin: str) -> Any:
    """The YAML document in ``text``, read safely and within the limits above."""
    loader = _limited_loader()(text)
    try:
        try:
            node = loader.get_single_node()
        except QuestionSetError as exc:
            raise QuestionSetError(f"{origin}: {exc}") from None
        if node is None:
            return None
        values = _expanded_size(node)
        if values is None:
            raise QuestionSetError(f"{origin}: a YAML alias refers to the node that holds it")
        if values > MAX_VALUES:
            raise QuestionSetError(
                f"{origin}: its YAML aliases (*name) expand to more than {MAX_VALUES:,} values: "
                "write the values out, or use fewer aliases"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(root: Any) -> int | None:
    """How many values the node graph holds once every alias is expanded, counted without
    expanding it (each node once, remembering its size); None when an alias points back
    into the node that holds it, which has no end."""
    size: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        value = node.value
        if isinstance(value, list):
            children = [c for pair in value for c in (pair if isinstance(pair, tuple) else (pair,))]
        else:
            children = []
        if children_done:
            open_nodes.discard(key)
            size[key] = min(1 + sum(size[id(c)] for c in children), MAX_VALUES + 1)
            continue
        if key in size:
            continue
        if key in open_nodes:
            return None
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in size)
    return size[id(root)]
