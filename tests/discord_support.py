"""Shared pieces of the Discord tests: a small documents folder, a bot driven by dpytest,
and stand-ins for the interactions (slash commands, buttons, context menu) dpytest cannot
send."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

discord = pytest.importorskip("discord")
dpytest = pytest.importorskip("discord.ext.test")

from discord.ext.test import backend, factories  # noqa: E402

from bot.discord.bot import REQUIRED_PERMISSIONS, DocqaBot, create_bot  # noqa: E402
from bot.settings import Settings  # noqa: E402
from index.chunking import ChunkingConfig  # noqa: E402
from index.models import Answer  # noqa: E402
from index.retrieval import Engine, build_index  # noqa: E402

GUIDE = (
    "# Installation\n\nRun the installer with administrator rights. The installer needs\n"
    "2 GB of free disk space and takes about five minutes.\n\n# Backups\n\n"
    "Back up the database before upgrading. Version 3.2 changed the\n"
    "schema, so older backups cannot be restored.\n"
)
PINGS = "Alerts reach @everyone and @here and <@&234567890123456789> when the widget overheats.\n"
QUESTION = "How much disk space does the installer need?"
ANSWER = "The installer needs 2 GB of free disk space and takes about five minutes. [1]"


class RecordingEngine(Engine):
    """The real engine, noting each question and the conversation it came with."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    def ask(self, question: str, k: int | None = None, history: Sequence[str] = ()) -> Answer:
        self.calls.append((question, tuple(history)))
        return super().ask(question, k, history)


def _engine(root: Path, cls: type[Engine] = RecordingEngine) -> Any:
    root.mkdir(exist_ok=True)
    (root / "guide.md").write_text(GUIDE, encoding="utf-8")
    (root / "alerts.txt").write_text(PINGS, encoding="utf-8")
    return cls(build_index(root, ChunkingConfig()))


@pytest.fixture
def engine(tmp_path: Path) -> RecordingEngine:
    return _engine(tmp_path / "docs")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def payloads(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The JSON payload of every message the bot sends through a channel (what Discord
    would receive, allowed_mentions included)."""
    sent: list[dict[str, Any]] = []
    original = discord.abc.handle_message_parameters

    def recording(*args: Any, **kwargs: Any) -> Any:
        params = original(*args, **kwargs)
        sent.append(params.payload)
        return params

    monkeypatch.setattr(discord.abc, "handle_message_parameters", recording)
    return sent


@pytest.fixture
async def make_bot(
    engine: RecordingEngine, tmp_path: Path
) -> AsyncIterator[Callable[..., Any]]:
    async def make(engine: Engine = engine, clock: Clock | None = None, **settings: Any) -> DocqaBot:
        settings.setdefault("discord_cooldown_s", 0)
        settings.setdefault("discord_feedback_log", tmp_path / "feedback.jsonl")
        bot = create_bot(Settings(**settings), engine, clock=clock or Clock())
        await bot._async_setup_hook()  # dpytest's way to give the bot its event loop
        # dpytest finds the members a message mentions in the member cache; the real bot
        # needs no cache (a mention carries the member) nor the privileged members intent
        bot._connection._intents.members = True
        bot._connection.member_cache_flags = discord.MemberCacheFlags.from_intents(
            bot._connection._intents
        )
        dpytest.configure(bot, text_channels=["help", "general"], members=["alice", "bob"])
        bot._connection.loop = asyncio.get_running_loop()  # dpytest's state has none (typing)
        # the permissions the invite link asks for (dpytest's @everyone lacks threads)
        everyone = _config().guilds[0].default_role
        backend.update_role(everyone, permissions=everyone.permissions.value | REQUIRED_PERMISSIONS.value)
        return bot

    yield make
    await dpytest.empty_queue()


def _config() -> Any:
    return dpytest.get_config()


def _mention(bot: DocqaBot, text: str) -> str:
    return f"<@{bot.user.id}> {text}"


def _sent() -> list[discord.Message]:
    out = []
    while not dpytest.sent_queue.empty():
        out.append(dpytest.get_message())
    return out


async def _post(
    channel: Any,
    author: Any,
    content: str,
    mentions: Sequence[Any] = (),
    reply_to: int | None = None,
) -> discord.Message:
    """A message dpytest cannot make itself: in a thread, or replying to another."""
    data = factories.make_message_dict(
        channel, author, content=content, mentions=list(mentions), guild_id=channel.guild.id
    )
    if reply_to is not None:
        data["message_reference"] = {
            "message_id": reply_to, "channel_id": channel.id, "guild_id": channel.guild.id
        }
    state = backend.get_state()
    state.parse_message_create(data)
    await dpytest.run_all_events()
    return state._get_message(data["id"])


def _thread_data(
    parent: Any, name: str = "a thread", owner_id: int | None = None, thread_id: int | None = None
) -> dict[str, Any]:
    data = {
        "id": thread_id or factories.make_id(), "guild_id": parent.guild.id, "parent_id": parent.id,
        "owner_id": owner_id or parent.guild.me.id, "name": name, "type": 11, "message_count": 0,
        "member_count": 1, "rate_limit_per_user": 0,
        "thread_metadata": {"archived": False, "auto_archive_duration": 1440,
                            "archive_timestamp": "2025-01-01T00:00:00+00:00", "locked": False},
    }
    return data


def _make_thread(parent: discord.TextChannel, name: str = "a thread") -> discord.Thread:
    data = _thread_data(parent, name)
    backend.get_state().parse_thread_create(data)
    thread = parent.guild.get_thread(data["id"])
    assert thread is not None
    return thread


# -- interactions -------------------------------------------------------------------------


@dataclass
class Sent:
    kind: str  # "defer", "response" or "followup"
    content: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)


class FakeResponse:
    def __init__(self, log: list[Sent]) -> None:
        self.log = log
        self.done = False

    def is_done(self) -> bool:
        return self.done

    async def defer(self, **kwargs: Any) -> None:
        self.done = True
        self.log.append(Sent("defer", None, kwargs))

    async def send_message(self, content: str | None = None, **kwargs: Any) -> None:
        self.done = True
        self.log.append(Sent("response", content, kwargs))


class FakeFollowup:
    def __init__(self, log: list[Sent]) -> None:
        self.log = log

    async def send(self, content: str | None = None, **kwargs: Any) -> Any:
        self.log.append(Sent("followup", content, kwargs))
        return discord.Object(id=self.last_id())

    def last_id(self) -> int:
        return 9000 + len(self.log)


@dataclass
class FakeUser:
    id: int = 111


@dataclass
class _Msg:
    content: str
    embeds: list[Any] = field(default_factory=list)
    id: int = 7000
    channel: Any = field(default_factory=lambda: discord.Object(id=6000))


class FakeInteraction:
    """What our handlers read of a discord.Interaction, and where their replies go."""

    def __init__(
        self, client: DocqaBot, *, user_id: int = 111, guild: bool = True, channel: Any = None,
        permissions: discord.Permissions | None = None, message: Any = None,
    ) -> None:
        self.client = client
        self.id = 5000
        self.user = FakeUser(user_id)
        self.guild = discord.Object(id=1) if guild else None
        self.guild_id = 1 if guild else None
        self.extras: dict[str, Any] = {}
        self.channel = channel
        self.permissions = permissions or discord.Permissions.none()
        self.message = message
        self.command = None
        self.log: list[Sent] = []
        self.response = FakeResponse(self.log)
        self.followup = FakeFollowup(self.log)

    async def edit_original_response(self, content: str | None = None, **kwargs: Any) -> None:
        self.log.append(Sent("edit", content, kwargs))


def _slash(bot: DocqaBot, name: str) -> Any:
    command = bot.tree.get_command(name)
    assert command is not None
    return command.callback


def _menu(bot: DocqaBot) -> Any:
    command = bot.tree.get_command("Ask the docs", type=discord.AppCommandType.message)
    assert command is not None
    return command.callback


def _bare_bot(engine: Engine, tmp_path: Path, **settings: Any) -> DocqaBot:
    settings.setdefault("discord_cooldown_s", 0)
    settings.setdefault("discord_feedback_log", tmp_path / "feedback.jsonl")
    return create_bot(Settings(**settings), engine, clock=Clock())




def make_forum(name: str = "help-forum", category_id: int | None = None) -> discord.ForumChannel:
    """A forum channel in dpytest's server (dpytest has no maker for one)."""
    guild = _config().guilds[0]
    data = {
        "id": factories.make_id(), "type": 15, "guild_id": guild.id, "name": name,
        "position": len(guild.channels) + 1, "permission_overwrites": [], "available_tags": [],
        "flags": 0, "nsfw": False, "parent_id": category_id,
    }
    backend.get_state().parse_channel_create(data)
    forum = guild.get_channel(data["id"])
    assert isinstance(forum, discord.ForumChannel)
    return forum


async def forum_post(
    forum: Any, author: Any, title: str, body: str, mentions: Sequence[Any] = ()
) -> discord.Thread:
    """A new forum post as Discord sends it: the starter message (its id is the thread's)
    and THREAD_CREATE with ``newly_created``; the bot's handlers run before it returns."""
    state = backend.get_state()
    thread_id = factories.make_id()
    message = factories.make_message_dict(
        forum, author, content=body, mentions=list(mentions), guild_id=forum.guild.id
    )
    message["id"] = message["channel_id"] = thread_id
    state.parse_message_create(message)
    data = _thread_data(forum, title, owner_id=author.id, thread_id=thread_id)
    data["newly_created"] = True
    state.parse_thread_create(data)
    await dpytest.run_all_events()
    await asyncio.sleep(0)
    await dpytest.run_all_events()
    thread = forum.guild.get_thread(thread_id)
    assert thread is not None
    return thread


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """``docqa discord`` points docqa's and discord.py's loggers at the stderr of the
    moment (a test's capture): put them back for the tests after."""
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level) for n in ("docqa", "discord")}
    yield
    for name, (handlers, level) in saved.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).setLevel(level)
