"""Every setting of docqa, read from ``DOCQA_*`` environment variables and ``.env``.

This is the one place configuration is read; ``.env.example`` lists every field.

Where things are found, wherever docqa runs from (the README's "Settings" says the same):

- ``.env`` is the one in the current folder or, failing that, in the nearest folder above
  it (as git finds ``.git``): the **project folder**. Without one, the project folder is
  the current folder.
- A relative path is read from where it is written: one given on the command line or in
  an environment variable from the current folder (as the shell reads it); one in ``.env``,
  and a default (``seeds``), from the project folder.
- The saved index goes in a data folder that does not depend on where docqa runs:
  ``$XDG_CACHE_HOME/docqa`` (``~/.cache/docqa``) unless ``DOCQA_DATA_DIR`` says otherwise.

The values are gathered here (flags over the environment over ``.env``, names in any case,
as pydantic-settings reads them) and validated by one pydantic model. pydantic-settings
itself is not used: importing it costs a third of ``docqa ask``'s start (it imports
asyncio and every provider of its own), for what fits in ``_raw_values``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from index.chunking import ChunkingConfig
from index.retrieval import EngineConfig
from index.semantic import DEFAULT_MODEL

PREFIX = "DOCQA_"
# settings only one adapter reads: a bad value there stops that adapter, and is only a
# warning for the others (a typo in DOCQA_DISCORD_DMS must not break docqa ask)
ADAPTER_PREFIXES = ("discord_",)


class SettingsError(Exception):
    """A setting has an invalid value; the message names it."""


def find_env_file(start: Path | None = None) -> Path | None:
    """The ``.env`` of the current folder (or ``start``), else of the nearest folder above."""
    try:
        here = (start or Path.cwd()).resolve()
    except OSError:  # the current folder was deleted under us
        return None
    for folder in (here, *here.parents):
        candidate = folder / ".env"
        if candidate.is_file():
            return candidate
    return None


def default_data_dir() -> Path:
    """Where saved indexes go by default: the user's cache folder, so no ``.docqa/``
    appears in every folder docqa is run from."""
    base = os.environ.get("LOCALAPPDATA" if os.name == "nt" else "XDG_CACHE_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "docqa"


class Settings(BaseModel):
    """docqa's settings. Environment variables are the field names, upper case, prefixed
    ``DOCQA_`` (``DOCQA_DOCS_DIR``); command-line flags override them. ``load_settings``
    reads them; ``Settings(**values)`` is only the validation (and the defaults)."""

    # validate_default as pydantic-settings did: a default goes through the validators too
    model_config = ConfigDict(extra="ignore", validate_default=True)

    docs_dir: Path = Field(Path("seeds"), description="folder of documents to answer from")
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="where the saved index is kept (default: the user's cache folder)",
    )
    k: int = Field(5, ge=1, le=100, description="passages retrieved and shown per question")
    chunk_size: int = Field(800, ge=50, le=20_000, description="largest chunk, in characters")
    chunk_overlap: int = Field(
        200, ge=0, description="characters of whole sentences a chunk repeats from the one before"
    )
    abstain_threshold: float = Field(
        0.3, ge=0.0, le=1.0, description="answer only when the answer's confidence (the share "
        "of the question's informative words its best unit holds) reaches this (0 never abstains)"
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
    semantic: bool = Field(
        False, description="fuse BM25 with a local embedding model (needs pip install "
        "'docqa[semantic]'; the first start embeds every chunk)"
    )
    semantic_model: str = Field(
        DEFAULT_MODEL, description="the embedding model: a Hugging Face repository "
        "(downloaded once) or a folder holding model.onnx and tokenizer.json"
    )
    semantic_weight: float = Field(
        0.4, ge=0.0, le=1.0, description="share of BM25 in a passage's fused score (the "
        "rest is the semantic similarity)"
    )
    semantic_abstain_threshold: float = Field(
        0.4, ge=0.0, le=1.0, description="DOCQA_ABSTAIN_THRESHOLD when the semantic layer "
        "is on: its confidence also counts the answer's similarity to the question"
    )

    # Discord (see bot/discord/bot.py and the README's Discord section)
    discord_token: SecretStr | None = Field(None, description="the bot's token")
    discord_app_id: int | None = Field(
        None, description="the application id, for --invite-url (read from the token if unset)"
    )
    discord_guild_id: int | None = Field(
        None, description="a development server: commands sync there at once (else globally)"
    )
    # a comma-separated "1,2" reads better in .env than a JSON list (see _comma_separated_ids)
    discord_channels: list[int] = Field(
        default_factory=list, description="channel ids the bot answers in (empty: all it can see)"
    )
    discord_dms: bool = Field(False, description="answer direct messages")
    discord_threads: bool = Field(False, description="answer a mention in a new thread")
    discord_cooldown_s: float = Field(
        5.0, ge=0, le=3600, description="seconds a user waits between questions (0: none)"
    )
    discord_owner_ids: list[int] = Field(
        default_factory=list, description="user ids allowed to /reindex besides Manage Server"
    )
    discord_feedback_log: Path = Field(
        Path(".docqa/feedback.jsonl"), description="JSON Lines file the feedback buttons append to"
    )
    discord_guilds: list[int] = Field(
        default_factory=list,
        description="server ids the bot may be in; it leaves any other (empty: any server)",
    )
    discord_max_answers: int = Field(
        4, ge=1, le=100, description="questions answered at the same time; past it, "
        "'busy, try again in a moment'"
    )
    discord_message_content: bool = Field(
        False, description="ask for the Message Content intent (turn it on in the Developer "
        "Portal too): forum post bodies, ask-channel messages, follow-ups without a mention"
    )
    discord_auto_channels: list[int] = Field(
        default_factory=list,
        description="forum or text channels whose new posts are answered without a mention",
    )
    discord_auto_threshold: float = Field(
        0.7, ge=0.0, le=1.0, description="confidence an unprompted answer to a post needs "
        "(stricter than DOCQA_ABSTAIN_THRESHOLD)"
    )
    discord_auto_unanswered: Literal["silent", "say"] = Field(
        "silent", description="below the threshold, stay silent or say nothing was found"
    )
    discord_channel_docs: dict[int, Path] = Field(
        default_factory=dict,
        description="ID=FOLDER pairs: a channel, category or forum answered from its own folder",
    )
    discord_digest_channel: int | None = Field(
        None, description="channel the weekly digest of unanswered questions is posted to"
    )
    docs_url: str | None = Field(
        None, description="base URL of the published documents: citations link to their pages"
    )
    discord_docs_urls: dict[Path, str] = Field(
        default_factory=dict,
        description="FOLDER=URL pairs: the published URL of each per-channel documents folder",
    )

    # what load_settings had to say that is not an error (unknown names, ignored values)
    _warnings: list[str] = PrivateAttr(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return list(self._warnings)

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_any_case(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("docs_dir", "data_dir", mode="before")
    @classmethod
    def _empty_path_is_default(cls, value: object, info: Any) -> object:
        # `DOCQA_DATA_DIR=` (as .env.example leaves it) means the default, not "."
        if isinstance(value, str) and not value.strip():
            return cls.model_fields[info.field_name].get_default(call_default_factory=True)
        return value

    @field_validator(
        "discord_app_id", "discord_guild_id", "discord_digest_channel", "docs_url", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # .env.example leaves these empty; an empty id means "not set", not a bad integer
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "discord_channels", "discord_owner_ids", "discord_guilds", "discord_auto_channels",
        mode="before",
    )
    @classmethod
    def _comma_separated_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
        return value

    @field_validator("discord_channel_docs", "discord_docs_urls", mode="before")
    @classmethod
    def _comma_separated_pairs(cls, value: object) -> object:
        # "123=docs/a,456=docs/b": one KEY=VALUE per entry, split at the first "="
        if not isinstance(value, str):
            return value
        pairs = {}
        for part in value.replace(";", ",").split(","):
            if not part.strip():
                continue
            key, sep, item = part.partition("=")
            if not sep or not key.strip() or not item.strip():
                raise ValueError(f"expected KEY=VALUE pairs separated by commas, got {part.strip()!r}")
            pairs[key.strip()] = item.strip()
        return pairs

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

    @property
    def effective_threshold(self) -> float:
        """The abstention threshold in force: the semantic layer has its own."""
        return self.semantic_abstain_threshold if self.semantic else self.abstain_threshold

    @property
    def threshold_setting(self) -> str:
        """The name of the setting that holds ``effective_threshold``."""
        return "DOCQA_SEMANTIC_ABSTAIN_THRESHOLD" if self.semantic else "DOCQA_ABSTAIN_THRESHOLD"

    def engine(self) -> EngineConfig:
        return EngineConfig(
            k=self.k,
            abstain_threshold=self.effective_threshold,
            max_question_chars=self.max_question_chars,
            followup_weight=self.followup_weight,
            semantic_weight=self.semantic_weight,
        )


def _describe(error: Any) -> tuple[str, str]:
    """A pydantic error as (field name, "DOCQA_NAME (entry 2): what is wrong")."""
    loc = [str(p) for p in error["loc"]]
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if not loc:  # a check of several settings names them itself
        return "", message
    label = PREFIX + loc[0].upper()
    if len(loc) > 1 and loc[1].isdigit():
        label += f" (entry {int(loc[1]) + 1})"
    return loc[0], f"{label}: {message}"


def _read_names(
    env_file: Path | None,
) -> tuple[dict[str, str], dict[str, str], list[tuple[str, str]]]:
    """The settings' values in the environment and in ``env_file``, by field name (names
    in any case; a name without a value in ``.env`` is not set: pydantic-settings' rules),
    and every ``DOCQA_*`` name given, with where it was found."""
    sources: list[tuple[str, dict[str, str | None]]] = [("the environment", dict(os.environ))]
    if env_file is not None:
        from dotenv import dotenv_values

        sources.append((str(env_file), dotenv_values(env_file, encoding="utf-8")))
    found: list[dict[str, str]] = []
    given: list[tuple[str, str]] = []
    for where, variables in sources:
        given += [(name, where) for name in variables if name.upper().startswith(PREFIX)]
        lowered = {name.lower(): value for name, value in variables.items()}
        values = {}
        for name in Settings.model_fields:
            value = lowered.get(PREFIX.lower() + name)
            if value is not None:
                values[name] = value
        found.append(values)
    return found[0], found[1] if len(found) > 1 else {}, given


def _unknown_names(given: list[tuple[str, str]]) -> list[str]:
    """A warning for each DOCQA_* name docqa does not read, with the closest real one."""
    known = {name.upper() for name in Settings.model_fields}
    warnings = []
    for name, where in given:
        bare = name.upper().removeprefix(PREFIX)
        if bare in known:
            continue
        import difflib

        close = difflib.get_close_matches(bare, known, n=1, cutoff=0.7)
        hint = f"did you mean {PREFIX}{close[0]}?" if close else "see .env.example for the names"
        warnings.append(f"unknown setting {name} in {where} is ignored: {hint}")
    return warnings


def _place_paths(settings: Settings, env_file: Path | None, given: set[str]) -> dict[str, Path]:
    """Relative paths read from where they were written (see the module's docstring):
    those in ``given`` (flags) or the environment stay relative to the current folder, the
    others (``.env``, defaults) are put under the project folder."""
    project = env_file.parent if env_file is not None else None
    if project is not None and project == Path.cwd().resolve():
        project = None  # relative to the current folder already: keep them short to show
    environment = {name.upper() for name in os.environ}
    placed = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if not isinstance(value, Path):
            continue
        value = value.expanduser()
        from_here = name in given or (PREFIX + name.upper()) in environment
        if project is not None and not value.is_absolute() and not from_here:
            value = project / value
        placed[name] = value
    return placed


def load_settings(adapter: str | None = None, **overrides: object) -> Settings:
    """Settings from the environment and ``.env`` (see the module's docstring for which
    ``.env`` and how relative paths are read), with ``overrides`` on top.

    ``adapter`` names the adapter that runs ("discord"): an invalid value of a setting
    that only another adapter reads becomes a warning and its default. Warnings (those, and
    unknown ``DOCQA_*`` names, with the closest real one) are on ``settings.warnings``.

    Raises SettingsError naming each invalid setting as its environment variable.
    """
    clean = {k: v for k, v in overrides.items() if v is not None}
    env_file = find_env_file()
    from_env, from_file, given = _read_names(env_file)
    warnings = _unknown_names(given)
    fallback: dict[str, Any] = {}
    while True:
        try:
            # flags over the environment over .env (pydantic-settings' order)
            settings = Settings(**{**from_file, **from_env, **clean, **fallback})
            break
        except ValidationError as exc:
            problems = [_describe(e) for e in exc.errors()]
        # a setting of another adapter: warn, use its default, and try again
        others = [
            (name, text)
            for name, text in problems
            if name.startswith(ADAPTER_PREFIXES) and not name.startswith(f"{adapter}_")
            and name not in fallback
        ]
        if len(others) < len(problems) or not others:
            raise SettingsError("invalid setting: " + "; ".join(t for _, t in problems))
        for name, text in others:
            field = Settings.model_fields[name]
            fallback[name] = field.get_default(call_default_factory=True)
            user = name.split("_", 1)[0]
            warnings.append(f"{text} (ignored: only docqa {user} reads it)")
    placed = _place_paths(settings, env_file, set(clean))
    settings = settings.model_copy(update=placed)
    _check_data_dir(settings.docs_dir, settings.data_dir)
    settings._warnings = warnings
    return settings


def _check_data_dir(docs_dir: Path, data_dir: Path) -> None:
    """The data folder may not be read as documents: inside the documents folder it must
    sit under a hidden (dot) folder, which the loader passes over."""
    docs, data = docs_dir.resolve(), data_dir.resolve()
    if not data.is_relative_to(docs):
        return
    if any(part.startswith(".") for part in data.relative_to(docs).parts):
        return
    raise SettingsError(
        f"invalid setting: DOCQA_DATA_DIR ({data_dir}) is inside the documents folder "
        f"{docs_dir}, so the saved index would be read as documents: move it out, or give "
        "it a name that starts with a dot (such as .docqa), which docqa passes over"
    )
