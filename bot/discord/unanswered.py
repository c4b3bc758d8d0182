"""What the bot did not answer well: the abstention log and the feedback log, written the
careful way ``logs.py`` describes, and read back for the weekly digest.

Everything here blocks on the disk: the bot calls it off the event loop.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bot.discord.format import Vote, abstention_record, feedback_record
from bot.discord.logs import JsonLinesLog, installation_secret, pseudonym
from bot.discord.report import Group, collect, group
from index.models import Answer

ABSTENTION_LOG = "abstained.jsonl"


class Unanswered:
    """The two logs of one installation (the abstention log lives in ``data_dir``)."""

    def __init__(self, data_dir: Path, feedback_log: Path) -> None:
        self.data_dir = data_dir
        self.feedback = JsonLinesLog(feedback_log)
        self.abstentions = JsonLinesLog(data_dir / ABSTENTION_LOG)
        self._secret: bytes | None = None
        self._lock = threading.Lock()
        self._votes: OrderedDict[tuple[str, str], Vote] = OrderedDict()

    def pseudonym(self, user_id: int) -> str:
        """The user as the logs keep them (the secret is read or made on first use)."""
        with self._lock:
            if self._secret is None:
                self._secret = installation_secret(self.data_dir)
            return pseudonym(self._secret, user_id)

    def note(self, answer: Answer, via: str, user_id: int, link: str, docs: str) -> None:
        """Append a question the bot did not answer."""
        record = abstention_record(
            answer, via, self.pseudonym(user_id), datetime.now(timezone.utc), link, docs
        )
        self.abstentions.append(record)

    def vote(self, parts: dict[str, Any], vote: Vote, user_id: int, link: str, docs: str) -> bool:
        """Append a 👍/👎 on the answer ``parts`` (its embed, as a dictionary); False, and
        nothing written, when this person already voted that way on that answer."""
        user = self.pseudonym(user_id)
        with self._lock:
            if self._votes.get((user, link)) == vote:
                return False
            self._votes[(user, link)] = vote
            while len(self._votes) > 10_000:
                self._votes.popitem(last=False)
        self.feedback.append(feedback_record(parts, vote, user, datetime.now(timezone.utc), link, docs))
        return True

    def recent(self, days: int) -> list[Group]:
        """The last ``days`` days' questions to review, grouped (``docqa report``'s)."""
        since = datetime.now(timezone.utc) - timedelta(days=days)
        return group(collect(self.abstentions.records(), self.feedback.records(), since=since))
