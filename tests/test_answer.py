"""The answer layer: answer units, the kind of answer asked for, questions as people type
them, abstention, and conversations that change topic. Each case asserts the exact answer
over small documents written the way project docs are (a settings page, a usage page)."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.answer import ABSTAIN_TEXT, NO_MATCH_TEXT, answer_text, compose_answer
from index.chunking import ChunkingConfig
from index.errors import QuestionError
from index.models import AnswerSentence, Passage
from index.retrieval import Conversation, Engine, build_index

CONFIGURATION = """\
---
title: Configuration
---

# Configuration

Settings live in `config.toml`. Each setting below lists its type and default.

## http.timeout

**Type**: integer

**Default**: `15`

The number of seconds to wait for a server to answer before the request fails.
Raise it on slow networks.

## cache.dir

**Type**: string

**Default**: `~/.cache/widget`

The folder where downloaded packages are kept.

## Connection limits

The client opens at most ten connections to one host. It defaults to ten because
most servers refuse more.

- `max_connections`: the largest number of open connections (Default 10)
- `keepalive`: keep idle connections open for reuse (Default true)
"""

USAGE = """\
# Usage

## Installing without the project

By default the install command also installs your own project.
If you want to install the dependencies only, run it with the `--no-root` flag:

```bash
widget install --no-root
```

## Log levels

| Level | Flag | Meaning |
| --- | --- | --- |
| quiet | `-q` | only errors |
| verbose | `-v` | more detail |
| debug | `-vvv` | everything |

## Turning off telemetry

Widget never sends telemetry. Crash reports are opt-in: enable them with `widget config reports.enabled true`.
"""


@pytest.fixture(scope="module")
def docs_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    root = tmp_path_factory.mktemp("docs")
    (root / "configuration.md").write_text(CONFIGURATION, encoding="utf-8")
    (root / "usage.md").write_text(USAGE, encoding="utf-8")
    return Engine(build_index(root, ChunkingConfig()))


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        # a value question: the "Default" line, not the sentence describing the setting;
        # "whats", "defualt" and "timout" as people type them
        ("whats the defualt http timout", "http.timeout [1] Default: 15 [1]"),
        # the value stands in the line before the sentence that matches the question
        (
            "where are downloaded packages kept",
            "Default: ~/.cache/widget [1] The folder where downloaded packages are kept. [1]",
        ),
        # a list item keeps its trailing "(Default 10)"
        (
            "default for max_connections",
            "max_connections: the largest number of open connections (Default 10) [1]",
        ),
        # a table row reads with its header
        ("which flag is debug", "Level: debug, Flag: -vvv, Meaning: everything [1]"),
        # "how do I": the lead-in that ends with ":" with the code it introduces
        (
            "how do i install just the dependencies and not my project",
            "If you want to install the dependencies only, run it with the --no-root flag:\n"
            "widget install --no-root [1]",
        ),
        # "turn on" for "enable": the sentence with the command
        (
            "how do i turn on crash reports",
            "Crash reports are opt-in: enable them with widget config reports.enabled true. [1]",
        ),
        # a word no document holds ("activate") does not sink the words it does hold
        (
            "how do i activate crash reports",
            "Crash reports are opt-in: enable them with widget config reports.enabled true. [1]",
        ),
        ("does widget send telemetry", "Widget never sends telemetry. [1]"),
    ],
)
def test_the_unit_that_answers(docs_engine: Engine, question: str, answer: str) -> None:
    result = docs_engine.ask(question)
    assert (result.abstained, result.text) == (False, answer)
    for sentence in result.sentences:  # every unit is the passage's own text
        passage = result.passages[sentence.passage - 1].text
        assert " ".join(sentence.text.split()) in " ".join(passage.split())


def test_an_api_signature_is_quoted_with_its_description(tmp_path: Path) -> None:
    (tmp_path / "reference.md").write_text(
        "# Reference\n\n"
        "The functions below come from the widget namespace.\n\n"
        "widget.protect(func)\n\n"
        "Converts a function that throws exceptions into a safe function.\n\n"
        "widget.sleep(time)\n\n"
        "Freezes the program execution during a given amount of time.\n",
        encoding="utf-8",
    )
    result = Engine(build_index(tmp_path, ChunkingConfig())).ask("what does widget.protect do")
    # the signature alone names the entry; what it does is the line after it
    assert result.text == (
        "widget.protect(func) [1] "
        "Converts a function that throws exceptions into a safe function. [1]"
    )


def test_code_is_marked_as_code(docs_engine: Engine) -> None:
    result = docs_engine.ask("how do i install just the dependencies and not my project")
    assert [s.kind for s in result.sentences] == ["code"]


@pytest.mark.parametrize(
    ("question", "text"),
    [
        # a feature the documents lack, whose words are scattered near a similar one
        ("how do i set up rate limiting for requests", ABSTAIN_TEXT),
        # nothing in common
        ("whats the best pizza in naples", NO_MATCH_TEXT),
    ],
)
def test_what_the_documents_do_not_say_is_not_answered(
    docs_engine: Engine, question: str, text: str
) -> None:
    result = docs_engine.ask(question)
    assert (result.abstained, result.text) == (True, text)


def test_the_seed_answers(seeds_engine: Engine) -> None:
    # the sentence after the answer continues it ("He even offered ..."): it joins
    sued = seeds_engine.ask("who sued openai")
    assert sued.text == (
        "Elon Musk, a co-founder of OpenAI, has sued the company, accusing it of betraying "
        "its original mission. [1] He even offered to buy OpenAI for $97.4 billion, but CEO "
        "Sam Altman rejected the offer. [1]"
    )
    assert seeds_engine.ask("which companies raised 6.6 billion").text == (
        "However, key investors like Microsoft, NVIDIA, and SoftBank raised $6.6 billion to "
        "support the company, pushing its market value to $157 billion. [1]"
    )
    founded = seeds_engine.ask("When was Microsoft founded?")
    assert (founded.abstained, founded.text, len(founded.passages)) == (True, ABSTAIN_TEXT, 5)
    assert founded.coverage < 0.05


def test_followups_and_new_topics(seeds_engine: Engine) -> None:
    conversation = Conversation()
    first = seeds_engine.ask("What did Elon Musk offer for OpenAI?")
    conversation.add(first.question, first)
    # leans on the turn before: "it", few words of its own
    rejected = seeds_engine.ask("and who rejected it?", history=conversation.history)
    assert rejected.followup and "Sam Altman rejected the offer" in rejected.text
    conversation.add(rejected.question, rejected)
    how_much = seeds_engine.ask("how much was that?", history=conversation.history)
    assert (how_much.followup, "$97.4 billion" in how_much.text) == (True, True)
    conversation.add(how_much.question, how_much)
    assert len(conversation.history) == 3
    # a question that names its own subject starts afresh: the earlier words do not
    # pull the answer towards Musk's offer
    stargate = seeds_engine.ask(
        "what is the stargate project building", history=conversation.history
    )
    assert not stargate.followup
    assert stargate.text.startswith("However, things changed after OpenAI launched its")
    conversation.add(stargate.question, stargate)
    assert conversation.history == ("what is the stargate project building",)


@pytest.mark.parametrize("line", ["???", "the of and"])
def test_a_line_without_words_never_repeats_the_last_answer(
    seeds_engine: Engine, line: str
) -> None:
    with pytest.raises(QuestionError, match="no searchable words"):
        seeds_engine.ask(line, history=("What did Elon Musk offer for OpenAI?",))


def _passage(text: str, blocks: tuple[tuple[int, int, str], ...] = ()) -> Passage:
    return Passage(chunk_id=0, source="a.md", start_line=1, end_line=3, text=text, score=1.0,
                   matched_terms=("timeout",), blocks=blocks)  # fmt: skip


def test_the_threshold_decides() -> None:
    text = "The timeout is the time to wait.\n\nDefault: 15"
    passage = _passage(text, ((0, 32, "paragraph"), (34, 45, "paragraph")))
    weights = {"timeout": 2.0, "wait": 1.0}
    answered = compose_answer("q", ("timeout", "wait"), weights, [passage], threshold=0.5)
    assert (answered.abstained, answered.text) == (False, "The timeout is the time to wait. [1]")
    assert answered.coverage == 1.0
    # a word no document holds counts against the answer
    unsure = compose_answer(
        "q", ("timeout", "wait"), weights, [passage], threshold=0.5, unknown_weight=3.0
    )
    assert (unsure.abstained, unsure.coverage) == (True, 3.0 / (3.0 + 2 * 3.0))


def test_answer_text_puts_code_on_lines_of_its_own() -> None:
    sentences = (
        AnswerSentence(text="Run it like so:", passage=1),
        AnswerSentence(text="widget run\nwidget stop", passage=1, kind="code"),
        AnswerSentence(text="Then wait.", passage=2),
    )
    assert answer_text(sentences) == (
        "Run it like so: [1]\nwidget run\nwidget stop [1]\nThen wait. [2]"
    )
