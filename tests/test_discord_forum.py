"""Posts nobody addressed to the bot: help-forum posts and ask channels are answered
only when the answer clears DOCQA_DISCORD_AUTO_THRESHOLD, and follow-ups in the post's
thread need no mention (where Discord delivers their text)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

discord = pytest.importorskip("discord")
dpytest = pytest.importorskip("discord.ext.test")

from bot.discord.auto import clears, confidence  # noqa: E402
from bot.discord.format import NOT_FOUND  # noqa: E402
from tests.discord_support import (  # noqa: E402
    ANSWER,
    QUESTION,
    _config,
    _post,
    _sent,
    engine,
    forum_post,
    make_bot,
    make_forum,
    payloads,
)

__all__ = ["engine", "make_bot", "payloads"]  # fixtures used by name

SURE = "Installer disk space"  # a title; with the body below, coverage 1.0
UNSURE = "Does the installer need rights on the server?"  # answered at confidence 0.42


def test_the_threshold_reads_one_signal(engine: Any) -> None:
    sure, unsure = engine.ask(QUESTION), engine.ask(UNSURE)
    abstained = engine.ask("When was Microsoft founded?")
    assert (confidence(sure), round(confidence(unsure), 3), confidence(abstained)) == (1.0, 0.417, 0.0)
    assert [clears(a, 0.7) for a in (sure, unsure, abstained)] == [True, False, False]
    assert clears(unsure, 0.4) and not clears(abstained, 0.0)  # an abstention never clears


async def test_a_forum_post_is_answered_in_its_thread(
    make_bot: Any, payloads: list[dict[str, Any]]
) -> None:
    bot = await make_bot(discord_message_content=True)
    forum = make_forum()
    bot.settings.discord_auto_channels = [forum.id]
    alice = _config().members[0]
    thread = await forum_post(forum, alice, SURE, "How much do I need?")
    [reply] = _sent()
    assert reply.channel.id == thread.id
    assert reply.embeds[0].description == ANSWER
    assert payloads[-1]["message_reference"]["message_id"] == thread.id  # replies to the post
    assert payloads[-1]["allowed_mentions"] == {"parse": []}
    assert bot.engine.calls == [(f"{SURE}\nHow much do I need?", ())]
    # the asker's follow-up needs no mention, and once the bot has answered in the thread
    # it follows the conversation (a follow-up mixed with the earlier turns' words holds
    # less of its weight in one passage: 0.5 here); someone else's is left to people
    bob = _config().members[1]
    await _post(thread, bob, "and why back up the database?")
    assert _sent() == []
    await _post(thread, alice, "and why back up the database?")
    [follow_up] = _sent()
    assert follow_up.embeds[0].description == "Back up the database before upgrading. [2]"
    assert bot.engine.calls[-1] == ("and why back up the database?", (f"{SURE}\nHow much do I need?",))


async def test_a_post_below_the_threshold_is_left_to_people(make_bot: Any, tmp_path: Path) -> None:
    bot = await make_bot(discord_message_content=True)
    forum = make_forum()
    bot.settings.discord_auto_channels = [forum.id]
    alice = _config().members[0]
    thread = await forum_post(forum, alice, UNSURE, "")
    assert _sent() == []  # a mention would get an answer (coverage 0.67), a post does not
    [record] = [json.loads(line) for line in bot.unanswered.abstentions.path.read_text("utf-8").splitlines()]
    assert (record["via"], record["question"], record["link"]) == (
        "forum", UNSURE, f"https://discord.com/channels/{forum.guild.id}/{thread.id}/{thread.id}"
    )
    bot.settings.discord_auto_unanswered = "say"
    await forum_post(forum, _config().members[1], UNSURE, "")
    assert [m.content for m in _sent()] == [NOT_FOUND]
    # the same question with a mention is answered: the stricter bar is for posts only
    await _post(thread, alice, f"<@{bot.user.id}> {UNSURE}", mentions=[thread.guild.me])
    assert _sent()[0].embeds[0].description.startswith("Run the installer with administrator rights.")


async def test_without_message_content_a_post_is_its_title(make_bot: Any) -> None:
    bot = await make_bot()  # no privileged intent: Discord sends bodies empty
    forum = make_forum()
    bot.settings.discord_auto_channels = [forum.id]
    await forum_post(forum, _config().members[0], QUESTION, "")
    assert [m.embeds[0].description for m in _sent()] == [ANSWER]
    assert bot.engine.calls == [(QUESTION, ())]


async def test_other_forums_and_bot_posts_are_not_answered(make_bot: Any) -> None:
    bot = await make_bot(discord_message_content=True)
    watched, other = make_forum("help"), make_forum("showcase")
    bot.settings.discord_auto_channels = [watched.id]
    await forum_post(other, _config().members[0], QUESTION, "")
    await forum_post(watched, _config().guilds[0].me, QUESTION, "")  # the bot's own post
    assert _sent() == [] and bot.engine.calls == []


async def test_a_post_that_mentions_the_bot_is_answered_once(
    make_bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from discord.ext.test import backend, factories
    from discord.ext.test.backend import FakeRequest

    from tests.discord_support import _thread_data

    async def not_there_yet(self: Any, channel_id: int, message_id: int) -> Any:
        raise discord.NotFound(FakeRequest(404, "Not Found"), "Unknown Message")

    monkeypatch.setattr(backend.FakeHttp, "get_message", not_there_yet)
    bot = await make_bot(discord_message_content=True)
    forum = make_forum()
    bot.settings.discord_auto_channels = [forum.id]
    me, alice = _config().guilds[0].me, _config().members[0]
    # Discord sends the new thread and its first message as two events; here the thread
    # comes first (its first message is not there yet, so the title is the question)
    data = _thread_data(forum, SURE, owner_id=alice.id)
    data["newly_created"] = True
    backend.get_state().parse_thread_create(data)
    await dpytest.run_all_events()
    message = factories.make_message_dict(
        forum, alice, content=f"<@{me.id}> How much do I need?", mentions=[me], guild_id=forum.guild.id
    )
    message["id"] = message["channel_id"] = data["id"]
    backend.get_state().parse_message_create(message)
    await dpytest.run_all_events()
    assert [m.embeds[0].description for m in _sent()] == [ANSWER]
    assert bot.engine.calls == [(SURE, ())]


async def test_an_ask_channel_answers_every_question_it_is_sure_of(make_bot: Any) -> None:
    bot = await make_bot(discord_message_content=True)
    channel, general = _config().channels[:2]
    bot.settings.discord_auto_channels = [channel.id]
    await dpytest.message(QUESTION, channel=channel)
    assert [m.embeds[0].description for m in _sent()] == [ANSWER]
    await dpytest.message(UNSURE, channel=channel)  # not sure enough: silent
    await dpytest.message(QUESTION, channel=general)  # not an ask channel
    assert _sent() == []
    # a reply to one of its answers (no ping) continues that conversation, as a mention would
    await dpytest.message(QUESTION, channel=channel)
    [answer] = _sent()
    await _post(channel, _config().members[1], "and why back up the database?", reply_to=answer.id)
    assert [m.embeds[0].description for m in _sent()] == ["Back up the database before upgrading. [2]"]
    assert bot.engine.calls[-1] == ("and why back up the database?", (QUESTION,))


async def test_posts_respect_the_cooldown_and_the_cap_silently(make_bot: Any) -> None:
    from tests.discord_support import Clock

    clock = Clock()
    bot = await make_bot(clock=clock, discord_message_content=True, discord_cooldown_s=10)
    channel = _config().channels[0]
    bot.settings.discord_auto_channels = [channel.id]
    await dpytest.message(QUESTION, channel=channel)
    await dpytest.message(QUESTION, channel=channel)  # within the wait: no notice either
    assert [m.embeds[0].description for m in _sent()] == [ANSWER]
    clock.now += 60
    bot.answering.limit = 0  # as if every place were taken
    await dpytest.message(QUESTION, channel=channel)
    assert _sent() == []


async def test_a_follow_up_where_the_bot_has_not_answered_keeps_the_bar(make_bot: Any) -> None:
    bot = await make_bot(discord_message_content=True)
    forum = make_forum()
    bot.settings.discord_auto_channels = [forum.id]
    alice = _config().members[0]
    thread = await forum_post(forum, alice, "When was Microsoft founded?", "")
    # answered for a mention (confidence 0.42), but below the bar of a post nobody
    # addressed to the bot
    await _post(thread, alice, "and does the installer need rights on the server?")
    assert _sent() == []


async def test_no_empty_thread_for_a_post_it_leaves_to_people(
    make_bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from discord.ext.test import backend

    from tests.discord_support import _thread_data

    bot = await make_bot(discord_message_content=True, discord_threads=True)
    channel = _config().channels[0]
    bot.settings.discord_auto_channels = [channel.id]
    made: list[str] = []

    async def start_thread_with_message(self: Any, channel_id: int, message_id: int, **kw: Any) -> Any:
        made.append(kw["name"])
        data = _thread_data(channel, kw["name"])
        backend.get_state().parse_thread_create(data)
        return data

    monkeypatch.setattr(backend.FakeHttp, "start_thread_with_message", start_thread_with_message, raising=False)
    await dpytest.message(UNSURE, channel=channel)
    assert made == [] and _sent() == []
    await dpytest.message(QUESTION, channel=channel)
    assert made == [QUESTION]
    [reply] = _sent()
    assert reply.channel.name == QUESTION and reply.embeds[0].description == ANSWER
