"""Documents per channel, and citations that link to the published documents."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

discord = pytest.importorskip("discord")
dpytest = pytest.importorskip("discord.ext.test")

from discord.ext.test import backend  # noqa: E402

from bot.discord.bot import PassageButton  # noqa: E402
from bot.discord.folders import Folder, channel_ids  # noqa: E402
from bot.discord.format import STALE_PASSAGE, passage_custom_id  # noqa: E402
from bot.discord.links import DocLinks, FrontMatter  # noqa: E402
from bot.settings import Settings  # noqa: E402
from index.chunking import ChunkingConfig  # noqa: E402
from index.retrieval import Engine, build_index  # noqa: E402
from tests.discord_support import (  # noqa: E402
    ANSWER,
    QUESTION,
    FakeInteraction,
    RecordingEngine,
    _config,
    _make_thread,
    _mention,
    _post,
    _sent,
    _slash,
    engine,
    forum_post,
    make_bot,
    make_forum,
    restore_logging,
)

__all__ = ["engine", "make_bot", "restore_logging"]  # fixtures used by name

WIDGET = "# Memory\n\nThe widget needs 4 GB of RAM and a 64-bit processor.\n"
WIDGET_ANSWER = "The widget needs 4 GB of RAM and a 64-bit processor. [1]"


@pytest.fixture
def widget(tmp_path: Path) -> RecordingEngine:
    root = tmp_path / "widget-docs"
    root.mkdir()
    (root / "memory.md").write_text(WIDGET, encoding="utf-8")
    return RecordingEngine(build_index(root, ChunkingConfig()))


async def test_each_channel_answers_from_its_own_folder(make_bot: Any, widget: RecordingEngine) -> None:
    bot = await make_bot(discord_message_content=True)
    help_channel, general = _config().channels[:2]
    guild = help_channel.guild
    category = backend.make_category_channel("products", guild)
    under = backend.make_text_channel("widget-help", guild, parent_id=category.id)
    forum = make_forum("widget-forum")
    bot.settings.discord_auto_channels = [forum.id]
    folder = Folder("widget-docs", widget)
    bot.folders.by_id.update({general.id: folder, category.id: folder, forum.id: folder})
    alice = _config().members[0]

    await dpytest.message(_mention(bot, "How much RAM does the widget need?"), channel=help_channel)
    await dpytest.message(_mention(bot, QUESTION), channel=help_channel)
    await dpytest.message(_mention(bot, "How much RAM does the widget need?"), channel=general)
    thread = _make_thread(general)  # a thread answers from its channel's folder
    await _post(thread, alice, _mention(bot, "How much RAM does the widget need?"), mentions=[guild.me])
    await dpytest.message(_mention(bot, "How much RAM does the widget need?"), channel=under)  # by category
    await forum_post(forum, alice, "How much RAM does the widget need?", "")
    replies = [m.embeds[0] for m in _sent()]
    assert [(e.description, e.fields[0].name if e.fields else None) for e in replies] == [
        # the default folder has no word of RAM: only "widget", in an unrelated alert
        ("**Not answered.** The documents do not answer this question.\nThe closest passages are below.",
         "[1] alerts.txt:1-1"),
        (ANSWER, "[1] guide.md:1-4 — Installation"),
        (WIDGET_ANSWER, "[1] memory.md:1-3 — Memory"),
        (WIDGET_ANSWER, "[1] memory.md:1-3 — Memory"),
        (WIDGET_ANSWER, "[1] memory.md:1-3 — Memory"),
        (WIDGET_ANSWER, "[1] memory.md:1-3 — Memory"),
    ]
    assert len(widget.calls) == 4 and len(bot.engine.calls) == 2


def test_channel_ids_most_specific_first() -> None:
    parent = discord.Object(id=20)
    parent.category_id = 30  # type: ignore[attr-defined]
    thread = discord.Object(id=10)
    thread.parent_id, thread.category_id, thread.parent = 20, 30, parent  # type: ignore[attr-defined]
    assert channel_ids(thread) == [10, 20, 30]
    assert channel_ids(discord.Object(id=5)) == [5]
    assert channel_ids(None) == []  # a DM's interaction without a channel


async def test_sources_buttons_and_reindex_follow_the_channel(
    make_bot: Any, widget: RecordingEngine, tmp_path: Path
) -> None:
    bot = await make_bot(discord_owner_ids=[111])
    general = _config().channels[1]
    bot.folders.by_id[general.id] = Folder("widget-docs", widget)
    there = FakeInteraction(bot, channel=general)
    await _slash(bot, "sources")(there)
    assert there.log[0].kwargs["embed"].description == "memory.md — 1 chunk"
    passage = widget.ask("RAM").passages[0]
    pressed = FakeInteraction(bot, channel=general)
    await PassageButton(passage_custom_id(1, passage)).callback(pressed)
    assert pressed.log[0].kwargs["embed"].title == "[1] memory.md:1-3 — Memory"
    elsewhere = FakeInteraction(bot, channel=_config().channels[0])  # chunk 0 there is another
    await PassageButton(passage_custom_id(1, passage)).callback(elsewhere)
    assert [s.content for s in elsewhere.log] == [STALE_PASSAGE]
    rebuilt: list[str] = []
    bot.folders.by_id[general.id].rebuild = lambda: rebuilt.append("widget") or widget
    await _slash(bot, "reindex")(FakeInteraction(bot, channel=general))
    assert rebuilt == ["widget"]  # the default folder was left alone


async def test_citations_link_to_the_published_page(make_bot: Any, tmp_path: Path) -> None:
    docs = tmp_path / "site"
    (docs / "guide").mkdir(parents=True)
    (docs / "guide" / "install.md").write_text(
        "# Installation\n\n## Disk space\n\nThe installer needs 2 GB of free disk space.\n", encoding="utf-8"
    )
    (docs / "index.md").write_text("# Client options\n\nThe timeout is 30 seconds.\n", encoding="utf-8")
    links = DocLinks("https://docs.example.com/", FrontMatter(docs))
    bot = await make_bot(Engine(build_index(docs, ChunkingConfig())))
    bot.folders.default.links = links
    await dpytest.message(_mention(bot, "How much disk space does the installer need?"))
    await dpytest.message(_mention(bot, "What is the client timeout?"))
    values = [m.embeds[0].fields[0].value for m in _sent()]
    assert [v.split(") ", 1)[0] + ")" for v in values] == [
        "[docs ↗](https://docs.example.com/guide/install/#disk-space)",
        "[docs ↗](https://docs.example.com/#client-options)",
    ]
    passage = bot.engine.ask("timeout").passages[0]
    pressed = FakeInteraction(bot)
    await PassageButton(passage_custom_id(1, passage)).callback(pressed)
    assert pressed.log[0].kwargs["embed"].url == "https://docs.example.com/#client-options"


def test_docqa_discord_builds_one_index_per_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_logging: None
) -> None:
    from bot.cli import main
    from bot.discord import bot as discord_bot
    from tests.discord_support import _engine

    _engine(tmp_path / "docs")
    widget_docs = tmp_path / "widget-docs"
    widget_docs.mkdir()
    (widget_docs / "memory.md").write_text(WIDGET, encoding="utf-8")
    monkeypatch.setenv("DOCQA_DISCORD_TOKEN", "MTIzNDU2Nzg5MDEyMzQ1Njc4.GAbCdE.abcdefghijklmnopqrstuvwxyz0123456789AB")
    monkeypatch.setenv("DOCQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DOCQA_DISCORD_CHANNEL_DOCS", f"11={widget_docs},12={widget_docs},13={tmp_path / 'docs'}")
    monkeypatch.setenv("DOCQA_DOCS_URL", "https://docs.example.com")
    monkeypatch.setenv("DOCQA_DISCORD_DOCS_URLS", f"{widget_docs}=https://widget.example.com/docs/")
    seen: dict[str, Any] = {}

    def run_bot(settings: Settings, live: Any, token: str, **options: Any) -> None:
        seen.update(options, live=live)

    monkeypatch.setattr(discord_bot, "run_bot", run_bot)
    assert main(["discord", "--docs", str(tmp_path / "docs"), "--sync"]) == 0
    folders = seen["channel_folders"]
    assert sorted(folders) == [11, 12]  # 13 is the default folder itself
    assert folders[11] is folders[12] and folders[11].name == str(widget_docs)
    assert [s.source for s in folders[11].engine.sources()] == ["memory.md"]
    assert seen["force_sync"] is True
    passage = folders[11].engine.ask("RAM").passages[0]
    assert folders[11].links(passage) == "https://widget.example.com/docs/memory/#memory"
    default_passage = seen["live"].current.ask(QUESTION).passages[0]
    assert seen["links"](default_passage) == "https://docs.example.com/guide/#installation"
    assert os.path.isdir(tmp_path / "data")

