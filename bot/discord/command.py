"""The ``docqa discord`` and ``docqa report`` subcommands. discord.py is imported only
when the bot runs, so the other commands (``report`` included) work without the
``[discord]`` extra installed."""

from __future__ import annotations

import argparse
import base64
import binascii
import logging
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.discord.folders import Folder, LinkMaker
from bot.discord.links import DocLinks, FrontMatter
from bot.discord.logs import JsonLinesLog
from bot.discord.report import collect, format_report, group, question_set_yaml
from bot.options import add_docs_option, build_live, positive_int
from bot.settings import Settings, SettingsError, load_settings

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LOG_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

PORTAL = "https://discord.com/developers/applications"
_TOKEN_PART = re.compile(r"[A-Za-z0-9_-]+")


def check_token(secret: SecretStr | None) -> str:
    """The token, or a SettingsError saying what is wrong with it. The token itself never
    appears in a message."""
    token = secret.get_secret_value().strip() if secret is not None else ""
    if not token:
        raise SettingsError(
            "DOCQA_DISCORD_TOKEN is not set: in the Developer Portal "
            f"({PORTAL}) open your application → Bot → Reset Token, and put the token in "
            ".env or the environment (see the README's Discord section)"
        )
    if any(c.isspace() or c in "'\"" for c in token):
        raise SettingsError(
            "DOCQA_DISCORD_TOKEN is malformed: it contains spaces or quotes; set the token "
            'alone, without "Bot " in front and without quotes'
        )
    parts = token.split(".")
    if len(parts) != 3 or not all(_TOKEN_PART.fullmatch(p) for p in parts):
        raise SettingsError(
            "DOCQA_DISCORD_TOKEN is malformed: a bot token is three parts separated by dots; "
            "copy it from your application → Bot → Reset Token (the client secret and the "
            "application id are something else)"
        )
    return token


def app_id_from_token(token: str) -> int | None:
    """The bot's id, which a token's first part encodes (base64 of the decimal id)."""
    first = token.split(".", 1)[0]
    try:
        text = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(text) if text.isdigit() else None


def application_id(settings: Settings) -> int:
    """DOCQA_DISCORD_APP_ID, else the id inside the token, else a SettingsError."""
    if settings.discord_app_id is not None:
        return settings.discord_app_id
    secret = settings.discord_token
    token = secret.get_secret_value().strip() if secret is not None else ""
    found = app_id_from_token(token) if token else None
    if found is None and token:
        raise SettingsError(
            "DOCQA_DISCORD_TOKEN is set but its first part does not hold an application id, "
            "so it is not a bot token: copy it again (your application → Bot → Reset Token), "
            "or set DOCQA_DISCORD_APP_ID (General Information → Application ID)"
        )
    if found is None:
        raise SettingsError(
            "set DOCQA_DISCORD_APP_ID to your application's id (Developer Portal → General "
            "Information → Application ID) or DOCQA_DISCORD_TOKEN to the bot's token"
        )
    return found


def _import_bot() -> Any:
    try:
        import bot.discord.bot as discord_bot
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] == "discord":
            return None
        raise
    return discord_bot


def setup_bot_logging(settings: Settings) -> logging.Handler:
    """One log for docqa and discord.py (its connects, resumes and rate limits): stderr,
    each line with its time, level and logger, at DOCQA_LOG_LEVEL (INFO unless set: a
    running bot shows its start-up and one line per question)."""
    import discord

    level = settings.log_level if "log_level" in settings.model_fields_set else "INFO"
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter(LOG_FORMAT, LOG_DATE_FORMAT)
    handler.setFormatter(formatter)
    docqa = logging.getLogger("docqa")
    docqa.handlers[:] = [handler]
    docqa.setLevel(level)
    docqa.propagate = False
    library = logging.getLogger("discord")
    library.handlers.clear()
    discord.utils.setup_logging(
        handler=handler, formatter=formatter, level=logging.getLevelName(level), root=False
    )
    library.propagate = False
    return handler


def _same_folder(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def doc_links(settings: Settings, folder: Path) -> LinkMaker | None:
    """Citation links for ``folder``: DOCQA_DISCORD_DOCS_URLS names its published URL, or
    DOCQA_DOCS_URL when it is DOCQA_DOCS_DIR; None when neither does."""
    base = next((url for path, url in settings.discord_docs_urls.items() if _same_folder(path, folder)), None)
    if base is None and settings.docs_url and _same_folder(folder, settings.docs_dir):
        base = settings.docs_url
    return DocLinks(base, FrontMatter(folder)) if base else None


def channel_folders(settings: Settings) -> dict[int, Folder]:
    """The folders of DOCQA_DISCORD_CHANNEL_DOCS, each opened once (several channels may
    share one) with its own live index; DOCQA_DOCS_DIR itself is the default folder."""
    opened: dict[Path, Folder] = {}
    mapped: dict[int, Folder] = {}
    for channel_id, folder in settings.discord_channel_docs.items():
        if _same_folder(folder, settings.docs_dir):
            continue  # the default folder answers there anyway
        key = folder.resolve()
        if key not in opened:
            own = settings.model_copy(update={"docs_dir": folder})
            opened[key] = Folder(str(folder), build_live(own), links=doc_links(settings, folder))
        mapped[channel_id] = opened[key]
    return mapped


def cmd_discord(args: argparse.Namespace) -> int:
    """Run the Discord bot over the documents (token in DOCQA_DISCORD_TOKEN)."""
    settings = load_settings(docs_dir=args.docs)
    # settings errors first: they need no discord.py to be reported
    app_id = application_id(settings) if args.invite_url else 0
    token = "" if args.invite_url else check_token(settings.discord_token)
    discord_bot = _import_bot()
    if discord_bot is None:
        # not `pip install 'docqa[discord]'`: the docqa on PyPI is another project
        print(
            f"docqa: discord.py is not installed: run {sys.executable} -m pip install "
            "'discord.py>=2.4' (or, in the docqa folder, pip install -e '.[discord]')",
            file=sys.stderr,
        )
        return 1
    if args.invite_url:
        print(discord_bot.invite_url(app_id))
        return 0

    setup_bot_logging(settings)
    # the bot follows the documents folders and /reindex forces a rebuild, both through them
    live = build_live(settings)
    folders = channel_folders(settings)
    import aiohttp
    import discord

    try:
        discord_bot.run_bot(
            settings, live, token,
            links=doc_links(settings, settings.docs_dir),
            channel_folders=folders,
            force_sync=args.sync,
        )
    except discord.LoginFailure:
        raise SettingsError(
            "Discord rejected DOCQA_DISCORD_TOKEN: reset the token (your application → Bot → "
            "Reset Token) and set the new one"
        ) from None
    except (aiohttp.ClientConnectionError, OSError) as exc:
        print(f"docqa: could not reach Discord ({exc}): check the network", file=sys.stderr)
        return 1
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """List the questions the Discord bot did not answer or that were rated 👎, grouped by
    shared terms, with their message links."""
    settings = load_settings()
    abstentions = JsonLinesLog(settings.data_dir / "abstained.jsonl")
    feedback = JsonLinesLog(settings.discord_feedback_log)
    logs = [log for log in (abstentions, feedback) if log.path.exists() or log.previous.exists()]
    if not logs:
        print(
            f"docqa: nothing to report: neither {abstentions.path} nor {feedback.path} exists "
            "(the Discord bot writes them as it answers)",
            file=sys.stderr,
        )
        return 0
    since = datetime.now(timezone.utc) - timedelta(days=args.days) if args.days else None
    docs = str(args.docs) if args.docs is not None else None
    items = collect(abstentions.records(), feedback.records(), docs=docs, since=since)
    groups = group(items)
    print(format_report(groups, [str(log.path) for log in logs]))
    if args.yaml is not None:
        if not items:
            print(f"docqa: no questions to export; {args.yaml} not written", file=sys.stderr)
            return 0
        try:
            args.yaml.write_text(question_set_yaml(groups), encoding="utf-8")
        except OSError as exc:
            print(f"docqa: could not write {args.yaml}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(
            f"docqa: wrote {len(items)} questions to {args.yaml}; review them, then "
            f"docqa eval {args.yaml}",
            file=sys.stderr,
        )
    return 0


def register(subparsers: Any) -> None:
    """Add ``docqa discord`` and ``docqa report`` to the ``docqa`` command."""
    parser = subparsers.add_parser(
        "discord",
        help=cmd_discord.__doc__,
        description=cmd_discord.__doc__
        + " Settings: DOCQA_DISCORD_* (see .env.example and the README's Discord section).",
    )
    add_docs_option(parser)
    parser.add_argument(
        "--invite-url",
        action="store_true",
        help="print the link that adds the bot to a server (from DOCQA_DISCORD_APP_ID), then exit",
    )
    parser.add_argument(
        "--sync",
        action="store_true",
        help="sync the slash commands even if they did not change since the last sync",
    )
    parser.set_defaults(func=cmd_discord)

    report = subparsers.add_parser(
        "report",
        help=cmd_report.__doc__,
        description=(cmd_report.__doc__ or "")
        + " Reads the abstention log (DOCQA_DATA_DIR/abstained.jsonl) and the feedback log "
        "(DOCQA_DISCORD_FEEDBACK_LOG).",
    )
    report.add_argument(
        "--yaml", type=Path, metavar="FILE",
        help="also write the questions as a question set for docqa eval, to review",
    )
    report.add_argument(
        "--days", type=positive_int, metavar="N", help="only the last N days (default: everything logged)"
    )
    report.add_argument(
        "--docs", type=Path, metavar="DIR",
        help="only the questions answered from this documents folder (with per-channel folders)",
    )
    report.set_defaults(func=cmd_report)
