"""The bot's two logs of what went unanswered: 👍/👎 votes (the feedback log) and the
questions it abstained on (the abstention log), both JSON Lines that ``docqa report`` reads.

They hold other people's questions, so each is written the same careful way:

- a user is stored as a keyed hash (HMAC-SHA256) under a secret made once per
  installation and kept in the data folder (owner-only); without the secret, hashing a
  server's member list does not recover who voted;
- user and role mentions are removed from the stored question (``@user``, ``@role``);
- the files are created owner-only (0600), and one found more open is narrowed;
- past :data:`MAX_LOG_BYTES` a file is renamed to ``NAME.1`` (replacing the one before),
  so a log never takes more than twice that.

Nothing here imports discord.py: ``docqa report`` reads the logs without it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger("docqa.discord")

SECRET_FILE = "log-secret"
MAX_LOG_BYTES = 10 * 2**20
OWNER_ONLY = 0o600

_USER_MENTION = re.compile(r"<@!?[0-9]+>")
_ROLE_MENTION = re.compile(r"<@&[0-9]+>")


def installation_secret(data_dir: Path) -> bytes:
    """The secret the logs' user hashes are keyed with: read from ``data_dir``, made
    (32 random bytes, owner-only) the first time. Two processes starting together agree:
    the file is created exclusively, and the loser reads the winner's."""
    path = data_dir / SECRET_FILE
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
    except FileExistsError:
        return _read_secret(path)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(32) + "\n")
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    if len(text) < 32:
        raise ValueError(f"{path} is too short to be docqa's log secret: delete it to make a new one")
    return text.encode("ascii")


def pseudonym(secret: bytes, user_id: int) -> str:
    """A user id as the logs keep it: enough to count one person's votes once, no more."""
    return hmac.new(secret, str(user_id).encode("ascii"), hashlib.sha256).hexdigest()[:32]


def scrub(text: str) -> str:
    """``text`` without user and role mentions (they name someone other than the asker)."""
    return _ROLE_MENTION.sub("@role", _USER_MENTION.sub("@user", text))


def message_link(guild_id: int | None, channel_id: int, message_id: int) -> str:
    """The link that opens a message in Discord (``@me`` for a direct message)."""
    return f"https://discord.com/channels/{guild_id or '@me'}/{channel_id}/{message_id}"


class JsonLinesLog:
    """An append-only JSON Lines file, owner-only and bounded by rotation."""

    def __init__(self, path: Path, max_bytes: int = MAX_LOG_BYTES) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()  # lines stay whole when votes arrive together

    @property
    def previous(self) -> Path:
        return self.path.with_name(self.path.name + ".1")

    def append(self, record: dict[str, Any]) -> None:
        """Append one record (raises OSError; callers log it, users never see it)."""
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                size = self.path.stat().st_size
            except FileNotFoundError:
                size = 0
            if size and size + len(line) > self.max_bytes:
                os.replace(self.path, self.previous)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, OWNER_ONLY)
            try:
                if os.fstat(fd).st_mode & 0o077:
                    os.fchmod(fd, OWNER_ONLY)  # a file an older docqa made readable by all
                os.write(fd, line)
            finally:
                os.close(fd)

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record, oldest first (the rotated file, then the current one); a line
        that is not a JSON object (a write cut short) is skipped."""
        for path in (self.previous, self.path):
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                continue
            for line in text.splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict):
                    yield record
