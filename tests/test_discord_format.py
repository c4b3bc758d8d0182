"""The Discord reply builders: exact replies for real answers, and every limit kept for
huge and hostile passages (property test)."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("discord")

from bot.discord.format import (  # noqa: E402
    BUTTON_LABEL_LIMIT,
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_COUNT_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    FOOTER,
    FOOTER_LIMIT,
    TITLE_LIMIT,
    ButtonSpec,
    abstention_record,
    answer_buttons,
    answer_description,
    answer_embed,
    answer_text,
    digest_message,
    text_answer_parts,
    dlen,
    escape,
    feedback_record,
    fit,
    help_text,
    link_markdown,
    passage_custom_id,
    passage_embed,
    safe_url,
    snippet_text,
    sources_embed,
    thread_name,
    trim_words,
    unescape,
)
from index.chunking import ChunkingConfig  # noqa: E402
from index.models import Answer, AnswerSentence, Passage, SourceInfo  # noqa: E402
from index.retrieval import Engine, build_index  # noqa: E402

GUIDE = (
    "# Installation\n\nRun the installer with administrator rights. The installer needs\n"
    "2 GB of free disk space and takes about five minutes.\n\n# Backups\n\n"
    "Back up the database before upgrading. Version 3.2 changed the\n"
    "schema, so older backups cannot be restored.\n"
)
HOSTILE = (
    "Ping @everyone and @here, <@123456789012345678> and <@&234567890123456789>: the *widget* "
    "supports **three** colour modes, `dark` and ```light```.\nSee _x_ ~~y~~ ||z||.\n"
)
ANSWER_COLOUR = 5793266  # blurple
ABSTAIN_COLOUR = 15105570  # orange


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    (tmp_path / "guide.md").write_text(GUIDE, encoding="utf-8")
    (tmp_path / "widget_notes.txt").write_text(HOSTILE, encoding="utf-8")
    return Engine(build_index(tmp_path, ChunkingConfig()))


# -- exact replies ------------------------------------------------------------------------


def test_answer_embed_cites_each_passage(engine: Engine) -> None:
    answer = engine.ask("How much disk space does the installer need?")
    assert answer_embed(answer).to_dict() == {
        "type": "rich",
        "flags": 0,
        "title": "How much disk space does the installer need?",
        "description": "The installer needs 2 GB of free disk space and takes about five minutes. [1]",
        "color": ANSWER_COLOUR,
        "fields": [
            {
                "name": "[1] guide.md:1-4 — Installation",
                # the heading line is dropped: the field name already shows it
                "value": "Run the installer with administrator rights. The installer needs 2 GB "
                "of free disk space and takes about five minutes.",
                "inline": False,
            }
        ],
        "footer": {"text": FOOTER},
    }


def test_markdown_in_documents_is_shown_as_typed(engine: Engine) -> None:
    answer = engine.ask("Which colour modes does the widget support?")
    embed = answer_embed(answer).to_dict()
    assert embed["description"] == (
        "Ping @everyone and @here, <@123456789012345678> and <@&234567890123456789>: the "
        r"\*widget\* supports \*\*three\*\* colour modes, \`dark\` and \`\`\`light\`\`\`. [1]"
    )
    assert embed["fields"] == [
        {
            "name": r"[1] widget\_notes.txt:1-2",
            "value": "Ping @everyone and @here, <@123456789012345678> and <@&234567890123456789>: "
            r"the \*widget\* supports \*\*three\*\* colour modes, \`dark\` and \`\`\`light\`\`\`. "
            r"See \_x\_ \~\~y\~\~ \|\|z\|\|.",
            "inline": False,
        }
    ]


def test_abstention_is_marked_and_lists_the_closest_passages(engine: Engine) -> None:
    answer = engine.ask("what about the installer rights on Windows servers?")
    embed = answer_embed(answer).to_dict()
    assert answer.abstained
    assert embed["color"] == ABSTAIN_COLOUR
    assert embed["description"] == (
        "**Not answered.** The documents do not answer this question.\n"
        "The closest passages are below."
    )
    assert [f["name"] for f in embed["fields"]] == ["[1] guide.md:1-4 — Installation"]


def test_abstention_without_passages_has_no_fields(engine: Engine) -> None:
    embed = answer_embed(engine.ask("When was Microsoft founded?")).to_dict()
    assert embed == {
        "type": "rich",
        "flags": 0,
        "title": "When was Microsoft founded?",
        "description": "**Not answered.** The documents do not answer this question: no passage "
        "shares a word with it.",
        "color": ABSTAIN_COLOUR,
    }


def test_buttons_one_per_passage_then_feedback(engine: Engine) -> None:
    answer = engine.ask("How much disk space does the installer need?")
    digest = hashlib.sha256(answer.passages[0].text.encode()).hexdigest()[:8]
    chunk = answer.passages[0].chunk_id
    assert answer_buttons(answer) == [
        ButtonSpec("[1]", f"docqa:p:1:{chunk}:{digest}", 0),
        ButtonSpec("Helpful", "docqa:fb:up", 1, "👍"),
        ButtonSpec("Not helpful", "docqa:fb:down", 1, "👎"),
    ]


def test_whole_passage_keeps_its_lines(engine: Engine) -> None:
    answer = engine.ask("How much disk space does the installer need?")
    assert passage_embed(1, answer.passages[0]).to_dict() == {
        "type": "rich",
        "flags": 0,
        "color": ANSWER_COLOUR,
        "title": "[1] guide.md:1-4 — Installation",
        "description": "Installation\n\nRun the installer with administrator rights. The "
        "installer needs 2 GB of free disk space and takes about five minutes.",
    }


def test_a_passage_too_long_for_one_embed_says_where_the_rest_is() -> None:
    passage = _passage("word " * 2000, source="big.txt")
    description = passage_embed(3, passage).to_dict()["description"]
    note = "\n\n(trimmed to fit Discord; the whole passage is big.txt:1-9)"
    assert description.endswith("word word…" + note)
    assert dlen(description) <= DESCRIPTION_LIMIT


def test_sources_embed_lists_documents_and_totals(engine: Engine) -> None:
    assert sources_embed(engine.sources()).to_dict() == {
        "type": "rich",
        "flags": 0,
        "color": ANSWER_COLOUR,
        "title": "Indexed documents",
        "description": "guide.md — 2 chunks\nwidget\\_notes.txt — 1 chunk",
        "footer": {"text": "2 documents, 3 chunks"},
    }


def test_sources_embed_says_how_many_did_not_fit() -> None:
    sources = [SourceInfo(source=f"folder/document-{i:04}.md", chunks=2) for i in range(400)]
    embed = sources_embed(sources).to_dict()
    lines = embed["description"].split("\n")
    shown = len(lines) - 1
    assert lines[0] == "folder/document-0000.md — 2 chunks"
    assert lines[-1] == f"… and {400 - shown} more"
    assert dlen(embed["description"]) <= DESCRIPTION_LIMIT
    assert embed["footer"] == {"text": "400 documents, 800 chunks"}


def test_feedback_record_is_read_back_from_the_answer(engine: Engine) -> None:
    when = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    answered = answer_embed(engine.ask("Which colour modes does the widget support?"))
    link = "https://discord.com/channels/1/2/3"
    assert feedback_record(answered.to_dict(), "up", "c0ffee", when, link, "docs") == {
        "time": "2025-03-04T05:06:07+00:00",
        "vote": "up",
        "question": "Which colour modes does the widget support?",
        "answer": "Ping @everyone and @here, <@123456789012345678> and <@&234567890123456789>: "
        "the *widget* supports **three** colour modes, `dark` and ```light```. [1]",
        "abstained": False,
        "citations": ["widget_notes.txt:1-2"],
        "user": "c0ffee",
        "link": link,
        "docs": "docs",
    }
    abstained = answer_embed(engine.ask("what about the installer rights on Windows servers?"))
    record = feedback_record(abstained.to_dict(), "down", "c0ffee", when)
    assert (record["answer"], record["abstained"], record["citations"]) == (
        "The documents do not answer this question.",
        True,
        ["guide.md:1-4"],
    )


def test_the_logs_keep_no_mentions_of_other_people(engine: Engine) -> None:
    when = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    answer = engine.ask("Does <@123456789012345678> or <@!42> or <@&99> know the installer's disk space?")
    asked = "Does @user or @user or @role know the installer's disk space?"
    assert answer.abstained
    assert feedback_record(answer_embed(answer).to_dict(), "down", "u", when)["question"] == asked
    record = abstention_record(answer, "mention", "u", when, "https://discord.com/channels/1/2/3", "docs")
    assert record == {
        "time": "2025-03-04T05:06:07+00:00",
        "via": "mention",
        "question": asked,
        "answer": "",  # it abstained
        "coverage": round(answer.coverage, 4),
        "closest": ["guide.md:1-4", "widget_notes.txt:1-2"],
        "user": "u",
        "link": "https://discord.com/channels/1/2/3",
        "docs": "docs",
    }


def test_help_names_every_way_to_ask() -> None:
    text = help_text("docqa")
    for needle in ("/ask", "@docqa", "Ask the docs", "/sources", "/reindex", "👍/👎", "[n]"):
        assert needle in text
    assert dlen(text) <= CONTENT_LIMIT


# -- trimming -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("alpha beta gamma", 16, "alpha beta gamma"),
        ("alpha beta gamma", 15, "alpha beta…"),
        ("alpha beta gamma", 11, "alpha beta…"),
        ("alpha beta gamma", 10, "alpha…"),
        ("supercalifragilistic", 6, "super…"),  # one word longer than the limit: cut it
        ("😀😀😀 x", 5, "😀😀…"),  # an emoji counts two
        ("a b", 0, ""),
    ],
)
def test_trim_words(text: str, limit: int, expected: str) -> None:
    assert trim_words(text, limit) == expected


def test_fit_trims_before_escaping() -> None:
    assert escape("**bold** x") == r"\*\*bold\*\* x"  # 14 units
    # trimmed first, then escaped: never a dangling backslash that would eat the "…"
    assert fit("**bold** x", 12) == r"\*\*bold\*…"
    assert fit("**bold** x", 14) == r"\*\*bold\*\* x"
    assert fit("a\\b c", 4) == r"a\\…"  # the backslash is kept escaped, as a pair


def test_thread_name_fits() -> None:
    assert thread_name("  How do I\nupgrade?  ") == "How do I upgrade?"
    assert len(thread_name("word " * 50)) <= 100
    assert thread_name("   ") == "Question"


def test_answer_markers_survive_trimming() -> None:
    sentences = tuple(AnswerSentence(text="long " * 1000 + "end.", passage=n) for n in (1, 2, 3))
    passages = tuple(_passage("text", source=f"{n}.txt") for n in (1, 2, 3))
    answer = Answer(question="q", text="", abstained=False, sentences=sentences, passages=passages)
    description = answer_description(answer, 600)
    assert dlen(description) <= 600
    assert re.findall(r" \[(\d)\]", description) == ["1", "2", "3"]
    # shortened evenly: each sentence gets the same room
    assert [len(p) for p in re.split(r" \[\d\] ?", description) if p] == [195, 195, 195]


# -- the property: hostile passages never break a limit ---------------------------------

HOSTILE_PIECES = [
    "```", "```py\n", "`", "**", "*", "__", "_", "~~", "||", "> ", ">>> ", "# ", "-# ", "- ",
    "\\", "[1]", "[x](https://e.com/_a_)", "https://e.com/```", "@everyone", "@here",
    "<@123456789012345678>", "<@&234567890123456789>", "<#345678901234567890>", "😀", "\n",
    "\n\n", " ", "word", "é",
]
hostile_text = st.one_of(
    st.lists(
        st.one_of(
            st.sampled_from(HOSTILE_PIECES),
            st.text(max_size=30),
            st.integers(1, 6000).map(lambda n: "w" * n),  # words longer than any limit
        ),
        max_size=60,
    ).map("".join),
    st.integers(1, 30_000).map(lambda n: ("x" * 7 + " ") * (n // 8)),
)
sentence_text = hostile_text.map(lambda t: t.replace("[", "(")).filter(lambda t: t.strip())


def _passage(text: str, source: str = "doc.md", heading: str | None = None, chunk_id: int = 0) -> Passage:
    return Passage(
        chunk_id=chunk_id, source=source, start_line=1, end_line=9, heading=heading, text=text, score=1.0
    )


@st.composite
def hostile_answers(draw: st.DrawFn) -> Answer:
    count = draw(st.integers(0, 30))
    passages = tuple(
        _passage(
            draw(hostile_text.filter(lambda t: t.strip())),
            source=draw(st.sampled_from(["a.md", "dir/_b_.txt", "c`d`.md", "x" * 300 + ".md"])),
            heading=draw(st.none() | hostile_text),
            chunk_id=i,
        )
        for i in range(count)
    )
    abstained = count == 0 or draw(st.booleans())
    sentences: tuple[AnswerSentence, ...] = ()
    if not abstained:
        sentences = tuple(
            AnswerSentence(text=draw(sentence_text), passage=draw(st.integers(1, count)))
            for _ in range(draw(st.integers(1, 3)))
        )
    question = draw(hostile_text.filter(lambda t: t.strip()))
    return Answer(
        question=question, text="The documents do not answer this question." if abstained else "x",
        abstained=abstained, sentences=sentences, passages=passages,
    )


# Discord's markdown "url" rule: a bare link runs to a space or "<" (backslashes included)
DISCORD_URL = re.compile(r"https?://[^\s<]*[^\s<.,:;\"')\]]")


def _bare_markdown(text: str) -> list[str]:
    """Markdown characters not escaped by a backslash, outside bare URLs (which Discord
    takes whole, so their "_" and "*" are the URL's); a backtick counts everywhere."""
    bare, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        url = DISCORD_URL.match(text, i)
        if url is not None and (i == 0 or text[i - 1] != "\\"):
            bare += [c for c in re.sub(r"\\.", "", url[0]) if c == "`"]
            i = url.end()
            continue
        if text[i] in "*_~|`[":
            bare.append(text[i])
        i += 1
    return bare


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_answers())
def test_hostile_answers_fit_every_limit(answer: Answer) -> None:
    embed = answer_embed(answer).to_dict()
    title, description = embed["title"], embed["description"]
    fields = embed.get("fields", [])
    footer = embed.get("footer", {}).get("text", "")
    assert 0 < dlen(title) <= TITLE_LIMIT
    assert 0 < dlen(description) <= DESCRIPTION_LIMIT
    assert len(fields) <= FIELD_COUNT_LIMIT
    for field in fields:
        assert 0 < dlen(field["name"]) <= FIELD_NAME_LIMIT
        assert 0 < dlen(field["value"]) <= FIELD_VALUE_LIMIT
    assert dlen(footer) <= FOOTER_LIMIT
    total = dlen(title) + dlen(description) + dlen(footer) + sum(
        dlen(f["name"]) + dlen(f["value"]) for f in fields
    )
    assert total <= EMBED_TOTAL_LIMIT

    # nothing of the documents or the question is left as live markdown
    own = re.sub(r" \[\d+\](?= |$)", "", description.removeprefix("**Not answered.**"))
    for text in [title, own] + [f["value"] for f in fields]:
        assert _bare_markdown(text) == []
    # every cited passage's marker is there, whole, in order
    if not answer.abstained:
        assert re.findall(r" \[(\d+)\](?= |$)", description) == [
            str(s.passage) for s in answer.sentences
        ]
    # a snippet is the passage's start, cut at a word boundary (or inside a first word
    # longer than the room)
    for field in fields:
        n = int(re.match(r"\[(\d+)\]", field["name"]).group(1))  # type: ignore[union-attr]
        full = snippet_text(answer.passages[n - 1])
        shown = unescape(field["value"])
        if shown != full:
            assert shown.endswith("…")
            kept = shown.removesuffix("…")
            assert full.startswith(kept)
            assert full[len(kept)].isspace() or not re.search(r"\s", kept)

    buttons = answer_buttons(answer)
    assert len(buttons) <= 25
    assert all(len(b.label) <= BUTTON_LABEL_LIMIT and len(b.custom_id) <= 100 for b in buttons)
    rows = [b.row for b in buttons]
    assert max(rows) <= 4 and all(rows.count(r) <= 5 for r in set(rows))


@settings(max_examples=100, deadline=None)
@given(hostile_text.filter(lambda t: t.strip()), st.integers(1, 40))
def test_whole_passages_fit(text: str, n: int) -> None:
    embed = passage_embed(n, _passage(text, heading=text[:500])).to_dict()
    assert dlen(embed["title"]) <= TITLE_LIMIT
    assert dlen(embed["description"]) <= DESCRIPTION_LIMIT
    assert _bare_markdown(embed["description"].split("\n\n(trimmed")[0]) == []


def test_passage_custom_id_matches_the_template() -> None:
    from bot.discord.format import PASSAGE_ID_TEMPLATE

    custom_id = passage_custom_id(12, _passage("some text", chunk_id=345))
    match = re.fullmatch(PASSAGE_ID_TEMPLATE, custom_id)
    assert match is not None and (match["n"], match["chunk"]) == ("12", "345")


# -- links, URLs, plain text, the digest ------------------------------------------------


def test_urls_in_passages_stay_clickable() -> None:
    text = "See https://e.com/a_b*c~d/x_(y) and [x](https://e.com/```) or https://e.com/a\\b, _x_."
    assert escape(text) == (
        # the URL is taken whole (its "_", "*", "~" kept), ending before ")" and ","; its
        # backticks are escaped all the same; text around it is escaped as before
        r"See https://e.com/a_b*c~d/x_(y) and \[x](https://e.com/\`\`\`) or "
        r"https://e.com/a\\b, \_x\_."
    )
    assert unescape(escape(text)) == text


def test_answer_embed_links_each_passage_to_its_page(engine: Engine) -> None:
    answer = engine.ask("How much disk space does the installer need?")
    url = "https://docs.example.com/guide/#installation"
    embed = answer_embed(answer, {1: url}).to_dict()
    assert embed["fields"] == [
        {
            "name": "[1] guide.md:1-4 — Installation",
            "value": f"[docs ↗]({url}) Run the installer with administrator rights. The installer "
            "needs 2 GB of free disk space and takes about five minutes.",
            "inline": False,
        }
    ]
    assert passage_embed(1, answer.passages[0], url).to_dict()["url"] == url
    # only http(s), and nothing that would end the link early
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("https://e.com/a b(c)") == "https://e.com/a%20b%28c%29"
    assert link_markdown(None) == ""


def test_plain_text_answer_for_a_channel_without_embed_links(engine: Engine) -> None:
    answer = engine.ask("How much disk space does the installer need?")
    text = answer_text(answer, {1: "https://docs.example.com/guide/#installation"})
    assert text == (
        "**How much disk space does the installer need?**\n"
        "The installer needs 2 GB of free disk space and takes about five minutes. [1]\n\n"
        "[1] guide.md:1-4 — Installation <https://docs.example.com/guide/#installation>"
    )
    assert text_answer_parts(text) == {
        "title": "How much disk space does the installer need?",
        "description": "The installer needs 2 GB of free disk space and takes about five minutes. [1]",
        "fields": [{"name": "[1] guide.md:1-4 — Installation"}],
    }
    abstained = engine.ask("what about the installer rights on Windows servers?")
    parts = text_answer_parts(answer_text(abstained))
    assert parts["description"] == (
        "**Not answered.** The documents do not answer this question.\nThe closest passages are below."
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_answers())
def test_plain_text_answers_fit(answer: Answer) -> None:
    text = answer_text(answer, {n: f"https://e.com/{n}" for n in range(1, len(answer.passages) + 1)})
    assert 0 < dlen(text) <= CONTENT_LIMIT
    if not answer.abstained:
        assert re.findall(r" \[(\d+)\](?= |$|\n)", text.split("\n")[1]) == [
            str(s.passage) for s in answer.sentences
        ]


def test_digest_lists_groups_with_links_within_one_message() -> None:
    from bot.discord.report import Group, Unanswered

    def item(question: str, n: int) -> Unanswered:
        return Unanswered("abstained", "2025-03-04T05:06:07+00:00", question, f"https://discord.com/channels/1/2/{n}")

    groups = [
        Group(("instal",), [item("How do I install on *BSD*?", 1), item("install offline?", 2)]),
        Group((), [item("what about <@1>", 3)]),
    ]
    assert digest_message(groups, 7) == (
        "**3 questions went unanswered or were rated 👎 in the last 7 days.** `docqa report` lists them all.\n"
        "**instal** (2)\n"
        "• How do I install on \\*BSD\\*? <https://discord.com/channels/1/2/1>\n"
        "• install offline? <https://discord.com/channels/1/2/2>\n"
        "**other questions** (1)\n"
        "• what about <@1> <https://discord.com/channels/1/2/3>"
    )
    many = [Group((f"t{i}",), [item("word " * 40, i)]) for i in range(100)]
    text = digest_message(many, 7)
    assert dlen(text) <= CONTENT_LIMIT
    assert text.endswith(f"… and {100 - text.count('• ')} more")
