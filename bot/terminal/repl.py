"""The interactive REPL: questions in, cited answers out, with a few ``:`` commands."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.settings import Settings
from bot.terminal.format import (
    format_answer,
    format_explain,
    format_lines,
    format_sources,
    passage_header,
)
from index.errors import DocqaError
from index.live import LiveIndex
from index.models import Answer
from index.retrieval import Conversation, Engine

log = logging.getLogger("docqa.repl")

COMMANDS: dict[str, str] = {
    ":help": "show this help",
    ":sources": "list the indexed documents and their chunk counts",
    ":k N": "show N passages per answer",
    ":open N": "show passage N of the last answer with the lines around it in its file",
    ":explain N": "show how much each question word added to passage N's score",
    ":reset": "forget the conversation (follow-ups lean on earlier questions until then)",
    ":quit": "leave (Ctrl-D works too; Ctrl-C cancels the line)",
}


def help_text() -> str:
    width = max(len(c) for c in COMMANDS)
    rows = [f"  {c:<{width}}  {d}" for c, d in COMMANDS.items()]
    return "Type a question, or a command:\n" + "\n".join(rows)


class Repl:
    """One REPL session over an engine. ``read`` and ``out`` are swappable for tests."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        read: Callable[[str], str] = input,
        out: TextIO | None = None,
        color: bool | None = None,
        live: LiveIndex | None = None,
    ) -> None:
        self.engine = engine
        self.live = live if live is not None and settings.reindex_interval_s > 0 else None
        self.settings = settings
        self.read = read
        self.out = out or sys.stdout
        self.color = self.out.isatty() if color is None else color
        self.k = settings.k
        self.conversation = Conversation(settings.conversation_turns)
        self.last: Answer | None = None
        self.last_history: tuple[str, ...] = ()

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def run(self) -> int:
        history = self._setup_history()
        sources = self.engine.sources()
        count = sum(s.chunks for s in sources)
        docs = f"{len(sources)} document{'s' if len(sources) != 1 else ''}"
        self.say(
            f"docqa: {docs}, {count} chunks from "
            f"{self.settings.docs_dir}. Ask a question; :help for commands, :quit to leave."
        )
        try:
            while True:
                try:
                    line = self.read("? ")
                except KeyboardInterrupt:
                    self.say("")  # Ctrl-C cancels the line, not the session
                    continue
                except EOFError:
                    self.say("")
                    return 0
                if not self.handle(line):
                    return 0
        finally:
            if history is not None:
                history()

    def handle(self, line: str) -> bool:
        """Handle one input line; False when the session should end."""
        line = line.strip()
        if not line:
            return True
        if line.startswith(":"):
            return self.command(line)
        self._follow_documents()
        try:
            history = self.conversation.history
            answer = self.engine.ask(line, k=self.k, history=history)
        except DocqaError as exc:
            self.say(f"! {exc}")
            return True
        self.conversation.add(line)
        self.last, self.last_history = answer, history
        self.say(format_answer(answer, color=self.color))
        return True

    def _follow_documents(self) -> None:
        """Swap in a new index when the documents changed (checked at most every
        DOCQA_REINDEX_INTERVAL_S seconds)."""
        if self.live is None:
            return
        report = self.live.check_if_due()
        if report is not None:
            self.engine = self.live.current
            self.say(f"(documents changed: {report.line()})")

    def command(self, line: str) -> bool:
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        if name in (":quit", ":q", ":exit"):
            return False
        if name == ":help":
            self.say(help_text())
        elif name == ":sources":
            self.say(format_sources(self.engine.sources()))
        elif name == ":reset":
            self.conversation.clear()
            self.say("Conversation cleared: the next question starts afresh.")
        elif name == ":k":
            if not arg.isdigit() or not 1 <= int(arg) <= 100:
                self.say("! usage: :k N, with N from 1 to 100")
            else:
                self.k = int(arg)
                self.say(f"Showing {self.k} passages per answer.")
        elif name in (":open", ":explain"):
            self._passage_command(name, arg)
        else:
            self.say(f"! unknown command {name}: :help lists the commands")
        return True

    def _passage_command(self, name: str, arg: str) -> None:
        if self.last is None or not self.last.passages:
            self.say("! no passages yet: ask a question first")
            return
        count = len(self.last.passages)
        if not arg.isdigit() or not 1 <= int(arg) <= count:
            self.say(f"! usage: {name} N, with N from 1 to {count}")
            return
        n = int(arg)
        passage = self.last.passages[n - 1]
        if name == ":open":
            self.say(passage_header(n, passage))
            self.say(format_lines(self.engine.source_lines(passage), self.color))
        else:
            rows = self.engine.explain(self.last.question, passage.chunk_id, self.last_history)
            self.say(format_explain(n, passage, rows))

    def _setup_history(self) -> Callable[[], None] | None:
        """Line editing and a history file, when readline exists and this is a terminal."""
        if self.read is not input or not sys.stdin.isatty():
            return None
        try:
            import readline
        except ImportError:  # Windows without pyreadline: plain input still works
            return None
        path = Path(self.settings.history_file).expanduser()
        try:
            readline.read_history_file(path)
        except (FileNotFoundError, OSError):
            pass
        readline.set_history_length(1000)

        def save() -> None:
            try:
                readline.write_history_file(path)
            except OSError as exc:
                log.warning("could not save the REPL history to %s: %s", path, exc)

        return save
