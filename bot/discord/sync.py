"""Syncing slash commands only when they changed.

discord.py's guidance is to sync when the command set changes, not at every start: a sync
is rate-limited, and a failed one should not stop the bot. The bot keeps, in the data
folder, a hash of the payload it last synced for each application and target (a server
or global), and syncs again only when the hash differs or ``docqa discord --sync`` asks.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

STATE_FILE = "discord-commands.json"


def payload_hash(payload: list[dict[str, Any]]) -> str:
    """A hash of the commands as they would be sent to Discord."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sync_key(application_id: int | None, guild_id: int | None) -> str:
    return f"{application_id}:{guild_id if guild_id else 'global'}"


class SyncState:
    """The hash last synced for each ``application:target``, in ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / STATE_FILE

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # missing or damaged: the next start syncs and writes it anew
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def synced(self, key: str) -> str | None:
        return self._read().get(key)

    def remember(self, key: str, digest: str) -> None:
        data = self._read()
        data[key] = digest
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)
