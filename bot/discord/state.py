"""What the bot remembers between messages: each user's cooldown, the conversations of
threads and reply chains, and the questions being answered now (the load cap)."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from index.retrieval import Conversation

ConversationKey = tuple[str, int]


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


class Answering:
    """The questions being answered now: at most ``limit`` at once, and none once the bot
    is stopping; :meth:`drain` lets those in flight finish, then cancels the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.tasks: set[asyncio.Task[Any]] = set()
        self.closed = False

    def enter(self) -> bool:
        task = asyncio.current_task()
        if self.closed or len(self.tasks) >= self.limit or task is None:
            return False
        self.tasks.add(task)
        return True

    def leave(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.tasks.discard(task)

    async def drain(self, timeout: float) -> tuple[int, int]:
        """Stop taking questions; wait up to ``timeout`` s; (finished, cancelled)."""
        self.closed = True
        pending = set(self.tasks)
        if not pending:
            return 0, 0
        done, late = await asyncio.wait(pending, timeout=timeout)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        return len(done), len(late)
