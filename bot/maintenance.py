"""Daily housekeeping in the running bot: the retention period (`[storage] retention_days`).

Started and stopped with the server through the app's lifecycle (bot/app.py, `with_lifecycles`); the
work runs on the store's writer thread, between messages. `htx-bot retention` does the same by hand.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.db import Store

log = logging.getLogger(__name__)
DAY = 86400.0
FIRST_DELAY = 60.0  # let start-up and recovery finish first


async def apply_retention_once(store: Store, days: int, clock: Callable[[], float] = time.time) -> dict[str, int]:
    """Anonymise what is older than `days` (0 = keep everything: nothing happens)."""
    if days <= 0:
        return {}
    counts = await store.run(store.apply_retention, clock() - days * DAY)
    if any(counts.values()):
        log.info("retention (%d days): %s", days, ", ".join(f"{t} {n}" for t, n in counts.items() if n))
    return counts


async def retention_loop(store: Store, days: int, interval: float = DAY, first_delay: float = FIRST_DELAY) -> None:
    """Apply the retention period now (after `first_delay`) and then every `interval` seconds."""
    await asyncio.sleep(first_delay)
    while True:
        try:
            await apply_retention_once(store, days)
        except Exception:  # a failed run is retried tomorrow; the bot keeps answering
            log.exception("retention run failed")
        await asyncio.sleep(interval)
