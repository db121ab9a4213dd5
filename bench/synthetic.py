"""A larger knowledge base made of the shipped one, to see how search scales with the content.

Each copy of an entry keeps its citations and province but gets new phrasings: the first half of one
of its own phrasings joined to the second half of a phrasing of a random entry. The words stay real
Vietnamese from the domain, so word frequencies and phrasing lengths look like a grown knowledge base.
"""

from __future__ import annotations

import random
from dataclasses import replace

from bot.kb.model import Entry, KnowledgeBase


def enlarge(kb: KnowledgeBase, factor: int, seed: int = 7) -> KnowledgeBase:
    """`kb` with `factor` times as many entries (the originals plus factor - 1 recombined copies)."""
    rng = random.Random(seed)
    originals = list(kb.entries.values())
    pool = [text.split() for e in originals for text in (e.title, *e.questions)]

    def mix(text: str) -> str:
        head, tail = text.split(), rng.choice(pool)
        return " ".join(head[: max(1, len(head) // 2)] + tail[len(tail) // 2 :])

    entries: dict[str, Entry] = dict(kb.entries)
    for copy in range(1, factor):
        for e in originals:
            eid = f"{e.id}-x{copy}"
            entries[eid] = replace(e, id=eid, title=mix(e.title), questions=tuple(mix(q) for q in e.questions))
    return replace(kb, entries=entries)
