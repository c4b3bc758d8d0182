"""Which documents folder answers where: one index per folder, chosen by channel.

``DOCQA_DISCORD_CHANNEL_DOCS`` maps a channel, a forum or a category to a folder, so one
bot serves several products. A message is answered from the most specific match: its
channel (or thread), the thread's parent channel or forum, then the category; anything
unmatched from ``DOCQA_DOCS_DIR``. Each folder has its own live index (followed for
changes), its own ``/sources`` and ``/reindex``, and its own published URL for links.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from index.live import LiveIndex
from index.models import Answer, Passage
from index.retrieval import Engine

LinkMaker = Callable[[Passage], str]


class Folder:
    """One documents folder: its engine (a ``LiveIndex`` it follows, or a plain ``Engine``
    that ``/reindex`` replaces with what ``rebuild`` makes) and its citation links."""

    def __init__(
        self,
        name: str,
        engine: Engine | LiveIndex,
        links: LinkMaker | None = None,
        rebuild: Callable[[], Engine] | None = None,
    ) -> None:
        self.name = name
        self.live = engine if isinstance(engine, LiveIndex) else None
        self._engine = engine.current if isinstance(engine, LiveIndex) else engine
        self.links = links
        self.rebuild = rebuild
        self.reindexing = asyncio.Lock()

    @property
    def engine(self) -> Engine:
        """The engine in service; take it once per question, so a swap while it is being
        answered leaves it on the old index."""
        return self.live.current if self.live is not None else self._engine

    def swap(self, engine: Engine) -> None:
        self._engine = engine

    def link_map(self, answer: Answer) -> dict[int, str]:
        """Each passage number's published page (reads front matter: call off the loop)."""
        if self.links is None:
            return {}
        return {n: self.links(p) for n, p in enumerate(answer.passages, start=1)}


def channel_ids(channel: Any) -> list[int]:
    """The ids a channel answers to, most specific first: itself, a thread's parent
    channel or forum, then the category."""
    parent = getattr(channel, "parent", None)
    found = [
        getattr(channel, "id", None),
        getattr(channel, "parent_id", None),
        getattr(channel, "category_id", None),
        getattr(parent, "category_id", None),
    ]
    return [i for i in dict.fromkeys(found) if isinstance(i, int)]


class Folders:
    """The default folder and the ones mapped to channels, forums or categories."""

    def __init__(self, default: Folder, by_id: Mapping[int, Folder] | None = None) -> None:
        self.default = default
        self.by_id = dict(by_id or {})

    def for_channel(self, channel: Any) -> Folder:
        for channel_id in channel_ids(channel):
            folder = self.by_id.get(channel_id)
            if folder is not None:
                return folder
        return self.default

    def all(self) -> list[Folder]:
        """Every folder once, the default first."""
        folders = {id(self.default): self.default}
        for folder in self.by_id.values():
            folders.setdefault(id(folder), folder)
        return list(folders.values())
