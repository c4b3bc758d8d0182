"""The bot's logs of other people's questions: a keyed hash under a per-installation
secret (not a SHA-256 anyone can recompute from a member list), owner-only files, mentions
removed, a bounded size, and one line per person, answer and change of mind."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from bot.discord.logs import (
    SECRET_FILE,
    JsonLinesLog,
    installation_secret,
    message_link,
    pseudonym,
    scrub,
)
from tests.discord_support import engine, make_bot

__all__ = ["engine", "make_bot"]  # fixtures used by name


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_secret_is_made_once_owner_only(tmp_path: Path) -> None:
    secret = installation_secret(tmp_path / "data")
    assert len(secret) == 64 and _mode(tmp_path / "data" / SECRET_FILE) == 0o600
    assert installation_secret(tmp_path / "data") == secret  # read back, not remade
    assert installation_secret(tmp_path / "other") != secret  # another installation


def test_a_user_is_a_keyed_hash(tmp_path: Path) -> None:
    secret = installation_secret(tmp_path)
    user = pseudonym(secret, 4242)
    assert user == hmac.new(secret, b"4242", hashlib.sha256).hexdigest()[:32]
    # what the log held before: anyone could hash a server's member ids and match them
    assert user not in hashlib.sha256(b"4242").hexdigest()
    assert pseudonym(secret, 4242) == user and pseudonym(secret, 4243) != user


def test_mentions_are_not_kept() -> None:
    assert scrub("ask <@123> or <@!456>, not <@&789> in <#1>") == "ask @user or @user, not @role in <#1>"
    assert message_link(1, 2, 3) == "https://discord.com/channels/1/2/3"
    assert message_link(None, 2, 3) == "https://discord.com/channels/@me/2/3"


def test_the_log_is_owner_only_and_bounded(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "feedback.jsonl"
    log = JsonLinesLog(path, max_bytes=300)
    for n in range(20):
        log.append({"n": n, "question": "x" * 40})
    assert _mode(path) == 0o600 and _mode(log.previous) == 0o600
    kept = [r["n"] for r in log.records()]
    assert kept == list(range(20 - len(kept), 20))  # the newest, in order
    assert path.stat().st_size <= 300 and log.previous.stat().st_size <= 300
    assert len(kept) < 20  # the oldest were dropped


def test_an_older_log_readable_by_all_is_narrowed(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    path.write_text('{"vote": "up"}\nnot json\n', encoding="utf-8")
    path.chmod(0o644)
    log = JsonLinesLog(path)
    log.append({"vote": "down"})
    assert _mode(path) == 0o600
    assert list(log.records()) == [{"vote": "up"}, {"vote": "down"}]  # the broken line skipped


# -- through the bot ------------------------------------------------------------------


async def test_votes_are_one_line_per_person_answer_and_change(tmp_path: Path) -> None:
    discord = pytest.importorskip("discord")
    from bot.discord.bot import FeedbackButton
    from bot.discord.format import FEEDBACK_SAME, FEEDBACK_THANKS, answer_embed
    from tests.discord_support import QUESTION, FakeInteraction, _bare_bot, _engine, _Msg

    engine = _engine(tmp_path / "docs")
    bot = _bare_bot(engine, tmp_path)
    embed = answer_embed(engine.ask(f"<@987654321098765432> {QUESTION}"))
    shown: list[Any] = []

    async def press(vote: str, user: int, message: int) -> None:
        interaction = FakeInteraction(bot, user_id=user, message=_Msg("", embeds=[embed], id=message))
        await FeedbackButton(f"docqa:fb:{vote}").callback(interaction)
        shown.extend(s.content for s in interaction.log)

    await press("down", 1, 500)
    await press("down", 1, 500)  # the same vote again: not logged again
    await press("up", 1, 500)  # a change of mind: logged
    await press("down", 2, 500)  # another person
    await press("down", 1, 501)  # another answer
    records = [json.loads(line) for line in bot.unanswered.feedback.path.read_text("utf-8").splitlines()]
    secret = installation_secret(bot.settings.data_dir)
    assert [(r["vote"], r["user"], r["link"][-3:]) for r in records] == [
        ("down", pseudonym(secret, 1), "500"),
        ("up", pseudonym(secret, 1), "500"),
        ("down", pseudonym(secret, 2), "500"),
        ("down", pseudonym(secret, 1), "501"),
    ]
    assert {r["question"] for r in records} == {f"@user {QUESTION}"}
    assert shown == [
        FEEDBACK_THANKS["down"], FEEDBACK_SAME, FEEDBACK_THANKS["up"],
        FEEDBACK_THANKS["down"], FEEDBACK_THANKS["down"],
    ]
    assert _mode(bot.unanswered.feedback.path) == 0o600
    assert discord is not None


async def test_an_abstention_is_logged_with_its_message_link(make_bot: Any) -> None:
    dpytest = pytest.importorskip("discord.ext.test")
    from tests.discord_support import _config, _mention

    bot = await make_bot()
    bob = _config().members[1]
    question = await dpytest.message(_mention(bot, f"When was Microsoft founded, <@{bob.id}>?"))
    [record] = [json.loads(line) for line in bot.unanswered.abstentions.path.read_text("utf-8").splitlines()]
    assert record.pop("time")
    assert record == {
        "via": "mention",
        "question": "When was Microsoft founded, @user?",
        "answer": "",
        "coverage": 0.0,
        "closest": [],
        "user": pseudonym(installation_secret(bot.settings.data_dir), _config().members[0].id),
        "link": f"https://discord.com/channels/{question.guild.id}/{question.channel.id}/{question.id}",
        "docs": "seeds",
    }
    assert _mode(bot.unanswered.abstentions.path) == 0o600
