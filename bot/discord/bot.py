"""The Discord adapter: ``/ask``, mentions, threads and reply chains, help-forum and
ask-channel posts, cited embeds.

Intents: ``guilds``, ``guild_messages`` and ``dm_messages``, none of them privileged.
Discord sends the content of a message that mentions the bot, of a direct message and of
a context-menu target without the Message Content intent, and that is all the bot reads.
Only with ``DOCQA_DISCORD_MESSAGE_CONTENT=true`` (and the intent turned on in the
Developer Portal) does it read the bodies of forum posts, ask-channel messages and
follow-ups without a mention; without it a forum post is answered from its title.

Permissions (the invite link asks for them, see :func:`invite_url`): View Channels, Send
Messages, Send Messages in Threads, Create Public Threads (for DOCQA_DISCORD_THREADS),
Embed Links (without it answers are sent as text), Read Message History (a reply points
at the question; without it the answer is sent to the channel). Scopes: ``bot`` and
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
import signal
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.auto import clears
from bot.discord.folders import Folder, Folders, LinkMaker
from bot.discord.format import (
    APOLOGY,
    BUSY,
    DMS_OFF,
    FEEDBACK_ID_TEMPLATE,
    FEEDBACK_SAME,
    FEEDBACK_THANKS,
    NO_TEXT,
    NOT_ALLOWED_TO_REINDEX,
    NOT_FOUND,
    NOT_THIS_SERVER,
    PASSAGE_ID_TEMPLATE,
    REINDEX_RUNNING,
    STALE_PASSAGE,
    Vote,
    answer_buttons,
    answer_embed,
    answer_text,
    channels_message,
    cooldown_message,
    digest_message,
    empty_question_message,
    help_text,
    passage_digest,
    passage_embed,
    question_error_message,
    reindex_failed_message,
    reindex_message,
    sources_embed,
    text_answer_parts,
    thread_name,
    trim_words,
)
from bot.discord.logs import message_link
from bot.discord.rebuilds import off_loop
from bot.discord.state import Answering, ConversationKey, Conversations, Cooldown
from bot.discord.sync import SyncState, payload_hash, sync_key
from bot.discord.unanswered import Unanswered
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

DISCORD_MAX_OPTION_LENGTH = 6000  # the longest max_length Discord accepts for a string option
DRAIN_SECONDS = 10.0  # how long a stop waits for answers in flight before cancelling them
DIGEST_DAYS = 7
PUBLIC_DEFER = "docqa_public_defer"  # in Interaction.extras: "thinking…" is public

def intents(message_content: bool = False) -> discord.Intents:
    """The gateway intents the bot needs; none privileged unless ``message_content``."""
    wanted = discord.Intents.none()
    wanted.guilds = True  # channels, threads and forum posts, to know where a message is
    wanted.guild_messages = True  # mentions in servers
    wanted.dm_messages = True  # direct messages, when DOCQA_DISCORD_DMS allows them
    wanted.message_content = message_content  # forum bodies, ask channels (privileged)
    return wanted


def invite_url(app_id: int) -> str:
    """The link that adds the bot to a server with the permissions it needs."""
    return discord.utils.oauth_url(
        app_id, permissions=REQUIRED_PERMISSIONS, scopes=("bot", "applications.commands")
    )


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


@asynccontextmanager
async def typing_in(channel: Any) -> AsyncIterator[None]:
    """"docqa is typing…" in ``channel`` while the block runs; a channel where the bot may
    not show it (or that has none) just gets no indicator."""
    indicator = channel.typing() if hasattr(channel, "typing") else None
    try:
        if indicator is not None:
            await indicator.__aenter__()
    except Exception:  # cosmetic: never lose an answer over it
        log.debug("no typing indicator in channel %s", getattr(channel, "id", "?"), exc_info=True)
        indicator = None
    try:
        yield
    finally:
        if indicator is not None:
            await indicator.__aexit__(None, None, None)


def _where(guild_id: int | None, channel_id: int | None, message_id: int | None, kind: str = "message") -> str:
    return f"guild={guild_id or '-'} channel={channel_id or '-'} {kind}={message_id or '-'}"


# -- the bot ----------------------------------------------------------------------------


class DocqaBot(commands.Bot):
    """The docqa bot. Everything it uses is passed in; build it with :func:`create_bot`."""

    def __init__(
        self,
        settings: Settings,
        folders: Folders,
        *,
        clock: Callable[[], float] = time.monotonic,
        force_sync: bool = False,
    ) -> None:
        dms = settings.discord_dms
        super().__init__(
            command_prefix=commands.when_mentioned,  # required by commands.Bot; never used
            help_command=None,
            intents=intents(settings.discord_message_content),
            allowed_mentions=NO_MENTIONS,
            # the commands are offered in servers, and in DMs only when the bot answers
            # DMs; never installed on a user account (where any server could use them)
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=dms, private_channel=False
            ),
            allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
        )
        self.settings = settings
        self.folders = folders
        self.force_sync = force_sync
        self.cooldown = Cooldown(settings.discord_cooldown_s, clock)
        self.vote_cooldown = Cooldown(settings.discord_cooldown_s, clock)
        self.conversations = Conversations(settings.conversation_turns)
        self.answering = Answering(settings.discord_max_answers)
        self.unanswered = Unanswered(settings.data_dir, settings.discord_feedback_log)
        self._askers: OrderedDict[int, int] = OrderedDict()  # thread the bot started -> asker
        self._answered: OrderedDict[int, None] = OrderedDict()  # threads it has answered in
        self._starters: OrderedDict[int, None] = OrderedDict()  # forum posts taken
        self._background: list[asyncio.Task[Any]] = []
        self._stop_task: asyncio.Task[None] | None = None
        self._add_app_commands()

    # the default folder, as tests and embedders know it
    @property
    def engine(self) -> Engine:
        """The default folder's engine in service; take it once per question."""
        return self.folders.default.engine

    @property
    def rebuild(self) -> Callable[[], Engine] | None:
        return self.folders.default.rebuild

    @rebuild.setter
    def rebuild(self, rebuild: Callable[[], Engine]) -> None:
        self.folders.default.rebuild = rebuild

    # -- start-up and stop -------------------------------------------------------------

    async def setup_hook(self) -> None:
        self.add_dynamic_items(PassageButton, FeedbackButton)
        if any(f.live is not None and f.live.interval > 0 for f in self.folders.all()):
            self._background.append(asyncio.create_task(self._follow_folders()))
        if self.settings.discord_digest_channel:
            self._background.append(asyncio.create_task(self._weekly_digest()))
        if self.settings.discord_auto_channels and not self.settings.discord_message_content:
            log.warning(
                "DOCQA_DISCORD_AUTO_CHANNELS without DOCQA_DISCORD_MESSAGE_CONTENT: forum posts "
                "are answered from their titles only, and ask channels not at all"
            )
        await self.sync_commands()

    async def sync_commands(self) -> None:
        """Sync the slash commands when they changed since the last sync (or when told):
        a failure (no ``applications.commands`` scope, a rate limit) is logged, and the
        bot runs on with the commands Discord already has."""
        guild_id = self.settings.discord_guild_id
        guild = discord.Object(id=guild_id) if guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        payload = [c.to_dict(self.tree) for c in self.tree.get_commands(guild=guild)]
        digest = payload_hash(payload)
        state = SyncState(self.settings.data_dir)
        key = sync_key(self.application_id, guild_id)
        where = f"to server {guild_id} (instant)" if guild_id else "globally (may take a while to show)"
        if not self.force_sync and state.synced(key) == digest:
            log.info("slash commands unchanged since the last sync: not syncing (--sync forces it)")
            return
        try:
            synced = await self.tree.sync(guild=guild)
        except (discord.HTTPException, app_commands.AppCommandError, discord.ClientException) as exc:
            log.error(
                "could not sync the slash commands %s (%s): the bot runs on with the commands "
                "Discord already has; check that the invite had the applications.commands "
                "scope, then restart with --sync",
                where, exc,
            )
            return
        try:
            state.remember(key, digest)
        except OSError as exc:
            log.warning("could not record the command sync in %s (%s)", state.path, exc)
        log.info("synced %d commands %s", len(synced), where)

    async def close(self) -> None:
        """Stop: take no new questions, let those in flight finish (up to
        :data:`DRAIN_SECONDS`, then cancel them), stop following the folders, log out."""
        if not self.answering.closed:
            finished, cancelled = await self.answering.drain(DRAIN_SECONDS)
            if finished or cancelled:
                log.info("stopping: %d answers finished, %d cancelled", finished, cancelled)
            for task in self._background:
                task.cancel()
            await asyncio.gather(*self._background, return_exceptions=True)
            self._background.clear()
        await super().close()

    def request_stop(self, reason: str) -> None:
        """Close soon (from a signal handler, which cannot await)."""
        if self._stop_task is None:
            log.info("%s: stopping", reason)
            self._stop_task = asyncio.ensure_future(self.close())

    async def on_ready(self) -> None:
        log.info(
            "connected as %s to %d servers, answering from %s",
            self.user, len(self.guilds),
            ", ".join(f"{f.name} ({len(f.engine.sources())} documents)" for f in self.folders.all()),
        )
        for guild in list(self.guilds):
            await self._leave_unless_allowed(guild)
        if self.application_id is not None:
            log.info("add it to a server: %s", invite_url(self.application_id))

    async def on_guild_join(self, guild: discord.Guild) -> None:
        if await self._leave_unless_allowed(guild):
            return
        log.info("added to server %s (%s)", guild.name, guild.id)

    def guild_allowed(self, guild_id: int | None) -> bool:
        """True for a DM and for any server unless DOCQA_DISCORD_GUILDS names others."""
        allowed = self.settings.discord_guilds
        return guild_id is None or not allowed or guild_id in allowed

    async def _leave_unless_allowed(self, guild: discord.Guild) -> bool:
        if self.guild_allowed(guild.id):
            return False
        try:
            await guild.leave()
        except discord.HTTPException:
            log.warning("could not leave server %s (%s)", guild.name, guild.id, exc_info=True)
            return True
        log.warning("left server %s (%s): it is not in DOCQA_DISCORD_GUILDS", guild.name, guild.id)
        return True

    def _add_app_commands(self) -> None:
        tree = self.tree
        limit = min(self.folders.default.engine.config.max_question_chars, DISCORD_MAX_OPTION_LENGTH)

        async def ask(interaction: discord.Interaction, question: str) -> None:
            """Ask the documents a question; the answer cites the passages it comes from."""
            await self.ask_from_interaction(interaction, question, via="slash")

        # Discord refuses a longer question in the box itself, before anything is sent
        ask.__annotations__["question"] = app_commands.Range[str, 1, limit]
        ask_command = app_commands.describe(question="what you want to know, in your own words")(
            app_commands.Command(name="ask", description=ask.__doc__ or "", callback=ask)
        )
        tree.add_command(ask_command)

        @tree.context_menu(name="Ask the docs")
        async def ask_the_docs(interaction: discord.Interaction, message: discord.Message) -> None:
            await self.ask_from_interaction(interaction, message.content, via="menu")

        @tree.command(name="sources")
        async def sources(interaction: discord.Interaction) -> None:
            """List the indexed documents and how many passages each gave."""
            folder = self.folders.for_channel(interaction.channel)
            await interaction.response.send_message(
                embed=sources_embed(folder.engine.sources()),
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
        @app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
        async def reindex(interaction: discord.Interaction) -> None:
            """Reload the documents folder and swap in the new index (Manage Server)."""
            await self.reindex_from_interaction(interaction)

        # the older flag too, for clients that still read it: no DMs unless they are on
        for command in tree.get_commands():
            command.guild_only = command.name == "reindex" or not self.settings.discord_dms
        tree.error(self.on_app_command_error)

    # -- answering ---------------------------------------------------------------------

    async def answer(
        self, folder: Folder, question: str, conversation: Conversation, via: str, where: str
    ) -> tuple[Answer, dict[int, str]]:
        """Ask the folder's engine (off the event loop) and log one line for it; the answer
        and each passage's published page."""
        engine = folder.engine
        started = time.perf_counter()

        def work() -> tuple[Answer, dict[int, str]]:
            answer = engine.ask(question, None, conversation.history)
            try:
                links = folder.link_map(answer)
            except Exception:  # a link is a help: never lose the answer over one
                log.warning("could not build the documentation links", exc_info=True)
                links = {}
            return answer, links

        try:
            answer, links = await asyncio.to_thread(work)
        except QuestionError:
            log.info("question via=%s %s rejected (no searchable words or too long)", via, where)
            raise
        conversation.add(question, answer)
        cited = dict.fromkeys(answer.passages[s.passage - 1].source for s in answer.sentences)
        log.info(
            "question via=%s %s docs=%s latency_ms=%.0f abstained=%s sources=%s",
            via, where, folder.name, (time.perf_counter() - started) * 1000, answer.abstained,
            ",".join(cited) or "-",
        )
        return answer, links

    def channel_allowed(self, channel: object) -> bool:
        """True unless DOCQA_DISCORD_CHANNELS is set and names neither this channel nor,
        for a thread, its parent (an auto-answer channel counts as named)."""
        allowed = self.settings.discord_channels
        if not allowed:
            return True
        ids = {getattr(channel, "id", None), getattr(channel, "parent_id", None)}
        return any(c in ids for c in [*allowed, *self.settings.discord_auto_channels])

    def refusal(self, user_id: int, guild_id: int | None, channel: object) -> str | None:
        """Why a question may not be answered here and now, or None."""
        if guild_id is None and not self.settings.discord_dms:
            return DMS_OFF
        if guild_id is not None and not self.guild_allowed(guild_id):
            return NOT_THIS_SERVER
        if guild_id is not None and not self.channel_allowed(channel):
            return channels_message(self.settings.discord_channels)
        wait = self.cooldown.retry_after(user_id)
        if wait > 0:
            return cooldown_message(wait)
        return None

    async def ask_from_interaction(
        self, interaction: discord.Interaction, question: str, via: str
    ) -> None:
        """``/ask`` and "Ask the docs": refuse in a sentence only the user sees, or defer
        and answer. Everything that can refuse is checked before the (public) defer."""
        if not question.strip():
            await self._say_privately(interaction, NO_TEXT)
            return
        reason = self.refusal(interaction.user.id, interaction.guild_id, interaction.channel)
        if reason:
            await self._say_privately(interaction, reason)
            return
        folder = self.folders.for_channel(interaction.channel)
        try:
            folder.engine.query(question)  # empty, too long, no searchable words: cheap to tell
        except QuestionError as exc:
            await self._say_privately(interaction, question_error_message(exc))
            return
        if not self.answering.enter():
            await self._say_privately(interaction, BUSY)
            return
        try:
            # Discord drops an interaction not acknowledged within 3 s: defer before any work
            await interaction.response.defer(thinking=True)
            interaction.extras[PUBLIC_DEFER] = True
            channel = interaction.channel
            key: ConversationKey = (
                ("thread", channel.id) if isinstance(channel, discord.Thread) else ("chain", interaction.id)
            )
            where = _where(interaction.guild_id, getattr(channel, "id", None), interaction.id, "interaction")
            answer, links = await self.answer(folder, question, self.conversations.get(key), via, where)
            sent = await interaction.followup.send(
                embed=answer_embed(answer, links), view=answer_view(answer),
                allowed_mentions=NO_MENTIONS, wait=True,
            )
            self.conversations.link(sent.id, key)
            if answer.abstained:
                link = message_link(interaction.guild_id, getattr(channel, "id", 0), sent.id)
                await self.note_unanswered(answer, via, interaction.user.id, link, folder)
        finally:
            self.answering.leave()

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
            await self._send(message.channel, reply_to=message, text=APOLOGY)

    async def _cooling(self, message: discord.Message, warn: bool = True) -> bool:
        """True when the author must wait: told once per wait (when ``warn``), then the
        bot stays silent, whatever the message was (a question, an empty mention, a DM)."""
        wait = self.cooldown.retry_after(message.author.id)
        if wait <= 0:
            return False
        if warn and self.cooldown.first_warning(message.author.id):
            await self._send(message.channel, reply_to=message, text=cooldown_message(wait))
        return True

    async def answer_message(self, message: discord.Message) -> None:
        """A mention (or a direct message, or a post in an auto-answer channel): refuse in
        a sentence, or answer in a reply, keeping the thread's or reply chain's
        conversation."""
        if message.guild is None:
            if await self._cooling(message, warn=self.settings.discord_dms):
                return
            if not self.settings.discord_dms:
                await self._send(message.channel, reply_to=message, text=DMS_OFF)
                return
            question, via = message.content.strip(), "dm"
        else:
            if not self.guild_allowed(message.guild.id):
                return
            if not self.addressed(message):
                if self.auto_post(message):
                    await self.answer_post(message)
                return  # not for us: stay silent rather than clutter the channel
            if message.id == message.channel.id and not self._take_starter(message.id):
                return  # a forum post that mentions the bot: answered once, as a post
            if not self.channel_allowed(message.channel):
                return
            if await self._cooling(message):
                return
            question, via = self.question_of(message), "mention"
        if not question:
            await self._send(
                message.channel, reply_to=message,
                text=empty_question_message(self.user.display_name if self.user else ""),
            )
            return
        if not self.answering.enter():
            await self._send(message.channel, reply_to=message, text=BUSY)
            return
        try:
            await self._answer_in_channel(message, question, via, strict=False)
        finally:
            self.answering.leave()

    async def _answer_in_channel(
        self, message: discord.Message, question: str, via: str, strict: bool
    ) -> None:
        """Answer ``message`` where it was posted (or in a new thread): ``strict`` answers
        only above DOCQA_DISCORD_AUTO_THRESHOLD, as for posts nobody addressed to the bot."""
        key, new_thread = self._conversation_key(message)
        folder = self.folders.for_channel(message.channel)
        where = _where(message.guild.id if message.guild else None, message.channel.id, message.id)
        conversation = self.conversations.get(key)
        try:
            async with typing_in(message.channel):
                answer, links = await self.answer(folder, question, conversation, via, where)
        except QuestionError as exc:
            if not strict:
                await self._send(message.channel, reply_to=message, text=question_error_message(exc))
            return
        link = message_link(message.guild.id if message.guild else None, message.channel.id, message.id)
        if strict and not clears(answer, self.settings.discord_auto_threshold):
            await self.note_unanswered(answer, via, message.author.id, link, folder)
            if self.settings.discord_auto_unanswered == "say":
                await self._send(message.channel, reply_to=message, text=NOT_FOUND)
            return
        # a thread only for an answer the bot gives: never an empty one for a post it skips
        thread = await self._start_thread(message, question) if new_thread else None
        if thread is not None:
            key = ("thread", thread.id)
            self.conversations.get(key).add(question)
            self._remember_asker(thread.id, message.author.id)
        target = thread or message.channel
        sent = await self._send(target, reply_to=None if thread else message, answer=answer, links=links)
        if sent is not None:
            self.conversations.link(sent.id, key)
            self._remember_answered(target)
        if answer.abstained:
            await self.note_unanswered(answer, via, message.author.id, link, folder)

    def _conversation_key(self, message: discord.Message) -> tuple[ConversationKey, bool]:
        """Which conversation a message continues, and whether DOCQA_DISCORD_THREADS wants
        a new thread for its answer."""
        channel = message.channel
        if isinstance(channel, discord.Thread):
            return ("thread", channel.id), False
        if message.reference is not None and message.reference.message_id is not None:
            key = self.conversations.key_of(message.reference.message_id)
            if key is not None:
                return key, False
        wants = self.settings.discord_threads and isinstance(channel, discord.TextChannel)
        return ("chain", message.id), wants

    async def _start_thread(self, message: discord.Message, question: str) -> discord.Thread | None:
        try:
            return await message.create_thread(name=thread_name(question))
        except discord.HTTPException:
            log.warning(
                "could not start a thread in channel %s; replying instead", message.channel.id, exc_info=True
            )
            return None

    # -- posts nobody addressed to the bot: help forums and ask channels -------------------

    def _auto_parent(self, channel: Any) -> bool:
        return getattr(channel, "parent_id", None) in self.settings.discord_auto_channels

    def _take_starter(self, thread_id: int) -> bool:
        """Claim a forum post (its first message has the thread's id): the mention and the
        new post arrive as two events, in either order, and only the first is answered."""
        if thread_id in self._starters:
            return False
        self._starters[thread_id] = None
        while len(self._starters) > 10_000:
            self._starters.popitem(last=False)
        return True

    def _remember_asker(self, thread_id: int, user_id: int) -> None:
        self._askers[thread_id] = user_id
        while len(self._askers) > 10_000:
            self._askers.popitem(last=False)

    def _remember_answered(self, channel: Any) -> None:
        if isinstance(channel, discord.Thread):
            self._answered[channel.id] = None
            while len(self._answered) > 10_000:
                self._answered.popitem(last=False)

    def auto_post(self, message: discord.Message) -> bool:
        """Whether a message nobody addressed to the bot is still for it: a new message in
        an ask channel, or the asker's follow-up in a post's (or answer's) thread. Only
        with the text Discord delivers (the Message Content intent)."""
        if not message.content.strip():
            return False
        channel = message.channel
        if isinstance(channel, discord.Thread):
            if not self._auto_parent(channel) or message.id == channel.id:
                return False  # the starter of a forum post comes with on_thread_create
            asker = self._askers.get(channel.id, channel.owner_id)
            return message.author.id == asker
        return channel.id in self.settings.discord_auto_channels

    async def answer_post(self, message: discord.Message) -> None:
        """A post in an auto-answer channel, or a follow-up in its thread: answered only
        when sure enough; the cooldown and the load cap apply silently."""
        if await self._cooling(message, warn=False):
            return
        if not self.answering.enter():
            log.info("busy: post %s in channel %s left unanswered", message.id, message.channel.id)
            return
        try:
            question = self._fit_question(message.content)
            # once the bot has answered in a thread, the asker is talking with it there, and
            # a reply to one of its answers speaks to it: such a follow-up (its words mixed
            # with the earlier turns') needs no stricter bar
            reference = message.reference.message_id if message.reference else None
            replying = reference is not None and self.conversations.key_of(reference) is not None
            strict = message.channel.id not in self._answered and not replying
            await self._answer_in_channel(message, question, "auto", strict=strict)
        finally:
            self.answering.leave()

    def _fit_question(self, text: str) -> str:
        """A post may be longer than a question may be: keep its start."""
        return trim_words(text.strip(), self.settings.max_question_chars).removesuffix("…")

    async def on_thread_create(self, thread: discord.Thread) -> None:
        """A new post in a help forum: answer its title and first message."""
        if not (
            isinstance(thread.parent, discord.ForumChannel)
            and self._auto_parent(thread)
            and self.guild_allowed(thread.guild.id)
            and (self.user is None or thread.owner_id != self.user.id)
        ):
            return
        try:
            await self.answer_forum_post(thread)
        except Exception:
            log.exception("could not answer forum post %s", thread.id)

    async def answer_forum_post(self, thread: discord.Thread) -> None:
        if not self._take_starter(thread.id):
            return
        starter = thread.starter_message
        if starter is None:
            try:
                starter = await thread.fetch_message(thread.id)
            except discord.HTTPException:
                starter = None  # no Read Message History, or not there yet: the title alone
        if starter is not None and starter.author.bot:
            return
        body = starter.content.strip() if starter is not None else ""
        question = self._fit_question(f"{thread.name}\n{body}" if body else thread.name)
        owner = thread.owner_id or (starter.author.id if starter is not None else 0)
        if self.cooldown.retry_after(owner) > 0:
            return
        if not self.answering.enter():
            log.info("busy: forum post %s left unanswered", thread.id)
            return
        try:
            folder = self.folders.for_channel(thread)
            key: ConversationKey = ("thread", thread.id)
            where = _where(thread.guild.id, thread.id, thread.id)
            try:
                async with typing_in(thread):
                    answer, links = await self.answer(folder, question, self.conversations.get(key), "forum", where)
            except QuestionError:
                return
            link = message_link(thread.guild.id, thread.id, thread.id)
            if not clears(answer, self.settings.discord_auto_threshold):
                await self.note_unanswered(answer, "forum", owner, link, folder)
                if self.settings.discord_auto_unanswered == "say":
                    await self._send(thread, reply_to=starter, text=NOT_FOUND)
                return
            sent = await self._send(thread, reply_to=starter, answer=answer, links=links)
            if sent is not None:
                self.conversations.link(sent.id, key)
                self._remember_answered(thread)
        finally:
            self.answering.leave()

    # -- sending -------------------------------------------------------------------------

    def _permissions(self, channel: Any) -> discord.Permissions | None:
        """The bot's permissions in ``channel`` (None in a DM, where a message may do all
        it needs)."""
        guild = getattr(channel, "guild", None)
        if guild is None or guild.me is None:
            return None
        try:
            return channel.permissions_for(guild.me)
        except (AttributeError, discord.ClientException):
            return None

    async def _send(
        self,
        channel: Any,
        *,
        reply_to: discord.Message | None = None,
        text: str | None = None,
        answer: Answer | None = None,
        links: Mapping[int, str] | None = None,
    ) -> discord.Message | None:
        """Send ``text`` or an answer to ``channel``, as a reply to ``reply_to`` when the
        bot may read the channel's history and the message is still there (else as a
        plain message), and as text when the bot may not embed. None if it could not."""
        permissions = self._permissions(channel)
        kwargs: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
        if answer is not None:
            kwargs["view"] = answer_view(answer)
            if permissions is None or permissions.embed_links:
                kwargs["embed"] = answer_embed(answer, links)
            else:
                kwargs["content"] = answer_text(answer, links)
        else:
            kwargs["content"] = text
        if reply_to is not None and (permissions is None or permissions.read_message_history):
            try:
                # the question deleted meanwhile: Discord sends it without the reference
                return await channel.send(
                    reference=reply_to.to_reference(fail_if_not_exists=False), **kwargs
                )
            except (discord.Forbidden, discord.NotFound):
                log.info("could not reply to message %s: sending to the channel instead", reply_to.id)
        try:
            return await channel.send(**kwargs)
        except discord.HTTPException:
            log.warning("could not send to channel %s", getattr(channel, "id", "?"), exc_info=True)
            return None

    # -- the unanswered: the abstention log, the feedback log, the digest ------------------

    async def note_unanswered(
        self, answer: Answer, via: str, user_id: int, link: str, folder: Folder
    ) -> None:
        """Append a question the bot did not answer to the abstention log."""
        try:
            await asyncio.to_thread(self.unanswered.note, answer, via, user_id, link, folder.name)
        except Exception:  # the operator's problem (a full disk), never the user's
            log.warning("could not append to %s", self.unanswered.abstentions.path, exc_info=True)

    async def record_feedback(self, interaction: discord.Interaction, vote: Vote) -> None:
        """👍/👎: one line per person, answer and change of mind; the cooldown applies."""
        user_id = interaction.user.id
        wait = self.vote_cooldown.retry_after(user_id)
        if wait > 0:
            if self.vote_cooldown.first_warning(user_id):
                await self._say_privately(interaction, cooldown_message(wait))
            else:
                await interaction.response.defer()  # acknowledged, nothing shown
            return
        message = interaction.message
        parts: dict[str, Any] | None = None
        if message is not None and message.embeds:
            parts = message.embeds[0].to_dict()  # type: ignore[assignment]
        elif message is not None and message.content:
            parts = text_answer_parts(message.content)
        if message is None or parts is None:
            await self._say_privately(interaction, FEEDBACK_THANKS[vote])
            return
        channel_id = getattr(interaction.channel, "id", None) or getattr(message.channel, "id", 0)
        link = message_link(interaction.guild_id, channel_id, message.id)
        folder = self.folders.for_channel(interaction.channel)
        try:
            written = await asyncio.to_thread(
                self.unanswered.vote, parts, vote, user_id, link, folder.name
            )
        except Exception:  # a full disk or a bad path is the operator's, not the user's
            log.warning("could not append feedback to %s", self.unanswered.feedback.path, exc_info=True)
            written = True
        await self._say_privately(interaction, FEEDBACK_THANKS[vote] if written else FEEDBACK_SAME)

    def digest(self, days: int = DIGEST_DAYS) -> str | None:
        """The digest of the last ``days`` days, or None when nothing went unanswered."""
        groups = self.unanswered.recent(days)
        return digest_message(groups, days) if groups else None

    async def post_digest(self) -> bool:
        """Post the digest to DOCQA_DISCORD_DIGEST_CHANNEL; whether something was posted."""
        channel_id = self.settings.discord_digest_channel
        if not channel_id:
            return False
        text = await asyncio.to_thread(self.digest)
        if text is None:
            return False
        channel = self.get_channel(channel_id)
        if channel is None:
            try:
                channel = await self.fetch_channel(channel_id)
            except discord.HTTPException:
                log.warning("cannot find the digest channel %s", channel_id, exc_info=True)
                return False
        return await self._send(channel, text=text) is not None

    async def _weekly_digest(self) -> None:
        """Post the digest once every DIGEST_DAYS days (the date of the last one is kept
        in the data folder, so a restart does not post it again)."""
        state = self.settings.data_dir / "discord-digest.json"
        await self.wait_until_ready()
        while True:
            now = datetime.now(timezone.utc)
            try:
                last = datetime.fromisoformat(json.loads(state.read_text(encoding="utf-8"))["last"])
            except (OSError, ValueError, KeyError, TypeError):
                last = None
            if last is None or now - last >= timedelta(days=DIGEST_DAYS):
                if last is not None:
                    try:
                        await self.post_digest()
                    except Exception:
                        log.exception("could not post the digest")
                try:
                    state.parent.mkdir(parents=True, exist_ok=True)
                    state.write_text(json.dumps({"last": now.isoformat()}) + "\n", encoding="utf-8")
                except OSError:
                    log.warning("could not record the digest date in %s", state, exc_info=True)
            await asyncio.sleep(3600)

    # -- following the folders -----------------------------------------------------------

    async def _follow_folders(self) -> None:
        """Check every followed folder for changes and swap in their new index; each check
        runs in a thread with the garbage collector paused (see ``rebuilds.py``)."""
        lives = [f for f in self.folders.all() if f.live is not None and f.live.interval > 0]
        interval = min(f.live.interval for f in lives if f.live is not None)
        while True:
            await asyncio.sleep(interval)
            for folder in lives:
                assert folder.live is not None  # narrowed above; for the type checker
                try:
                    report = await off_loop(folder.live.check)
                except DocqaError as exc:
                    log.warning("documents changed in %s but the index was kept: %s", folder.name, exc)
                    continue
                except Exception:  # a poller that dies silently would be worse
                    log.exception("reindexing %s failed; keeping the current index", folder.name)
                    continue
                if report is not None:
                    log.info("documents changed in %s: %s", folder.name, report.line())

    # -- buttons -----------------------------------------------------------------------

    async def show_passage(
        self, interaction: discord.Interaction, n: int, chunk_id: int, digest: str
    ) -> None:
        folder = self.folders.for_channel(interaction.channel)
        chunks = folder.engine.index.chunks
        chunk = chunks[chunk_id] if 0 <= chunk_id < len(chunks) else None
        if chunk is None or passage_digest(chunk.text) != digest:
            await self._say_privately(interaction, STALE_PASSAGE)
            return
        # the file may have changed since it was indexed: flag it, as an answer would
        (passage,) = folder.engine.mark_stale([Passage.from_chunk(chunk)])
        url = await asyncio.to_thread(folder.links, passage) if folder.links else None
        await interaction.response.send_message(
            embed=passage_embed(n, passage, url), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    # -- /reindex ----------------------------------------------------------------------

    def may_reindex(
        self, user_id: int, permissions: discord.Permissions | None, guild_id: int | None
    ) -> bool:
        """Owners, and members with Manage Server in a server the bot may be in."""
        if user_id in self.settings.discord_owner_ids:
            return True
        return (
            guild_id is not None
            and self.guild_allowed(guild_id)
            and permissions is not None
            and permissions.manage_guild
        )

    async def reindex_from_interaction(self, interaction: discord.Interaction) -> None:
        permissions = interaction.permissions if interaction.guild_id is not None else None
        if not self.may_reindex(interaction.user.id, permissions, interaction.guild_id):
            await self._say_privately(interaction, NOT_ALLOWED_TO_REINDEX)
            return
        folder = self.folders.for_channel(interaction.channel)
        if folder.reindexing.locked():
            await self._say_privately(interaction, REINDEX_RUNNING)
            return
        async with folder.reindexing:
            await interaction.response.defer(ephemeral=True, thinking=True)
            text = await self.reindex(folder)
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def reindex(self, folder: Folder | None = None) -> str:
        """Rebuild off the event loop and swap the engine in; the report for the user."""
        folder = folder or self.folders.default
        before = folder.engine.sources()
        started = time.perf_counter()
        try:
            if folder.live is not None:
                await off_loop(folder.live.check, True)
            else:
                rebuild = folder.rebuild or (lambda: rebuild_from_settings(self.settings))
                folder.swap(await off_loop(rebuild))
        except DocqaError as exc:
            log.warning("reindex of %s failed: %s", folder.name, exc)
            return reindex_failed_message(exc)
        except Exception:
            log.exception("reindex of %s failed", folder.name)
            return reindex_failed_message(None)
        seconds = time.perf_counter() - started
        engine = folder.engine
        log.info("reindexed %s in %.1f s: %d documents", folder.name, seconds, len(engine.sources()))
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
            await self._say_privately(interaction, APOLOGY)
        except Exception:  # the interaction may have expired; the log already has the cause
            log.warning("could not send the apology", exc_info=True)

    async def _say_privately(self, interaction: discord.Interaction, text: str) -> None:
        """A short text for the user. Before any response it is ephemeral. After a public
        "thinking…" Discord would make the first followup public whatever it asks, so
        that message (which was to hold the answer) is edited into the text instead: the
        one message everyone saw, never a second, surprising one."""
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        elif interaction.extras.get(PUBLIC_DEFER):
            await interaction.edit_original_response(
                content=text, embed=None, view=None, allowed_mentions=NO_MENTIONS
            )
        else:
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)


def create_bot(
    settings: Settings,
    engine: Engine | LiveIndex,
    *,
    rebuild: Callable[[], Engine] | None = None,
    clock: Callable[[], float] = time.monotonic,
    links: LinkMaker | None = None,
    channel_folders: Mapping[int, Folder] | None = None,
    force_sync: bool = False,
) -> DocqaBot:
    """The bot, ready to ``start(token)``.

    ``engine`` answers from DOCQA_DOCS_DIR: with a ``LiveIndex`` the bot follows the
    folder (polling while it runs) and ``/reindex`` forces a rebuild; with a plain
    ``Engine``, ``/reindex`` swaps in what ``rebuild`` makes (default: index
    ``settings.docs_dir`` again). ``links`` turns its citations into published URLs;
    ``channel_folders`` maps channel, forum or category ids to other folders. ``clock``
    drives the cooldown; ``force_sync`` syncs the slash commands even if unchanged.
    """
    default = Folder(str(settings.docs_dir), engine, links=links, rebuild=rebuild)
    return DocqaBot(
        settings, Folders(default, channel_folders), clock=clock, force_sync=force_sync
    )


def run_bot(
    settings: Settings,
    engine: Engine | LiveIndex,
    token: str,
    rebuild: Callable[[], Engine] | None = None,
    **options: Any,
) -> None:
    """Run until interrupted or sent SIGTERM (a service stop): both stop cleanly, letting
    answers in flight finish. Raises discord.LoginFailure for a token Discord rejects."""

    async def main() -> None:
        async with create_bot(settings, engine, rebuild=rebuild, **options) as bot:
            stop_on_signals(bot)
            await bot.start(token)

    asyncio.run(main())


def stop_on_signals(bot: DocqaBot, signals: tuple[int, ...] = (signal.SIGTERM,)) -> None:
    """Close ``bot`` cleanly on ``signals`` (SIGTERM from systemd, Docker, Kubernetes);
    Ctrl-C already cancels the run, which closes it the same way."""
    loop = asyncio.get_running_loop()
    for signum in signals:
        try:
            loop.add_signal_handler(
                signum, bot.request_stop, f"received {signal.Signals(signum).name}"
            )
        except (NotImplementedError, RuntimeError):  # not on this platform or thread
            log.debug("cannot handle signal %s here", signum)
