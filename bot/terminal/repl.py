"""The interactive REPL: questions in, cited answers out, with a few ``:`` commands."""

from __future__ import annotations

import logging
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.printable import printable, typed
from bot.settings import Settings
from bot.terminal.format import (
    format_answer,
    format_explain,
    format_lines,
    format_sources,
    passage_header,
    use_color,
    wrap,
)
from index.citations import verify_citation
from index.errors import DocqaError
from index.live import LiveIndex
from index.models import Answer
from index.retrieval import Conversation, Engine

log = logging.getLogger("docqa.repl")

COMMANDS: dict[str, str] = {
    ":help": "show this help",
    ":sources": "list the indexed documents and their chunk counts",
    ":k N": "search N passages per answer (its own are shown in full, the others listed)",
    ":open N": "show passage N of the last answer in its file, the cited text marked",
    ":explain N": "show how much each question word added to passage N's score",
    ":reset": "forget the conversation (follow-ups lean on earlier questions until then)",
    ":quit": "leave (so do quit, exit and Ctrl-D; Ctrl-C cancels the line)",
}

# typed alone, these leave rather than being searched as a question
LEAVE = {"quit", "exit", ":quit", ":q", ":exit"}
_NUMBER = re.compile(r"[0-9]+")  # ASCII digits: str.isdigit() also takes "²", which int() refuses


@dataclass(frozen=True)
class Turn:
    """The last answer with what it was made from: the engine (the index may be swapped
    since) and the conversation it followed, so :open and :explain speak of that answer."""

    answer: Answer
    engine: Engine
    history: tuple[str, ...]


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
        width: int | None = None,
    ) -> None:
        self.engine = engine
        self.live = live if live is not None and settings.reindex_interval_s > 0 else None
        self.settings = settings
        self.read = read
        self.out = out or sys.stdout
        self.color = use_color(self.out) if color is None else color
        self._width = width
        self.k = settings.k
        self.conversation = Conversation(settings.conversation_turns)
        self.last: Turn | None = None

    @property
    def width(self) -> int | None:
        """The width to wrap at: the terminal's, read at each answer (it may be resized);
        None (no wrapping) when the output is not a terminal."""
        if self._width is not None:
            return self._width
        return shutil.get_terminal_size().columns if self.out.isatty() else None

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def welcome(self) -> str:
        """The first line: what is indexed, from which folder, and where the index is kept."""
        sources = self.engine.sources()
        count = sum(s.chunks for s in sources)
        docs = f"{len(sources)} document{'s' if len(sources) != 1 else ''}"
        skipped = len(self.engine.index.skipped)
        skips = f" ({skipped} file{'s' if skipped != 1 else ''} skipped: :sources lists them)"
        folder = printable(_shown(self.settings.docs_dir), newlines=False)
        data = printable(_shown(self.settings.data_dir), newlines=False)
        chunks = f"{count} chunk{'s' if count != 1 else ''}"
        return (
            f"docqa: {docs}, {chunks} from {folder}{skips if skipped else ''}; index in {data}. "
            "Ask a question; :help for commands, :quit to leave."
        )

    def run(self) -> int:
        history = self._setup_history()
        self.say("\n".join(wrap(self.welcome(), self.width)))
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
                except UnicodeDecodeError:
                    self.say("! that line was not UTF-8 text: type it again")
                    continue
                if not self.handle(line):
                    return 0
        finally:
            if history is not None:
                history()

    def handle(self, line: str) -> bool:
        """Handle one input line; False when the session should end."""
        line = typed(line).strip()
        if not line:
            return True
        if line.lower() in LEAVE:
            return False
        if line.startswith(":"):
            return self.command(line)
        self._follow_documents()
        engine = self.engine  # the whole question runs on one index, even if one is swapped in
        try:
            history = self.conversation.history
            answer = engine.ask(line, k=self.k, history=history)
        except DocqaError as exc:
            self.say(f"! {printable(str(exc), newlines=False)}")
            return True
        self.conversation.add(line, answer)
        self.last = Turn(answer, engine, history)
        self.say(format_answer(answer, color=self.color, width=self.width, brief=True))
        return True

    def _follow_documents(self) -> None:
        """Swap in a new index when the documents changed (checked at most every
        DOCQA_REINDEX_INTERVAL_S seconds)."""
        if self.live is None:
            return
        report = self.live.check_if_due()
        if report is not None:
            self.engine = self.live.current
            self.say(f"(documents changed: {printable(report.line(), newlines=False)})")

    def command(self, line: str) -> bool:
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        if name in (":quit", ":q", ":exit"):
            return False
        if name == ":help":
            self.say("\n".join(wrap(help_text(), self.width)))
        elif name == ":sources":
            self._follow_documents()  # list what is there now, not what was at the last question
            listing = format_sources(self.engine.sources(), self.engine.index.skipped)
            self.say("\n".join(wrap(listing, self.width)))
        elif name == ":reset":
            self.conversation.clear()
            self.say("Conversation cleared: the next question starts afresh.")
        elif name == ":k":
            if not _NUMBER.fullmatch(arg) or not 1 <= int(arg) <= 100:
                self.say("! usage: :k N, with N from 1 to 100")
            else:
                self.k = int(arg)
                self.say(f"Showing {self.k} passages per answer.")
        elif name in (":open", ":explain"):
            self._passage_command(name, arg)
        else:
            name = printable(name, newlines=False)
            self.say(f"! unknown command {name}: :help lists the commands")
        return True

    def _passage_command(self, name: str, arg: str) -> None:
        if self.last is None or not self.last.answer.passages:
            self.say("! no passages yet: ask a question first")
            return
        turn = self.last
        count = len(turn.answer.passages)
        if not _NUMBER.fullmatch(arg) or not 1 <= int(arg) <= count:
            self.say(f"! usage: {name} N, with N from 1 to {count}")
            return
        n = int(arg)
        passage = turn.answer.passages[n - 1]
        if name == ":explain":
            rows = turn.engine.explain(turn.answer.question, passage.chunk_id, turn.history)
            self.say(format_explain(n, passage, rows))
            return
        self.say(passage_header(n, passage))
        rows = turn.engine.source_lines(passage)
        if rows is not None and not verify_citation(turn.engine.index.root, passage):
            # the file changed since it was indexed: its lines now hold other text
            self.say(
                f"! {printable(passage.source, newlines=False)} changed since it was "
                "indexed: these lines no longer hold the cited text (ask again for a "
                "fresh answer)"
            )
            rows = [(number, text, None) for number, text, _ in rows]
        self.say(format_lines(rows, self.color, self.width))

    def _setup_history(self) -> Callable[[], None] | None:
        """Line editing and a history file, when readline exists and this is a terminal."""
        if self.read is not input:
            return None
        if hasattr(sys.stdin, "reconfigure"):
            # a line that is not UTF-8 is read with U+FFFD in place of its bad bytes
            sys.stdin.reconfigure(errors="replace")
        if not sys.stdin.isatty():
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


def _shown(path: Path) -> str:
    """A folder as the start line names it: as given when relative, else with ``~`` for
    the home folder."""
    if not path.is_absolute():
        return str(path)
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except (ValueError, RuntimeError):  # not under home, or no home
        return str(path)
