"""The terminal adapters: ``docqa ask`` (one question, its answer and passages) and the REPL.

``format`` holds the pure formatters (an ``Answer`` to text or JSON), ``repl`` the
interactive loop, ``commands`` the two subcommands.
"""

from bot.terminal.format import answer_json, format_answer, format_passage, format_sources
from bot.terminal.repl import COMMANDS, Repl

__all__ = ["COMMANDS", "Repl", "answer_json", "format_answer", "format_passage", "format_sources"]
