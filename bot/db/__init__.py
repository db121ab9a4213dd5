"""The database layer: schema and migrations, every query, effect appliers; `Store` owns the connection."""

from bot.db.schema import MIGRATIONS
from bot.db.store import Store

__all__ = ["MIGRATIONS", "Store"]
