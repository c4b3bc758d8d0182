"""The Discord adapter, driven through discord.py itself: dpytest for message flows, and
small stand-ins for the interactions (slash commands, buttons, context menu) that dpytest
cannot send."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

discord = pytest.importorskip("discord")
dpytest = pytest.importorskip("discord.ext.test")

from discord.ext.test import backend, factories  # noqa: E402

from bot.discord.bot import (  # noqa: E402
    NO_MENTIONS,
    stop_on_signals,
    REQUIRED_PERMISSIONS,
    DocqaBot,
    FeedbackButton,
    PassageButton,
    answer_view,
    create_bot,
    invite_url,
)
from bot.discord.command import app_id_from_token, check_token  # noqa: E402
from bot.discord.format import (  # noqa: E402
    APOLOGY,
    BUSY,
    NOT_THIS_SERVER,
    answer_text,
    DMS_OFF,
    FEEDBACK_THANKS,
    NO_TEXT,
    NOT_ALLOWED_TO_REINDEX,
    STALE_PASSAGE,
    answer_embed,
    channels_message,
    cooldown_message,
    empty_question_message,
    help_text,
    passage_custom_id,
    passage_embed,
    sources_embed,
)
from bot.discord.logs import installation_secret, pseudonym  # noqa: E402
from bot.settings import Settings, SettingsError  # noqa: E402
from index.chunking import ChunkingConfig  # noqa: E402
from index.errors import NoDocumentsError  # noqa: E402
from index.models import Answer  # noqa: E402
from index.retrieval import Engine, EngineConfig, build_index  # noqa: E402
from tests.discord_support import (  # noqa: E402
    ANSWER,
    GUIDE,
    QUESTION,
    Clock,
    FakeInteraction,
    RecordingEngine,
    _bare_bot,
    _config,
    _engine,
    _make_thread,
    _mention,
    _menu,
    _Msg,
    _post,
    _sent,
    _slash,
    _thread_data,
    engine,
    make_bot,
    payloads,
    restore_logging,
)

__all__ = ["engine", "make_bot", "payloads", "restore_logging"]  # fixtures used by name

# -- mentions ---------------------------------------------------------------------------


async def test_a_mention_gets_a_cited_reply(make_bot: Any, payloads: list[dict[str, Any]]) -> None:
    bot = await make_bot()
    question = await dpytest.message(_mention(bot, QUESTION))
    [reply] = _sent()
    embed = reply.embeds[0]
    assert (embed.title, embed.description) == (QUESTION, ANSWER)
    assert [f.name for f in embed.fields] == ["[1] guide.md:1-4 — Installation"]
    [payload] = payloads
    assert payload["message_reference"]["message_id"] == question.id  # a reply to the question
    buttons = [c["custom_id"] for row in payload["components"] for c in row["components"]]
    passage = bot.engine.ask(QUESTION).passages[0]
    assert buttons == [passage_custom_id(1, passage), "docqa:fb:up", "docqa:fb:down"]


async def test_nobody_is_pinged(make_bot: Any, payloads: list[dict[str, Any]]) -> None:
    bot = await make_bot()
    alice = _config().members[0]
    # the question pings everyone and alice; the cited document pings everyone and a role
    await dpytest.message(_mention(bot, f"@everyone <@{alice.id}> when does the widget alert @here?"))
    [reply] = _sent()
    assert "@everyone" in reply.embeds[0].description  # the document's text is shown as is...
    assert payloads and all(p["allowed_mentions"] == {"parse": []} for p in payloads)  # ...inert


async def test_only_a_mention_of_the_bot_is_a_question(make_bot: Any) -> None:
    bot = await make_bot()
    await dpytest.message(f"@everyone {QUESTION}")  # @everyone is not a mention of the bot
    await dpytest.message(QUESTION)
    assert _sent() == []
    await dpytest.message(f"<@{bot.user.id}>")
    assert [m.content for m in _sent()] == [empty_question_message(bot.user.display_name)]


async def test_messages_from_bots_are_ignored(make_bot: Any) -> None:
    bot = await make_bot()
    guild = _config().guilds[0]
    other = backend.get_state().store_user(
        factories.make_user_dict("otherbot", "0001", None, bot=True)
    )
    other_member = backend.make_member(other, guild)
    await dpytest.message(_mention(bot, QUESTION), member=other_member)
    await _post(_config().channels[0], guild.me, _mention(bot, QUESTION), mentions=[guild.me])
    assert _sent() == []
    assert bot.engine.calls == []


async def test_cooldown_is_polite_and_said_once(make_bot: Any) -> None:
    clock = Clock()
    bot = await make_bot(clock=clock, discord_cooldown_s=10)
    await dpytest.message(_mention(bot, QUESTION))
    clock.now += 3
    await dpytest.message(_mention(bot, "and how long does it take?"))
    clock.now += 1
    await dpytest.message(_mention(bot, "and how long does it take?"))
    sent = _sent()
    assert [m.embeds[0].description for m in sent[:1]] == [ANSWER]
    assert [m.content for m in sent[1:]] == [cooldown_message(7)]  # the third gets nothing
    bob = _config().members[1]
    await dpytest.message(_mention(bot, QUESTION), member=bob)  # others are not held up
    clock.now += 6
    await dpytest.message(_mention(bot, QUESTION))
    assert [m.embeds[0].description for m in _sent()] == [ANSWER, ANSWER]


async def test_channel_allowlist(make_bot: Any) -> None:
    bot = await make_bot()
    help_channel, general = _config().channels[0], _config().channels[1]
    # the channel ids exist only once dpytest has made the server
    bot.settings.discord_channels = [help_channel.id]
    await dpytest.message(_mention(bot, QUESTION), channel=general)
    assert _sent() == []
    await dpytest.message(_mention(bot, QUESTION), channel=help_channel)
    assert [m.embeds[0].description for m in _sent()] == [ANSWER]
    # a thread of an allowed channel is allowed
    thread = _make_thread(help_channel)
    await _post(thread, _config().members[0], _mention(bot, QUESTION), mentions=[thread.guild.me])
    assert [m.embeds[0].description for m in _sent()] == [ANSWER]


async def test_a_reply_to_an_answer_continues_the_conversation(make_bot: Any) -> None:
    bot = await make_bot()
    alice = _config().members[0]
    channel = _config().channels[0]
    await dpytest.message(_mention(bot, QUESTION))
    [answer] = _sent()
    # a reply with the ping on mentions the bot, so its text arrives without the intent
    await _post(channel, alice, "and how long does it take?", mentions=[channel.guild.me], reply_to=answer.id)
    [follow_up] = _sent()
    await dpytest.message(_mention(bot, "Why back up the database?"))  # a new chain
    assert bot.engine.calls == [
        (QUESTION, ()),
        ("and how long does it take?", (QUESTION,)),
        ("Why back up the database?", ()),
    ]
    assert follow_up.embeds[0].description == ANSWER  # "five minutes", found through the first turn
    # replying to the follow-up's answer keeps the same chain
    await _post(channel, alice, "and the rights?", mentions=[channel.guild.me], reply_to=follow_up.id)
    assert bot.engine.calls[-1] == ("and the rights?", (QUESTION, "and how long does it take?"))


async def test_a_reply_to_a_slash_answer_continues_it(make_bot: Any) -> None:
    bot = await make_bot()
    channel = _config().channels[0]
    interaction = FakeInteraction(bot, channel=channel)
    await _slash(bot, "ask")(interaction, question=QUESTION)
    answered = interaction.followup.last_id()  # the id of the answer's message
    await _post(channel, _config().members[0], "and how long?", mentions=[channel.guild.me], reply_to=answered)
    assert bot.engine.calls == [(QUESTION, ()), ("and how long?", (QUESTION,))]


async def test_a_thread_keeps_its_conversation(make_bot: Any) -> None:
    bot = await make_bot(conversation_turns=1)
    thread = _make_thread(_config().channels[0])
    alice = _config().members[0]
    me = thread.guild.me
    await _post(thread, alice, _mention(bot, QUESTION), mentions=[me])
    await _post(thread, alice, _mention(bot, "and how long does it take?"), mentions=[me])
    await _post(thread, alice, _mention(bot, "and the rights?"), mentions=[me])
    assert bot.engine.calls == [
        (QUESTION, ()),
        ("and how long does it take?", (QUESTION,)),
        ("and the rights?", ("and how long does it take?",)),  # DOCQA_CONVERSATION_TURNS=1
    ]
    assert len(_sent()) == 3


async def test_threads_setting_answers_in_a_new_thread(
    make_bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = await make_bot(discord_threads=True)
    channel = _config().channels[0]
    made: list[discord.Thread] = []

    async def start_thread_with_message(self: Any, channel_id: int, message_id: int, **kw: Any) -> Any:
        data = _thread_data(channel, kw["name"])  # what Discord would do
        backend.get_state().parse_thread_create(data)
        made.append(channel.guild.get_thread(data["id"]))
        return data

    monkeypatch.setattr(backend.FakeHttp, "start_thread_with_message", start_thread_with_message, raising=False)
    await dpytest.message(_mention(bot, QUESTION))
    [thread] = made
    assert thread.name == QUESTION
    [reply] = _sent()
    assert reply.channel.id == thread.id and reply.embeds[0].description == ANSWER
    await _post(thread, _config().members[0], _mention(bot, "and how long?"), mentions=[thread.guild.me])
    assert bot.engine.calls[-1] == ("and how long?", (QUESTION,))
    assert len(made) == 1  # inside the thread no new thread is started


async def test_a_failing_handler_apologises_and_the_bot_lives_on(
    make_bot: Any, engine: RecordingEngine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await make_bot()
    real_ask = engine.ask
    monkeypatch.setattr(engine, "ask", lambda *a, **k: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="docqa.discord"):
        await dpytest.message(_mention(bot, QUESTION))
    assert [m.content for m in _sent()] == [APOLOGY]
    assert "ZeroDivisionError" in caplog.text  # the traceback is in the log
    monkeypatch.setattr(engine, "ask", real_ask)
    await dpytest.message(_mention(bot, QUESTION))
    assert [m.embeds[0].description for m in _sent()] == [ANSWER]


async def test_a_question_without_searchable_words_gets_the_reason(make_bot: Any) -> None:
    bot = await make_bot()
    await dpytest.message(_mention(bot, "the of and?"))
    assert [m.content for m in _sent()] == [
        "I can't search that: the question has no searchable words (only stopwords or "
        "punctuation): ask with the words the documents would use"
    ]


async def test_direct_messages_on_and_off(make_bot: Any) -> None:
    bot = await make_bot()
    alice = _config().members[0]
    dm = await alice.create_dm()
    await dpytest.message(QUESTION, channel=dm, member=alice)
    assert [m.content for m in _sent()] == [DMS_OFF]
    assert bot.engine.calls == []

    bot = await make_bot(discord_dms=True)
    alice = _config().members[0]
    dm = await alice.create_dm()
    await dpytest.message(QUESTION, channel=dm, member=alice)
    assert [m.embeds[0].description for m in _sent()] == [ANSWER]


async def test_one_log_line_per_question(make_bot: Any, caplog: pytest.LogCaptureFixture) -> None:
    bot = await make_bot()
    with caplog.at_level(logging.INFO, logger="docqa.discord"):
        first = await dpytest.message(_mention(bot, QUESTION))
        second = await dpytest.message(_mention(bot, "When was Microsoft founded?"))
    lines = [r.getMessage() for r in caplog.records if r.name == "docqa.discord"]
    where = f"guild={first.guild.id} channel={first.channel.id}"
    assert [re.sub(r"latency_ms=[0-9]+", "latency_ms=N", line) for line in lines] == [
        f"question via=mention {where} message={first.id} docs=seeds latency_ms=N "
        "abstained=False sources=guide.md",
        f"question via=mention {where} message={second.id} docs=seeds latency_ms=N "
        "abstained=True sources=-",
    ]


def test_every_command_has_help(engine: Engine, tmp_path: Path) -> None:
    bot = _bare_bot(engine, tmp_path)
    slash = {c.name: c.description for c in bot.tree.get_commands(type=discord.AppCommandType.chat_input)}
    assert sorted(slash) == ["ask", "help", "reindex", "sources"]
    assert all(d and d != "…" for d in slash.values())
    assert [c.name for c in bot.tree.get_commands(type=discord.AppCommandType.message)] == ["Ask the docs"]
    # the client-wide default too, for any send that might forget its own
    assert bot.allowed_mentions is not None and bot.allowed_mentions.to_dict() == {"parse": []}
    reindex = bot.tree.get_command("reindex")
    assert reindex is not None and reindex.default_permissions == discord.Permissions(manage_guild=True)


@pytest.mark.parametrize("guild_id", [None, 5])
async def test_commands_sync_to_the_dev_server_or_globally(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guild_id: int | None
) -> None:
    bot = _bare_bot(engine, tmp_path, discord_guild_id=guild_id)
    synced: list[Any] = []

    async def sync(*, guild: Any = None) -> list[Any]:
        synced.append(guild)
        return bot.tree.get_commands(guild=guild)

    monkeypatch.setattr(bot.tree, "sync", sync)
    await bot.setup_hook()
    if guild_id is None:
        assert synced == [None]
    else:
        [guild] = synced
        assert guild.id == 5
        names = {c.name for c in bot.tree.get_commands(guild=guild)}
        assert names == {"ask", "help", "reindex", "sources", "Ask the docs"}
    # the buttons answer presses also after a restart: their classes are registered
    store = bot._connection._view_store
    assert set(store._dynamic_items.values()) == {PassageButton, FeedbackButton}


async def test_buttons_fit_discord_rows_and_rebuild_from_their_ids() -> None:
    from index.models import AnswerSentence, Passage

    passages = tuple(
        Passage(chunk_id=i, source=f"{i}.md", start_line=1, end_line=2, text=f"text {i}", score=1.0)
        for i in range(30)
    )
    answer = Answer(
        question="q", text="x [25]", abstained=False,
        sentences=(AnswerSentence(text="x", passage=25),), passages=passages,
    )
    rows = answer_view(answer).to_components()  # discord.py refuses rows it cannot send
    assert [len(r["components"]) for r in rows] == [5, 5, 1, 2]  # [1]..[10], [25], 👍 👎
    button = PassageButton(passage_custom_id(25, passages[24]))
    match = re.fullmatch(PassageButton.__discord_ui_compiled_template__, button.custom_id)
    rebuilt = await PassageButton.from_custom_id(None, button.item, match)  # type: ignore[arg-type]
    assert (rebuilt.n, rebuilt.chunk_id, rebuilt.digest) == (25, 24, button.digest)


async def test_ask_defers_then_answers(engine: Engine, tmp_path: Path) -> None:
    bot = _bare_bot(engine, tmp_path)
    interaction = FakeInteraction(bot)
    await _slash(bot, "ask")(interaction, question=QUESTION)
    defer, followup = interaction.log
    assert (defer.kind, defer.kwargs) == ("defer", {"thinking": True})
    assert followup.kind == "followup"
    expected = answer_embed(engine.ask(QUESTION)).to_dict()
    assert followup.kwargs["embed"].to_dict() == expected
    assert followup.kwargs["embed"].description == ANSWER
    assert followup.kwargs["allowed_mentions"] is NO_MENTIONS
    assert [c.custom_id for c in followup.kwargs["view"].children] == [
        c.custom_id for c in answer_view(engine.ask(QUESTION)).children
    ]


async def test_ask_refuses_in_a_sentence(engine: Engine, tmp_path: Path) -> None:
    clock = Clock()
    bot = create_bot(
        Settings(discord_channels=[77], discord_cooldown_s=30), engine, clock=clock
    )
    elsewhere = FakeInteraction(bot, channel=discord.Object(id=78))
    await _slash(bot, "ask")(elsewhere, question=QUESTION)
    assert [(s.kind, s.content, s.kwargs["ephemeral"]) for s in elsewhere.log] == [
        ("response", channels_message([77]), True)
    ]
    assert channels_message([77]) == "I only answer questions in <#77>."
    here = FakeInteraction(bot, channel=discord.Object(id=77))
    await _slash(bot, "ask")(here, question=QUESTION)
    again = FakeInteraction(bot, channel=discord.Object(id=77))
    await _slash(bot, "ask")(again, question=QUESTION)
    assert [(s.kind, s.content) for s in again.log] == [("response", cooldown_message(30))]
    dm = FakeInteraction(bot, guild=False)
    await _slash(bot, "ask")(dm, question=QUESTION)
    assert [s.content for s in dm.log] == [DMS_OFF]


async def test_context_menu_asks_with_the_message_text(engine: Engine, tmp_path: Path) -> None:
    bot = _bare_bot(engine, tmp_path)
    interaction = FakeInteraction(bot)
    await _menu(bot)(interaction, message=_Msg(QUESTION))
    assert interaction.log[-1].kwargs["embed"].description == ANSWER
    empty = FakeInteraction(bot)
    await _menu(bot)(empty, message=_Msg(""))
    assert [(s.content, s.kwargs["ephemeral"]) for s in empty.log] == [(NO_TEXT, True)]


async def test_sources_and_help_replies(engine: Engine, tmp_path: Path) -> None:
    bot = _bare_bot(engine, tmp_path)
    sources = FakeInteraction(bot)
    await _slash(bot, "sources")(sources)
    [reply] = sources.log
    assert reply.kwargs["embed"].to_dict() == sources_embed(engine.sources()).to_dict()
    assert reply.kwargs["embed"].description == "alerts.txt — 1 chunk\nguide.md — 2 chunks"
    assert reply.kwargs["ephemeral"] is True
    helped = FakeInteraction(bot)
    await _slash(bot, "help")(helped)
    assert helped.log[0].content == help_text("")  # no user before login


async def test_passage_button_shows_the_whole_passage(engine: Engine, tmp_path: Path) -> None:
    bot = _bare_bot(engine, tmp_path)
    passage = engine.ask(QUESTION).passages[0]
    button = PassageButton(passage_custom_id(1, passage))
    interaction = FakeInteraction(bot)
    await button.callback(interaction)
    [reply] = interaction.log
    assert reply.kwargs["embed"].to_dict() == passage_embed(1, passage).to_dict()
    assert reply.kwargs["ephemeral"] is True


async def test_passage_button_after_a_reindex_that_changed_it(engine: Engine, tmp_path: Path) -> None:
    passage = engine.ask(QUESTION).passages[0]
    changed = tmp_path / "changed"
    changed.mkdir()
    (changed / "guide.md").write_text(GUIDE.replace("2 GB", "3 GB"), encoding="utf-8")
    bot = _bare_bot(engine, tmp_path, discord_owner_ids=[111])
    bot.rebuild = lambda: Engine(build_index(changed, ChunkingConfig()))
    await _slash(bot, "reindex")(FakeInteraction(bot))
    interaction = FakeInteraction(bot)
    await PassageButton(passage_custom_id(1, passage)).callback(interaction)
    assert [(s.content, s.kwargs["ephemeral"]) for s in interaction.log] == [(STALE_PASSAGE, True)]


async def test_feedback_appends_a_json_line(engine: Engine, tmp_path: Path) -> None:
    bot = _bare_bot(engine, tmp_path)
    message = _Msg("", embeds=[answer_embed(engine.ask(QUESTION))], id=7001)
    interaction = FakeInteraction(bot, user_id=4242, message=message, channel=discord.Object(id=6001))
    await FeedbackButton("docqa:fb:down").callback(interaction)
    [line] = (tmp_path / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(line)
    assert record.pop("time")
    assert record == {
        "vote": "down",
        "question": QUESTION,
        "answer": ANSWER,
        "abstained": False,
        "citations": ["guide.md:1-4"],
        # keyed with this installation's secret: not the SHA-256 anyone can recompute
        "user": pseudonym(installation_secret(bot.settings.data_dir), 4242),
        "link": "https://discord.com/channels/1/6001/7001",
        "docs": "seeds",
    }
    assert record["user"] != hashlib.sha256(b"4242").hexdigest()
    assert [(s.content, s.kwargs["ephemeral"]) for s in interaction.log] == [(FEEDBACK_THANKS["down"], True)]


async def test_feedback_write_failure_is_logged_not_shown(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("", encoding="utf-8")
    bot = _bare_bot(engine, tmp_path, discord_feedback_log=blocked / "feedback.jsonl")
    interaction = FakeInteraction(bot, message=_Msg("", embeds=[answer_embed(engine.ask(QUESTION))]))
    with caplog.at_level(logging.WARNING, logger="docqa.discord"):
        await FeedbackButton("docqa:fb:up").callback(interaction)
    assert [s.content for s in interaction.log] == [FEEDBACK_THANKS["up"]]
    assert "could not append feedback" in caplog.text


async def test_reindex_needs_manage_server_or_an_owner(engine: Engine, tmp_path: Path) -> None:
    bot = _bare_bot(engine, tmp_path, discord_owner_ids=[7])
    rebuilt: list[Engine] = []
    new_engine = _engine(tmp_path / "new")
    bot.rebuild = lambda: rebuilt.append(new_engine) or new_engine
    stranger = FakeInteraction(bot, user_id=8)
    await _slash(bot, "reindex")(stranger)
    assert [(s.content, s.kwargs["ephemeral"]) for s in stranger.log] == [(NOT_ALLOWED_TO_REINDEX, True)]
    assert rebuilt == [] and bot.engine is engine
    admin = FakeInteraction(bot, user_id=8, permissions=discord.Permissions(manage_guild=True))
    await _slash(bot, "reindex")(admin)
    assert bot.engine is new_engine
    owner = FakeInteraction(bot, user_id=7)
    await _slash(bot, "reindex")(owner)
    assert len(rebuilt) == 2
    assert owner.log[-1].content.startswith("Reindexed in ")
    assert owner.log[-1].content.endswith(
        ": 2 documents, 3 chunks (before: 2 documents, 3 chunks)."
    )


async def test_a_failed_reindex_keeps_the_old_index(engine: Engine, tmp_path: Path) -> None:
    bot = _bare_bot(engine, tmp_path, discord_owner_ids=[111])

    def fail() -> Engine:
        raise NoDocumentsError("no documents found in gone/: add .txt, .md, .html or .pdf files")

    bot.rebuild = fail
    interaction = FakeInteraction(bot)
    await _slash(bot, "reindex")(interaction)
    assert interaction.log[-1].content == (
        "The reindex failed: no documents found in gone/: add .txt, .md, .html or .pdf files. "
        "Questions are still answered from the old index."
    )
    assert bot.engine is engine


async def test_questions_in_flight_finish_on_the_old_index(engine: Engine, tmp_path: Path) -> None:
    release = threading.Event()
    started = threading.Event()

    class Slow(RecordingEngine):
        def ask(self, question: str, k: int | None = None, history: Sequence[str] = ()) -> Answer:
            started.set()
            release.wait(5)
            return super().ask(question, k, history)

    old = _engine(tmp_path / "old", Slow)
    new_root = tmp_path / "new"
    new_root.mkdir()
    (new_root / "other.md").write_text("The installer needs 9 GB of disk space now.\n", encoding="utf-8")
    bot = _bare_bot(old, tmp_path, discord_owner_ids=[111])
    bot.rebuild = lambda: Engine(build_index(new_root, ChunkingConfig()))
    asking = FakeInteraction(bot)
    question = asyncio.create_task(_slash(bot, "ask")(asking, question=QUESTION))
    await asyncio.to_thread(started.wait, 5)
    await _slash(bot, "reindex")(FakeInteraction(bot))
    assert bot.engine is not old  # swapped while the question was running
    release.set()
    await question
    assert asking.log[-1].kwargs["embed"].description == ANSWER  # from the old index
    later = FakeInteraction(bot)
    await _slash(bot, "ask")(later, question=QUESTION)
    assert later.log[-1].kwargs["embed"].fields[0].name == "[1] other.md:1-1"


async def test_app_command_errors_apologise(engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bot = _bare_bot(engine, tmp_path)
    fresh = FakeInteraction(bot)
    with caplog.at_level(logging.ERROR, logger="docqa.discord"):
        await bot.tree.on_error(fresh, discord.app_commands.AppCommandError("boom"))
    assert [(s.kind, s.content) for s in fresh.log] == [("response", APOLOGY)]
    deferred = FakeInteraction(bot)
    await deferred.response.defer()
    await bot.tree.on_error(deferred, discord.app_commands.AppCommandError("boom"))
    assert [(s.kind, s.content) for s in deferred.log][-1] == ("followup", APOLOGY)
    assert "boom" in caplog.text


# -- running it -----------------------------------------------------------------------------

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GAbCdE.abcdefghijklmnopqrstuvwxyz0123456789AB"


def test_invite_url_asks_for_what_the_bot_needs() -> None:
    assert app_id_from_token(TOKEN) == 123456789012345678
    assert invite_url(123456789012345678) == (
        "https://discord.com/oauth2/authorize?client_id=123456789012345678"
        "&scope=bot+applications.commands&permissions=309237730304"
    )
    assert REQUIRED_PERMISSIONS == discord.Permissions(
        view_channel=True, send_messages=True, send_messages_in_threads=True,
        create_public_threads=True, embed_links=True, read_message_history=True,
    )


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        (None, "DOCQA_DISCORD_TOKEN is not set"),
        ("", "DOCQA_DISCORD_TOKEN is not set"),
        (f"Bot {TOKEN}", "contains spaces or quotes"),
        (f'"{TOKEN}"', "contains spaces or quotes"),
        ("abcdefghijklmnopqrstuvwxyz012345", "three parts separated by dots"),
        ("a.b.c.d", "three parts separated by dots"),
    ],
)
def test_bad_tokens_are_named_not_shown(token: str | None, problem: str) -> None:
    from pydantic import SecretStr

    with pytest.raises(SettingsError) as caught:
        check_token(SecretStr(token) if token is not None else None)
    assert problem in str(caught.value)
    if token:
        assert token.strip('"').removeprefix("Bot ") not in str(caught.value)


def test_docqa_discord_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    restore_logging: None,
) -> None:
    from bot.cli import main
    from bot.discord import bot as discord_bot

    assert main(["discord"]) == 2
    assert "DOCQA_DISCORD_TOKEN is not set" in capsys.readouterr().err

    monkeypatch.setenv("DOCQA_DISCORD_APP_ID", "42")
    assert main(["discord", "--invite-url"]) == 0
    assert capsys.readouterr().out == invite_url(42) + "\n"

    # a token Discord rejects: a clear error, exit 2, and the token nowhere in the output
    _engine(tmp_path / "docs")
    monkeypatch.setenv("DOCQA_DISCORD_TOKEN", TOKEN)

    def rejected(*args: Any, **kwargs: Any) -> None:
        raise discord.LoginFailure("Improper token has been passed.")

    monkeypatch.setattr(discord_bot, "run_bot", rejected)
    assert main(["discord", "--docs", str(tmp_path / "docs")]) == 2
    out = capsys.readouterr()
    assert "Discord rejected DOCQA_DISCORD_TOKEN" in out.err
    assert TOKEN not in out.err + out.out


def test_other_commands_work_without_discord_py(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from bot.cli import main, make_parser

    monkeypatch.delitem(sys.modules, "bot.discord.bot")
    monkeypatch.setitem(sys.modules, "discord", None)  # as if the extra were not installed
    assert make_parser().parse_args(["discord", "--invite-url"]).invite_url is True
    monkeypatch.setenv("DOCQA_DISCORD_APP_ID", "42")
    assert main(["discord", "--invite-url"]) == 1
    assert capsys.readouterr().err == (
        f"docqa: discord.py is not installed: run {sys.executable} -m pip install "
        "'discord.py>=2.4' (or, in the docqa folder, pip install -e '.[discord]')\n"
    )


async def test_a_live_index_is_followed_and_reindexed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from index.live import LiveIndex

    docs = tmp_path / "live-docs"
    _engine(docs)
    live = LiveIndex(docs, tmp_path / "data", ChunkingConfig(), interval=0.05, save=False)
    bot = _bare_bot(live, tmp_path, discord_owner_ids=[111])  # type: ignore[arg-type]
    monkeypatch.setattr(bot.tree, "sync", lambda **kw: asyncio.sleep(0, []))
    first = bot.engine
    asking = FakeInteraction(bot)
    await _slash(bot, "ask")(asking, question=QUESTION)
    assert asking.log[-1].kwargs["embed"].description == ANSWER

    # /reindex forces a rebuild through the live index
    (docs / "guide.md").write_text(GUIDE.replace("2 GB", "3 GB"), encoding="utf-8")
    await _slash(bot, "reindex")(FakeInteraction(bot))
    assert bot.engine is live.current and bot.engine is not first
    again = FakeInteraction(bot)
    await _slash(bot, "ask")(again, question=QUESTION)
    assert again.log[-1].kwargs["embed"].description == ANSWER.replace("2 GB", "3 GB")

    # while the bot runs, a changed file is picked up without /reindex
    await bot.setup_hook()
    try:
        second = bot.engine
        (docs / "guide.md").write_text(GUIDE.replace("2 GB", "4 GB"), encoding="utf-8")
        for _ in range(100):
            if bot.engine is not second:
                break
            await asyncio.sleep(0.05)
        polled = FakeInteraction(bot)
        await _slash(bot, "ask")(polled, question=QUESTION)
        assert polled.log[-1].kwargs["embed"].description == ANSWER.replace("2 GB", "4 GB")
    finally:
        await bot.close()


# -- starting safely ------------------------------------------------------------------------


def _recording_sync(bot: DocqaBot, monkeypatch: pytest.MonkeyPatch, error: Exception | None = None) -> list[Any]:
    synced: list[Any] = []

    async def sync(*, guild: Any = None) -> list[Any]:
        synced.append(guild)
        if error is not None:
            raise error
        return bot.tree.get_commands(guild=guild)

    monkeypatch.setattr(bot.tree, "sync", sync)
    return synced


async def test_commands_sync_only_when_they_changed(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    first = _bare_bot(engine, tmp_path)
    assert len(_recording_sync(first, monkeypatch)) == 0
    await first.sync_commands()
    assert (first.settings.data_dir / "discord-commands.json").exists()
    restarted = _bare_bot(engine, tmp_path)
    synced = _recording_sync(restarted, monkeypatch)
    with caplog.at_level(logging.INFO, logger="docqa.discord"):
        await restarted.sync_commands()
    assert synced == []  # the same commands: no sync at this start
    assert "slash commands unchanged since the last sync: not syncing (--sync forces it)" in caplog.text
    forced = create_bot(Settings(discord_cooldown_s=0), engine, force_sync=True)
    synced = _recording_sync(forced, monkeypatch)
    await forced.sync_commands()
    assert synced == [None]  # docqa discord --sync
    shorter = Engine(engine.index, EngineConfig(max_question_chars=300))
    changed = _bare_bot(shorter, tmp_path)  # /ask's max_length moves
    synced = _recording_sync(changed, monkeypatch)
    await changed.sync_commands()
    assert synced == [None]
    elsewhere = _bare_bot(engine, tmp_path, discord_guild_id=5)  # another target
    synced = _recording_sync(elsewhere, monkeypatch)
    await elsewhere.sync_commands()
    assert [g.id for g in synced] == [5]


async def test_a_failed_sync_is_logged_and_the_bot_runs_on(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from discord.ext.test.backend import FakeRequest

    bot = _bare_bot(engine, tmp_path)
    forbidden = discord.Forbidden(FakeRequest(403, "Forbidden"), "Missing Access")
    _recording_sync(bot, monkeypatch, forbidden)
    with caplog.at_level(logging.ERROR, logger="docqa.discord"):
        await bot.setup_hook()  # no exception: the start goes on
    assert "could not sync the slash commands globally (may take a while to show) (403 Forbidden" in caplog.text
    assert "restart with --sync" in caplog.text
    assert not (bot.settings.data_dir / "discord-commands.json").exists()  # the next start tries again
    rate_limited = _bare_bot(engine, tmp_path)
    synced = _recording_sync(rate_limited, monkeypatch, discord.HTTPException(FakeRequest(429, "Too Many"), "slow down"))
    await rate_limited.setup_hook()
    assert synced == [None]


@pytest.mark.parametrize(("dms", "contexts"), [(False, [0]), (True, [0, 1])])
def test_commands_are_for_servers_unless_dms_are_on(
    engine: Engine, tmp_path: Path, dms: bool, contexts: list[int]
) -> None:
    bot = _bare_bot(engine, tmp_path, discord_dms=dms)
    payload = {c.name: c.to_dict(bot.tree) for c in bot.tree.get_commands()}
    for name in ("ask", "sources", "help", "Ask the docs"):
        # 0 = a server, 1 = a DM with the bot; never installed on a user account (type 1)
        assert (payload[name]["contexts"], payload[name]["integration_types"]) == (contexts, [0])
        assert payload[name]["dm_permission"] is dms
    assert (payload["reindex"]["contexts"], payload["reindex"]["integration_types"]) == ([0], [0])
    assert payload["reindex"]["dm_permission"] is False


def test_ask_takes_no_more_than_the_question_limit(engine: Engine, tmp_path: Path) -> None:
    for limit, shown in ((300, 300), (2000, 2000), (9000, 6000)):  # Discord allows 6,000
        bot = _bare_bot(Engine(engine.index, EngineConfig(max_question_chars=limit)), tmp_path)
        [option] = bot.tree.get_command("ask").to_dict(bot.tree)["options"]
        assert (option["name"], option["min_length"], option["max_length"]) == ("question", 1, shown)


async def test_a_too_long_message_in_the_menu_is_refused_before_the_defer(
    engine: Engine, tmp_path: Path
) -> None:
    limited = RecordingEngine(engine.index, EngineConfig(max_question_chars=100))
    bot = _bare_bot(limited, tmp_path)
    interaction = FakeInteraction(bot)
    await _menu(bot)(interaction, message=_Msg("word " * 30))
    assert [(s.kind, s.content, s.kwargs["ephemeral"]) for s in interaction.log] == [
        ("response", "I can't search that: the question is 150 characters long; the limit is "
         "100 (DOCQA_MAX_QUESTION_CHARS): ask something shorter", True)
    ]
    assert bot.engine.calls == []


async def test_an_error_after_the_public_defer_edits_the_thinking_message(
    engine: RecordingEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = _bare_bot(engine, tmp_path)
    monkeypatch.setattr(engine, "ask", lambda *a, **k: 1 / 0)
    interaction = FakeInteraction(bot)
    with pytest.raises(ZeroDivisionError):  # discord.py hands it to the tree's error handler
        await _slash(bot, "ask")(interaction, question=QUESTION)
    await bot.tree.on_error(interaction, discord.app_commands.AppCommandError("boom"))
    # the public "thinking…" becomes the apology; no followup, which Discord would make
    # public whatever it asked
    assert [(s.kind, s.content) for s in interaction.log] == [("defer", None), ("edit", APOLOGY)]
    assert bot.answering.tasks == set()  # the failed question gave its place back


# -- its own servers only ---------------------------------------------------------------


async def test_a_server_not_in_the_allowlist_is_left(
    make_bot: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    left: list[int] = []

    async def leave_guild(self: Any, guild_id: int) -> None:
        left.append(guild_id)

    monkeypatch.setattr(backend.FakeHttp, "leave_guild", leave_guild, raising=False)
    bot = await make_bot()
    guild = _config().guilds[0]
    bot.settings.discord_guilds = [guild.id]
    await bot.on_ready()
    assert left == []  # its own server: it stays
    bot.settings.discord_guilds = [guild.id + 1]
    with caplog.at_level(logging.WARNING, logger="docqa.discord"):
        await bot.on_ready()
        await bot.on_guild_join(guild)
    assert left == [guild.id, guild.id]
    assert f"left server {guild.name} ({guild.id}): it is not in DOCQA_DISCORD_GUILDS" in caplog.text
    # until Discord confirms, nothing there is answered, and nobody there may reindex
    await dpytest.message(_mention(bot, QUESTION))
    assert _sent() == [] and bot.engine.calls == []
    asking = FakeInteraction(bot)
    await _slash(bot, "ask")(asking, question=QUESTION)
    assert [s.content for s in asking.log] == [NOT_THIS_SERVER]
    admin = FakeInteraction(bot, permissions=discord.Permissions(manage_guild=True))
    await _slash(bot, "reindex")(admin)
    assert [s.content for s in admin.log] == [NOT_ALLOWED_TO_REINDEX]


# -- load and failures ----------------------------------------------------------------------


class Gate(RecordingEngine):
    """An engine whose answers wait until ``release`` is set."""

    release = threading.Event()
    started = threading.Semaphore(0)

    def ask(self, question: str, k: int | None = None, history: Sequence[str] = ()) -> Answer:
        type(self).started.release()
        type(self).release.wait(5)
        return super().ask(question, k, history)


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[Gate]:
    Gate.release = threading.Event()
    Gate.started = threading.Semaphore(0)
    engine = _engine(tmp_path / "gated", Gate)
    yield engine
    Gate.release.set()


async def test_answers_past_the_cap_are_told_busy(make_bot: Any, gate: Gate) -> None:
    bot = await make_bot(gate, discord_max_answers=1)
    bob = _config().members[1]
    first = FakeInteraction(bot)
    asking = asyncio.create_task(_slash(bot, "ask")(first, question=QUESTION))
    await asyncio.to_thread(Gate.started.acquire, True, 5)  # the one place is taken
    await dpytest.message(_mention(bot, QUESTION), member=bob)
    assert [m.content for m in _sent()] == [BUSY]
    second = FakeInteraction(bot, user_id=bob.id)
    await _slash(bot, "ask")(second, question=QUESTION)
    assert [(s.kind, s.content, s.kwargs["ephemeral"]) for s in second.log] == [("response", BUSY, True)]
    Gate.release.set()
    await asking
    assert first.log[-1].kwargs["embed"].description == ANSWER
    await dpytest.message(_mention(bot, QUESTION), member=bob)  # room again
    assert [m.embeds[0].description for m in _sent()] == [ANSWER]


async def test_a_typing_indicator_while_answering_a_mention(
    make_bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    typing: list[int] = []

    async def send_typing(self: Any, channel_id: int) -> None:
        typing.append(channel_id)

    monkeypatch.setattr(backend.FakeHttp, "send_typing", send_typing)
    bot = await make_bot()
    question = await dpytest.message(_mention(bot, QUESTION))
    assert typing == [question.channel.id]
    assert [m.embeds[0].description for m in _sent()] == [ANSWER]


async def test_the_cooldown_holds_on_every_path(make_bot: Any, engine: Engine, tmp_path: Path) -> None:
    clock = Clock()
    bot = await make_bot(clock=clock, discord_cooldown_s=10)
    for _ in range(40):  # empty mentions: one hint, one notice, then silence
        await dpytest.message(f"<@{bot.user.id}>")
    assert [m.content for m in _sent()] == [
        empty_question_message(bot.user.display_name), cooldown_message(10)
    ]
    alice = _config().members[0]
    dm = await alice.create_dm()
    clock.now += 60
    for _ in range(10):  # direct messages while they are off: told once, then silence
        await dpytest.message(QUESTION, channel=dm, member=alice)
    assert [m.content for m in _sent()] == [DMS_OFF]
    # 300 presses of 👍/👎: one line in the log, one notice, the rest acknowledged silently
    answered = _Msg("", embeds=[answer_embed(engine.ask(QUESTION))])
    kinds = []
    for i in range(300):
        press = FakeInteraction(bot, user_id=alice.id, message=answered)
        await FeedbackButton("docqa:fb:up" if i % 2 else "docqa:fb:down").callback(press)
        kinds += [(s.kind, s.content) for s in press.log]
    assert len(bot.unanswered.feedback.path.read_text(encoding="utf-8").splitlines()) == 1
    assert kinds[:2] == [("response", FEEDBACK_THANKS["down"]), ("response", cooldown_message(10))]
    assert set(kinds[2:]) == {("defer", None)}


async def test_a_reply_that_cannot_be_a_reply_goes_to_the_channel(
    make_bot: Any, payloads: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from discord.ext.test.backend import FakeRequest

    bot = await make_bot()
    help_channel, general = _config().channels[:2]
    everyone = help_channel.guild.default_role
    granted = everyone.permissions.value
    # no Read Message History: the bot does not even try a reply
    backend.update_role(everyone, permissions=granted & ~discord.Permissions(read_message_history=True).value)
    await dpytest.message(_mention(bot, QUESTION), channel=help_channel)
    assert [m.embeds[0].description for m in _sent()] == [ANSWER]
    assert "message_reference" not in payloads[-1]
    backend.update_role(everyone, permissions=granted)
    # the question was deleted, or Discord refuses the reply: sent to the channel
    original = backend.FakeHttp.send_message

    async def refuse_replies(self: Any, channel_id: int, *, params: Any) -> Any:
        if "message_reference" in params.payload:
            raise discord.NotFound(FakeRequest(404, "Not Found"), "Unknown Message")
        channel = sys._getframe(1).f_locals["channel"]  # noqa: F841 (dpytest reads its caller's)
        return await original(self, channel_id, params=params)

    monkeypatch.setattr(backend.FakeHttp, "send_message", refuse_replies)
    await dpytest.message(_mention(bot, QUESTION), channel=general)
    assert [m.embeds[0].description for m in _sent()] == [ANSWER]
    assert "message_reference" not in payloads[-1]
    assert all(p["allowed_mentions"] == {"parse": []} for p in payloads)


async def test_without_embed_links_the_answer_is_text(make_bot: Any, engine: Engine) -> None:
    bot = await make_bot()
    channel = _config().channels[0]
    everyone = channel.guild.default_role
    backend.update_role(everyone, permissions=everyone.permissions.value & ~discord.Permissions(embed_links=True).value)
    await dpytest.message(_mention(bot, QUESTION), channel=channel)
    [reply] = _sent()
    assert reply.embeds == []
    assert reply.content == answer_text(engine.ask(QUESTION)) == (
        f"**{QUESTION}**\n{ANSWER}\n\n[1] guide.md:1-4 — Installation"
    )
    # its 👎 is recorded like an embed's
    press = FakeInteraction(bot, message=_Msg(reply.content))
    await FeedbackButton("docqa:fb:down").callback(press)
    record = json.loads(bot.unanswered.feedback.path.read_text(encoding="utf-8"))
    assert (record["question"], record["answer"], record["citations"]) == (QUESTION, ANSWER, ["guide.md:1-4"])


async def test_a_stop_lets_answers_in_flight_finish(
    make_bot: Any, gate: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    from discord.ext import commands

    logged_out: list[bool] = []

    async def log_out(self: Any) -> None:  # dpytest has no gateway to close
        logged_out.append(True)

    monkeypatch.setattr(commands.Bot, "close", log_out)
    bot = await make_bot(gate)
    interaction = FakeInteraction(bot)
    asking = asyncio.create_task(_slash(bot, "ask")(interaction, question=QUESTION))
    await asyncio.to_thread(Gate.started.acquire, True, 5)
    stop_on_signals(bot)
    try:
        signal.raise_signal(signal.SIGTERM)  # what systemctl stop or docker stop sends
        await asyncio.sleep(0.05)
        assert bot.answering.closed and logged_out == []  # waiting for the answer
        await dpytest.message(_mention(bot, "and another?"))  # not taken: "try again in a moment"
        Gate.release.set()
        await asyncio.wait_for(bot._stop_task, 5)
    finally:
        asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)
    assert logged_out == [True]
    await asking
    assert interaction.log[-1].kwargs["embed"].description == ANSWER  # finished, then closed
    assert bot.engine.calls == [(QUESTION, ())]
    assert [m.content for m in _sent()] == [BUSY]


def test_one_log_for_docqa_and_discord_py(monkeypatch: pytest.MonkeyPatch, restore_logging: None) -> None:
    import io

    from bot.discord.command import setup_bot_logging

    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    handler = setup_bot_logging(Settings())
    assert logging.getLogger("docqa").handlers == logging.getLogger("discord").handlers == [handler]
    logging.getLogger("docqa.discord").info("question via=mention guild=1 channel=2 message=3")
    logging.getLogger("discord.gateway").info("Shard ID None has connected to Gateway")
    logging.getLogger("discord.http").debug("not at INFO")
    assert [re.sub(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", "TIME ", line) for line in stream.getvalue().splitlines()] == [
        "TIME INFO    docqa.discord: question via=mention guild=1 channel=2 message=3",
        "TIME INFO    discord.gateway: Shard ID None has connected to Gateway",
    ]
    setup_bot_logging(Settings(log_level="WARNING"))  # DOCQA_LOG_LEVEL, when set, wins
    assert logging.getLogger("discord").level == logging.getLogger("docqa").level == logging.WARNING


async def test_the_weekly_digest_is_posted_to_its_channel(make_bot: Any) -> None:
    bot = await make_bot()
    digest_channel = _config().channels[1]
    bot.settings.discord_digest_channel = digest_channel.id
    assert await bot.post_digest() is False  # nothing went unanswered: nothing posted
    question = await dpytest.message(_mention(bot, "When was Microsoft founded?"))
    _sent()
    assert await bot.post_digest() is True
    [digest] = _sent()
    assert digest.channel.id == digest_channel.id
    link = f"https://discord.com/channels/{question.guild.id}/{question.channel.id}/{question.id}"
    assert digest.content == (
        "**1 question went unanswered or was rated 👎 in the last 7 days.** `docqa report` lists them all.\n"
        "**other questions** (1)\n"
        f"• When was Microsoft founded? <{link}>"
    )


async def test_passage_button_flags_a_file_changed_since_indexed(tmp_path: Path) -> None:
    # between an edit and the next poll the index still holds the old text: the button
    # shows it, marked, instead of passing it off as the file's current lines
    from index.store import open_index

    root = tmp_path / "docs"
    _engine(root)
    index, _ = open_index(root, tmp_path / "data", ChunkingConfig())
    engine = Engine(index)
    passage = engine.ask(QUESTION).passages[0]
    (root / "guide.md").write_text(GUIDE + "\nA new line.\n", encoding="utf-8")
    interaction = FakeInteraction(_bare_bot(engine, tmp_path))
    await PassageButton(passage_custom_id(1, passage)).callback(interaction)
    [reply] = interaction.log
    stale = passage.model_copy(update={"stale": True})
    assert reply.kwargs["embed"].to_dict() == passage_embed(1, stale).to_dict()
    assert reply.kwargs["embed"].title.endswith(" (changed since indexed)")
