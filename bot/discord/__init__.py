"""The Discord adapter: ``bot`` routes events and commands, ``format`` builds every reply as a
pure function of an ``Answer``, ``command`` is ``docqa discord``.

discord.py is an extra: ``bot.discord.command`` imports without it, and the names below are
imported from ``bot`` and ``format`` only when first used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "DocqaBot": "bot.discord.bot",
    "create_bot": "bot.discord.bot",
    "run_bot": "bot.discord.bot",
    "answer_embed": "bot.discord.format",
    "passage_embed": "bot.discord.format",
    "sources_embed": "bot.discord.format",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'bot.discord' has no attribute {name!r}")
    return getattr(import_module(module), name)
