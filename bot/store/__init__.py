"""Persistence: schema, migrations and the repositories. All SQL of the bot lives here."""

from bot.store.engine import Store

__all__ = ["Store"]
