"""Every setting of docqa, read from ``DOCQA_*`` environment variables and ``.env``.

This is the one place configuration is read; ``.env.example`` lists every field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from index.chunking import ChunkingConfig
from index.retrieval import EngineConfig


class SettingsError(Exception):
    """A setting has an invalid value; the message names it."""


class Settings(BaseSettings):
    """docqa's settings. Environment variables are the field names, upper case, prefixed
    ``DOCQA_`` (``DOCQA_DOCS_DIR``); command-line flags override them."""

    model_config = SettingsConfigDict(
        env_prefix="DOCQA_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    docs_dir: Path = Field(Path("seeds"), description="folder of documents to answer from")
    data_dir: Path = Field(Path(".docqa"), description="where the saved index is kept")
    k: int = Field(5, ge=1, le=100, description="passages retrieved and shown per question")
    chunk_size: int = Field(600, ge=50, le=20_000, description="largest chunk, in characters")
    chunk_overlap: int = Field(
        150, ge=0, description="characters of whole sentences a chunk repeats from the one before"
    )
    abstain_threshold: float = Field(
        0.45, ge=0.0, le=1.0, description="answer only when the best passage holds this share "
        "of the question's informative words (0 never abstains)"
    )
    max_question_chars: int = Field(2000, ge=10, description="longest question accepted")
    followup_weight: float = Field(
        0.5, ge=0.0, le=1.0, description="weight of the earlier turns' words in a follow-up"
    )
    conversation_turns: int = Field(
        3, ge=0, le=50, description="earlier questions a conversation remembers"
    )
    reindex_interval_s: float = Field(
        5.0, ge=0.0, description="seconds between checks of the documents folder for "
        "changes in the REPL and the Discord bot (0 turns it off)"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "WARNING", description="how much the adapters log"
    )
    history_file: Path = Field(
        Path("~/.docqa_history"), description="the REPL's line history"
    )

    # Discord (see bot/discord/bot.py and the README's Discord section)
    discord_token: SecretStr | None = Field(None, description="the bot's token")
    discord_app_id: int | None = Field(
        None, description="the application id, for --invite-url (read from the token if unset)"
    )
    discord_guild_id: int | None = Field(
        None, description="a development server: commands sync there at once (else globally)"
    )
    # NoDecode: a comma-separated "1,2" reads better in .env than the JSON list pydantic wants
    discord_channels: Annotated[list[int], NoDecode] = Field(
        default_factory=list, description="channel ids the bot answers in (empty: all it can see)"
    )
    discord_dms: bool = Field(False, description="answer direct messages")
    discord_threads: bool = Field(False, description="answer a mention in a new thread")
    discord_cooldown_s: float = Field(
        5.0, ge=0, le=3600, description="seconds a user waits between questions (0: none)"
    )
    discord_owner_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list, description="user ids allowed to /reindex besides Manage Server"
    )
    discord_feedback_log: Path = Field(
        Path(".docqa/feedback.jsonl"), description="JSON Lines file the feedback buttons append to"
    )

    @field_validator("discord_app_id", "discord_guild_id", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # .env.example leaves these empty; an empty id means "not set", not a bad integer
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("discord_channels", "discord_owner_ids", mode="before")
    @classmethod
    def _comma_separated_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _check_chunking(self) -> Settings:
        self.chunking()  # reports an overlap not below the size with the setting's names
        return self

    def chunking(self) -> ChunkingConfig:
        try:
            return ChunkingConfig(chunk_size=self.chunk_size, chunk_overlap=self.chunk_overlap)
        except ValidationError as exc:
            raise ValueError(
                f"DOCQA_CHUNK_OVERLAP ({self.chunk_overlap}) must be smaller than "
                f"DOCQA_CHUNK_SIZE ({self.chunk_size})"
            ) from exc

    def engine(self) -> EngineConfig:
        return EngineConfig(
            k=self.k,
            abstain_threshold=self.abstain_threshold,
            max_question_chars=self.max_question_chars,
            followup_weight=self.followup_weight,
        )


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and ``.env``, with ``overrides`` on top.

    Raises SettingsError naming each invalid setting as its environment variable.
    """
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "settings"
            label = f"DOCQA_{name.upper()}" if err["loc"] else "settings"
            problems.append(f"{label}: {err['msg']}")
        raise SettingsError("invalid setting: " + "; ".join(problems)) from None
