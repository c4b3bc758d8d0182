"""Adapters over the engine: settings, CLI, REPL, Discord bot, evaluation."""
