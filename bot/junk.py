"""Whether an unanswered message is worth a staff ticket: a question in words, not noise.

Greetings and thanks are small talk (no ticket already); what reached "not sure" may still be keyboard
mashing ("asdkjh"), laughter ("hihi"), a lone acknowledgement ("dạ vâng"), digits or emoji. A ticket
costs staff time and, from a script posting without cookies, could flood the queue; so only messages
with at least `MIN_WORDS` real Vietnamese syllables (after stop words; abbreviations such as "htx"
already expanded by search) that make up most of the words open one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MIN_WORDS = 2
MIN_SHARE = 0.6
# A Vietnamese syllable, folded (no tones, đ→d): optional initial, 1-3 vowels, optional final.
_SYLLABLE = re.compile(r"(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnpqrstvx])?[aeiouy]{1,3}(ng|nh|ch|[cmnpt])?")
# Folded syllables that are laughter or hesitation, not words of a question.
_NOISE = frozenset({"hi", "ha", "he", "hehe", "hihi", "haha", "hic", "huhu", "uh", "um", "ah", "oh", "ok", "alo"})


def syllable(word: str) -> bool:
    """Whether a folded token could be a Vietnamese syllable ("giay", "nghiep"; not "asdkjh", "hmm")."""
    return bool(_SYLLABLE.fullmatch(word)) and word not in _NOISE


def worth_a_ticket(content_words: Sequence[str]) -> bool:
    """True for a genuine question: enough words, and most of them real syllables."""
    real = [w for w in content_words if syllable(w)]
    return len(real) >= MIN_WORDS and len(real) >= MIN_SHARE * len(content_words)
