"""The Discord adapter: ``/ask``, mentions, threads and reply chains, cited embeds.

Intents: ``guilds``, ``guild_messages`` and ``dm_messages``, none of them privileged.
Discord sends the content of a message that mentions the bot, of a direct message and of
a context-menu target without the Message Content intent, and that is all the bot reads.

Permissions (the invite link asks for them, see :func:`invite_url`): View Channels, Send
Messages, Send Messages in Threads, Create Public Threads (for DOCQA_DISCORD_THREADS),
Embed Links, Read Message History (a reply points at the question). Scopes: ``bot`` and
``applications.commands``.

Every message the bot sends carries ``AllowedMentions.none()``, set on the client and again
on each send, so no question or document can ping anyone. The reply text itself is built
by the pure functions of ``bot/discord/format.py``; this module only routes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.format import (
    APOLOGY,
    DMS_OFF,
    FEEDBACK_ID_TEMPLATE,
    FEEDBACK_THANKS,
    NO_TEXT,
    NOT_ALLOWED_TO_REINDEX,
    PASSAGE_ID_TEMPLATE,
    REINDEX_RUNNING,
    STALE_PASSAGE,
    Vote,
    answer_buttons,
    answer_embed,
    channels_message,
    cooldown_message,
    empty_question_message,
    feedback_record,
    help_text,
    passage_digest,
    passage_embed,
    question_error_message,
    reindex_failed_message,
    reindex_message,
    sources_embed,
    thread_name,
)
from bot.settings import Settings
from index.errors import DocqaError, QuestionError
from index.live import LiveIndex
from index.models import Answer, Passage
from index.retrieval import Conversation, Engine, build_index

log = logging.getLogger("docqa.discord")

NO_MENTIONS = discord.AllowedMentions.none()

REQUIRED_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    embed_links=True,
    read_message_history=True,
)

ConversationKey = tuple[str, int]


def intents() -> discord.Intents:
    """The gateway intents the bot needs; no privileged one."""
    wanted = discord.Intents.none()
    wanted.guilds = True  # channels and threads, to know where a message was posted
    wanted.guild_messages = True  # mentions in servers
    wanted.dm_messages = True  # direct messages, when DOCQA_DISCORD_DMS allows them
    return wanted


def invite_url(app_id: int) -> str:
    """The link that adds the bot to a server with the permissions it needs."""
    return discord.utils.oauth_url(
        app_id, permissions=REQUIRED_PERMISSIONS, scopes=("bot", "applications.commands")
    )


class Cooldown:
    """A per-user wait between questions. ``clock`` is injectable so tests need no sleep."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._last: dict[int, float] = {}
        self._warned: set[int] = set()

    def retry_after(self, user_id: int) -> float:
        """0.0 if the user may ask now (the question is then counted), else the seconds
        left to wait."""
        if self.seconds <= 0:
            return 0.0
        now = self.clock()
        last = self._last.get(user_id)
        if last is not None and now - last < self.seconds:
            return self.seconds - (now - last)
        self._last[user_id] = now
        self._warned.discard(user_id)
        if len(self._last) > 10_000:  # forget users whose wait is over, so memory stays flat
            self._last = {u: t for u, t in self._last.items() if now - t < self.seconds}
            self._warned &= set(self._last)
        return 0.0

    def first_warning(self, user_id: int) -> bool:
        """True once per wait: someone who keeps mentioning the bot is told once, so the
        bot never floods a channel with cooldown notices."""
        if user_id in self._warned:
            return False
        self._warned.add(user_id)
        return True


class Conversations:
    """One core ``Conversation`` per thread or reply chain, least recently used dropped
    first, and which bot message belongs to which chain."""

    def __init__(self, turns: int, capacity: int = 1000) -> None:
        self.turns = turns
        self.capacity = capacity
        self._conversations: OrderedDict[ConversationKey, Conversation] = OrderedDict()
        self._replies: OrderedDict[int, ConversationKey] = OrderedDict()

    def get(self, key: ConversationKey) -> Conversation:
        conversation = self._conversations.pop(key, None) or Conversation(self.turns)
        self._conversations[key] = conversation
        while len(self._conversations) > self.capacity:
            self._conversations.popitem(last=False)
        return conversation

    def link(self, message_id: int, key: ConversationKey) -> None:
        """Remember that the bot's message ``message_id`` answered in ``key``, so a reply
        to it continues that conversation."""
        self._replies[message_id] = key
        while len(self._replies) > self.capacity * 10:
            self._replies.popitem(last=False)

    def key_of(self, message_id: int) -> ConversationKey | None:
        return self._replies.get(message_id)


_append_lock = threading.Lock()


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON line; the lock keeps lines whole when votes arrive together."""
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with _append_lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write(line)


def rebuild_from_settings(settings: Settings) -> Engine:
    """A fresh engine over ``settings.docs_dir`` (what ``/reindex`` swaps in)."""
    return Engine(build_index(settings.docs_dir, settings.chunking()), settings.engine())


# -- buttons ----------------------------------------------------------------------------
# Dynamic items: their state lives in the custom id, so buttons keep working after a
# restart and the bot keeps no per-message view in memory.


class PassageButton(discord.ui.DynamicItem[discord.ui.Button], template=PASSAGE_ID_TEMPLATE):
    """``[n]``: shows the whole passage to whoever pressed it."""

    def __init__(self, custom_id: str, label: str | None = None, row: int | None = None) -> None:
        match = re.fullmatch(PASSAGE_ID_TEMPLATE, custom_id)
        if match is None:
            raise ValueError(f"not a passage button id: {custom_id!r}")
        super().__init__(
            discord.ui.Button(
                label=label or f"[{match['n']}]",
                custom_id=custom_id,
                style=discord.ButtonStyle.secondary,
                row=row,
            )
        )
        self.n = int(match["n"])
        self.chunk_id = int(match["chunk"])
        self.digest = match["digest"]

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> PassageButton:
        return cls(match.group(0))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: DocqaBot = interaction.client  # type: ignore[assignment]
        await bot.guarded(interaction, bot.show_passage(interaction, self.n, self.chunk_id, self.digest))


class FeedbackButton(discord.ui.DynamicItem[discord.ui.Button], template=FEEDBACK_ID_TEMPLATE):
    """👍 / 👎: appends the rated answer to the feedback log."""

    def __init__(
        self, custom_id: str, label: str | None = None, emoji: str | None = None, row: int | None = None
    ) -> None:
        match = re.fullmatch(FEEDBACK_ID_TEMPLATE, custom_id)
        if match is None:
            raise ValueError(f"not a feedback button id: {custom_id!r}")
        self.vote: Vote = "up" if match["vote"] == "up" else "down"
        super().__init__(
            discord.ui.Button(
                label=label,
                emoji=emoji or ("👍" if self.vote == "up" else "👎"),
                custom_id=custom_id,
                style=discord.ButtonStyle.secondary,
                row=row,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> FeedbackButton:
        return cls(match.group(0))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: DocqaBot = interaction.client  # type: ignore[assignment]
        await bot.guarded(interaction, bot.record_feedback(interaction, self.vote))


def answer_view(answer: Answer) -> discord.ui.View:
    """The buttons under an answer, from :func:`bot.discord.format.answer_buttons`."""
    view = discord.ui.View(timeout=None)
    for spec in answer_buttons(answer):
        if spec.custom_id.startswith("docqa:fb:"):
            view.add_item(FeedbackButton(spec.custom_id, spec.label, spec.emoji, spec.row))
        else:
            view.add_item(PassageButton(spec.custom_id, spec.label, spec.row))
    return view


# -- the bot ----------------------------------------------------------------------------


class DocqaBot(commands.Bot):
    """The docqa bot. Everything it uses is passed in; build it with :func:`create_bot`."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine | LiveIndex,
        *,
        rebuild: Callable[[], Engine] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,  # required by commands.Bot; never used
            help_command=None,
            intents=intents(),
            allowed_mentions=NO_MENTIONS,
        )
        self.settings = settings
        # A LiveIndex follows the folder and swaps engines itself; a plain Engine is kept
        # here and replaced whole by /reindex. Either way a question reads the engine once
        # when it starts, so questions in flight finish on the old index.
        self.live = engine if isinstance(engine, LiveIndex) else None
        self._engine = engine.current if isinstance(engine, LiveIndex) else engine
        self.rebuild = rebuild or (lambda: rebuild_from_settings(settings))
        self.cooldown = Cooldown(settings.discord_cooldown_s, clock)
        self.conversations = Conversations(settings.conversation_turns)
        self.reindexing = asyncio.Lock()
        self._add_app_commands()

    @property
    def engine(self) -> Engine:
        """The engine in service; take it once per question."""
        return self.live.current if self.live is not None else self._engine

    # -- start-up ----------------------------------------------------------------------

    async def setup_hook(self) -> None:
        self.add_dynamic_items(PassageButton, FeedbackButton)
        if self.live is not None and self.live.interval > 0:
            self.live.start(on_reload=lambda report: log.info("documents changed: %s", report.line()))
        guild_id = self.settings.discord_guild_id
        if guild_id:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to server %s (instant)", len(synced), guild_id)
        else:
            synced = await self.tree.sync()
            log.info("synced %d commands globally (may take a while to show)", len(synced))

    async def close(self) -> None:
        if self.live is not None:
            await asyncio.to_thread(self.live.stop)  # waits for a rebuild in progress
        await super().close()

    async def on_ready(self) -> None:
        sources = self.engine.sources()
        log.info(
            "connected as %s to %d servers, answering from %d documents",
            self.user, len(self.guilds), len(sources),
        )
        if self.application_id is not None:
            log.info("add it to a server: %s", invite_url(self.application_id))

    def _add_app_commands(self) -> None:
        tree = self.tree

        @tree.command(name="ask")
        @app_commands.describe(question="what you want to know, in your own words")
        async def ask(interaction: discord.Interaction, question: str) -> None:
            """Ask the documents a question; the answer cites the passages it comes from."""
            await self.ask_from_interaction(interaction, question, via="slash")

        @tree.context_menu(name="Ask the docs")
        async def ask_the_docs(interaction: discord.Interaction, message: discord.Message) -> None:
            await self.ask_from_interaction(interaction, message.content, via="menu")

        @tree.command(name="sources")
        async def sources(interaction: discord.Interaction) -> None:
            """List the indexed documents and how many passages each gave."""
            await interaction.response.send_message(
                embed=sources_embed(self.engine.sources()),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )

        @tree.command(name="help")
        async def help_(interaction: discord.Interaction) -> None:
            """How to ask questions, follow up and read the citations."""
            await interaction.response.send_message(
                help_text(self.user.display_name if self.user else ""),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )

        @tree.command(name="reindex")
        @app_commands.default_permissions(manage_guild=True)
        async def reindex(interaction: discord.Interaction) -> None:
            """Reload the documents folder and swap in the new index (Manage Server)."""
            await self.reindex_from_interaction(interaction)

        tree.error(self.on_app_command_error)

    # -- answering ---------------------------------------------------------------------

    async def answer(self, question: str, conversation: Conversation, via: str) -> Answer:
        """Ask the engine in service (off the event loop) and log one line for it."""
        engine = self.engine
        started = time.perf_counter()
        try:
            answer = await asyncio.to_thread(engine.ask, question, None, conversation.history)
        except QuestionError:
            log.info("question via=%s rejected (no searchable words or too long)", via)
            raise
        conversation.add(question)
        cited = dict.fromkeys(answer.passages[s.passage - 1].source for s in answer.sentences)
        log.info(
            "question via=%s latency_ms=%.0f abstained=%s sources=%s",
            via, (time.perf_counter() - started) * 1000, answer.abstained, ",".join(cited) or "-",
        )
        return answer

    def channel_allowed(self, channel: object) -> bool:
        """True unless DOCQA_DISCORD_CHANNELS is set and names neither this channel nor,
        for a thread, its parent."""
        allowed = self.settings.discord_channels
        if not allowed:
            return True
        ids = {getattr(channel, "id", None), getattr(channel, "parent_id", None)}
        return any(c in ids for c in allowed)

    def refusal(self, user_id: int, in_guild: bool, channel: object) -> str | None:
        """Why a question may not be answered here and now, or None."""
        if not in_guild and not self.settings.discord_dms:
            return DMS_OFF
        if in_guild and not self.channel_allowed(channel):
            return channels_message(self.settings.discord_channels)
        wait = self.cooldown.retry_after(user_id)
        if wait > 0:
            return cooldown_message(wait)
        return None

    async def ask_from_interaction(
        self, interaction: discord.Interaction, question: str, via: str
    ) -> None:
        """``/ask`` and "Ask the docs": refuse in a sentence, or defer and answer."""
        if not question.strip():
            await self._ephemeral(interaction, NO_TEXT)
            return
        reason = self.refusal(interaction.user.id, interaction.guild is not None, interaction.channel)
        if reason:
            await self._ephemeral(interaction, reason)
            return
        # Discord drops an interaction not acknowledged within 3 s: defer before any work.
        await interaction.response.defer(thinking=True)
        channel = interaction.channel
        key: ConversationKey = (
            ("thread", channel.id) if isinstance(channel, discord.Thread) else ("chain", interaction.id)
        )
        try:
            answer = await self.answer(question, self.conversations.get(key), via)
        except QuestionError as exc:
            await interaction.followup.send(question_error_message(exc), allowed_mentions=NO_MENTIONS)
            return
        sent = await interaction.followup.send(
            embed=answer_embed(answer), view=answer_view(answer), allowed_mentions=NO_MENTIONS, wait=True
        )
        self.conversations.link(sent.id, key)

    def addressed(self, message: discord.Message) -> bool:
        """The message mentions the bot itself or its role; @everyone does not count."""
        me = self.user
        if me is None:
            return False
        if any(user.id == me.id for user in message.mentions):
            return True
        role = message.guild.self_role if message.guild else None
        return role is not None and any(r.id == role.id for r in message.role_mentions)

    def question_of(self, message: discord.Message) -> str:
        """The message's text without the mentions of the bot."""
        me = self.user
        text = message.content
        if me is not None:
            text = re.sub(rf"<@!?{me.id}>", " ", text)
            role = message.guild.self_role if message.guild else None
            if role is not None:
                text = text.replace(f"<@&{role.id}>", " ")
        return text.strip()

    async def on_message(self, message: discord.Message) -> None:
        # Never answer a bot, this one included: no loops, no bot-to-bot floods.
        if message.author.bot or message.type not in (
            discord.MessageType.default,
            discord.MessageType.reply,
        ):
            return
        try:
            await self.answer_message(message)
        except Exception:
            log.exception("could not answer message %s in channel %s", message.id, message.channel.id)
            await self._reply(message, APOLOGY)

    async def answer_message(self, message: discord.Message) -> None:
        """A mention (or a direct message): refuse in a sentence, or answer in a reply,
        keeping the conversation of the thread or reply chain."""
        if message.guild is None:
            if not self.settings.discord_dms:
                await self._reply(message, DMS_OFF)
                return
            question, via = message.content.strip(), "dm"
        else:
            if not self.addressed(message) or not self.channel_allowed(message.channel):
                return  # not for us, or not here: stay silent rather than clutter the channel
            question, via = self.question_of(message), "mention"
        if not question:
            await self._reply(message, empty_question_message(self.user.display_name if self.user else ""))
            return
        wait = self.cooldown.retry_after(message.author.id)
        if wait > 0:
            if self.cooldown.first_warning(message.author.id):
                await self._reply(message, cooldown_message(wait))
            return
        key, thread = await self._conversation_key(message, question)
        try:
            answer = await self.answer(question, self.conversations.get(key), via)
        except QuestionError as exc:
            await self._reply(message, question_error_message(exc))
            return
        embed, view = answer_embed(answer), answer_view(answer)
        if thread is not None:
            sent = await thread.send(embed=embed, view=view, allowed_mentions=NO_MENTIONS)
        else:
            sent = await message.reply(embed=embed, view=view, allowed_mentions=NO_MENTIONS)
        self.conversations.link(sent.id, key)

    async def _conversation_key(
        self, message: discord.Message, question: str
    ) -> tuple[ConversationKey, discord.Thread | None]:
        """Which conversation a message continues, and the thread to answer in when
        DOCQA_DISCORD_THREADS starts one for it."""
        channel = message.channel
        if isinstance(channel, discord.Thread):
            return ("thread", channel.id), None
        if message.reference is not None and message.reference.message_id is not None:
            key = self.conversations.key_of(message.reference.message_id)
            if key is not None:
                return key, None
        if self.settings.discord_threads and isinstance(channel, discord.TextChannel):
            try:
                thread = await message.create_thread(name=thread_name(question))
            except discord.HTTPException:
                log.warning("could not start a thread in channel %s; replying instead", channel.id, exc_info=True)
            else:
                return ("thread", thread.id), thread
        return ("chain", message.id), None

    # -- buttons -----------------------------------------------------------------------

    async def show_passage(
        self, interaction: discord.Interaction, n: int, chunk_id: int, digest: str
    ) -> None:
        chunks = self.engine.index.chunks
        chunk = chunks[chunk_id] if 0 <= chunk_id < len(chunks) else None
        if chunk is None or passage_digest(chunk.text) != digest:
            await self._ephemeral(interaction, STALE_PASSAGE)
            return
        await interaction.response.send_message(
            embed=passage_embed(n, Passage.from_chunk(chunk)), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    async def record_feedback(self, interaction: discord.Interaction, vote: Vote) -> None:
        message = interaction.message
        if message is not None and message.embeds:
            record = feedback_record(
                message.embeds[0].to_dict(), vote, interaction.user.id, datetime.now(timezone.utc)
            )
            path = self.settings.discord_feedback_log
            try:
                await asyncio.to_thread(append_jsonl, path, record)
            except Exception:  # a full disk or a bad path is the operator's, not the user's
                log.warning("could not append feedback to %s", path, exc_info=True)
        await self._ephemeral(interaction, FEEDBACK_THANKS[vote])

    # -- /reindex ----------------------------------------------------------------------

    def may_reindex(self, user_id: int, permissions: discord.Permissions | None) -> bool:
        if user_id in self.settings.discord_owner_ids:
            return True
        return permissions is not None and permissions.manage_guild

    async def reindex_from_interaction(self, interaction: discord.Interaction) -> None:
        permissions = interaction.permissions if interaction.guild is not None else None
        if not self.may_reindex(interaction.user.id, permissions):
            await self._ephemeral(interaction, NOT_ALLOWED_TO_REINDEX)
            return
        if self.reindexing.locked():
            await self._ephemeral(interaction, REINDEX_RUNNING)
            return
        async with self.reindexing:
            await interaction.response.defer(ephemeral=True, thinking=True)
            text = await self.reindex()
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def reindex(self) -> str:
        """Rebuild off the event loop and swap the engine in; the report for the user."""
        before = self.engine.sources()
        started = time.perf_counter()
        try:
            if self.live is not None:
                await asyncio.to_thread(self.live.check, True)
                engine = self.live.current
            else:
                engine = await asyncio.to_thread(self.rebuild)
                self._engine = engine
        except DocqaError as exc:
            log.warning("reindex failed: %s", exc)
            return reindex_failed_message(exc)
        except Exception:
            log.exception("reindex failed")
            return reindex_failed_message(None)
        seconds = time.perf_counter() - started
        log.info("reindexed in %.1f s: %d documents", seconds, len(engine.sources()))
        return reindex_message(before, engine.sources(), seconds)

    # -- errors and small replies ------------------------------------------------------

    async def guarded(self, interaction: discord.Interaction, work: Any) -> None:
        """Await ``work``; if it fails, log the traceback and apologise (buttons have no
        tree-wide error handler of their own)."""
        try:
            await work
        except Exception:
            log.exception("a button handler failed")
            await self.apologise(interaction)

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        name = interaction.command.name if interaction.command else "?"
        log.error("command /%s failed", name, exc_info=error)
        await self.apologise(interaction)

    async def apologise(self, interaction: discord.Interaction) -> None:
        try:
            await self._ephemeral(interaction, APOLOGY)
        except Exception:  # the interaction may have expired; the log already has the cause
            log.warning("could not send the apology", exc_info=True)

    async def _ephemeral(self, interaction: discord.Interaction, text: str) -> None:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def _reply(self, message: discord.Message, text: str) -> None:
        try:
            await message.reply(text, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            log.warning("could not reply to message %s", message.id, exc_info=True)


def create_bot(
    settings: Settings,
    engine: Engine | LiveIndex,
    *,
    rebuild: Callable[[], Engine] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> DocqaBot:
    """The bot, ready to ``start(token)``.

    With a ``LiveIndex`` the bot follows the documents folder (polling while it runs) and
    ``/reindex`` forces a rebuild; with a plain ``Engine``, ``/reindex`` swaps in what
    ``rebuild`` makes (default: index ``settings.docs_dir`` again). ``clock`` drives the
    cooldown.
    """
    return DocqaBot(settings, engine, rebuild=rebuild, clock=clock)


def run_bot(
    settings: Settings,
    engine: Engine | LiveIndex,
    token: str,
    rebuild: Callable[[], Engine] | None = None,
) -> None:
    """Run until interrupted. Raises discord.LoginFailure for a token Discord rejects."""

    async def main() -> None:
        async with create_bot(settings, engine, rebuild=rebuild) as bot:
            await bot.start(token)

    asyncio.run(main())
