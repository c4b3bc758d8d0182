"""The ``docqa discord`` subcommand. Imports discord.py only when it runs, so the other
commands work without the ``[discord]`` extra installed."""

from __future__ import annotations

import argparse
import base64
import binascii
import logging
import re
import sys
from typing import Any

from pydantic import SecretStr

from bot.options import add_docs_option, build_live
from bot.settings import Settings, SettingsError, load_settings

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

    # the bot follows the documents folder and /reindex forces a rebuild, both through it
    live = build_live(settings)
    if "log_level" not in settings.model_fields_set:
        # a running bot shows its start-up and one line per question unless told otherwise
        logging.getLogger("docqa.discord").setLevel(logging.INFO)
    import aiohttp
    import discord

    try:
        discord_bot.run_bot(settings, live, token)
    except discord.LoginFailure:
        raise SettingsError(
            "Discord rejected DOCQA_DISCORD_TOKEN: reset the token (your application → Bot → "
            "Reset Token) and set the new one"
        ) from None
    except (aiohttp.ClientConnectionError, OSError) as exc:
        print(f"docqa: could not reach Discord ({exc}): check the network", file=sys.stderr)
        return 1
    return 0


def register(subparsers: Any) -> None:
    """Add ``docqa discord`` to the ``docqa`` command."""
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
    parser.set_defaults(func=cmd_discord)
