"""The words of the conversation benchmark: a vocabulary of made-up words drawn with Zipf's
law, as the words of real text are (a few in nearly every message, most in very few), and
the searches made of them, from the most common word to one only other users wrote.

A vocabulary of a handful of words (the first version of this benchmark had 21) puts every
word in nearly every message, which says nothing of a rare word's search, the usual one.
"""

from __future__ import annotations

import itertools
import random
from functools import cache

VOCABULARY_SIZE = 20_000
# In one message in ten of other users' and in none of the bench user's: a search for it
# must find nothing, after walking past every one of those messages.
OTHERS_WORD = "quokka"
NOBODY_WORD = "xylophonist"
_CONSONANTS, _VOWELS = "bcdfghjklmnprstvwz", "aeiou"


@cache
def vocabulary() -> list[str]:
    """Distinct words of two and three syllables, in a fixed random order: rank 0 is the
    most common."""
    syllables = [c + v for c, v in itertools.product(_CONSONANTS, _VOWELS)]
    two = ["".join(p) for p in itertools.product(syllables, repeat=2)]
    three = ["".join(p) for p in itertools.islice(itertools.product(syllables, repeat=3), 40_000)]
    words = two + three
    random.Random(11).shuffle(words)
    return words[:VOCABULARY_SIZE]


@cache
def _cumulative_weights() -> list[float]:
    return list(itertools.accumulate(1.0 / rank for rank in range(1, VOCABULARY_SIZE + 1)))


def texts(rng: random.Random, count: int, *, low: int = 10, high: int = 50) -> list[str]:
    """`count` texts of `low` to `high` words (30 on average)."""
    lengths = [rng.randint(low, high) for _ in range(count)]
    words = rng.choices(vocabulary(), cum_weights=_cumulative_weights(), k=sum(lengths))
    found, start = [], 0
    for length in lengths:
        found.append(" ".join(words[start : start + length]))
        start += length
    return found


def queries() -> dict[str, str]:
    """The searches timed, by kind: what a user types, one word at a time or a few."""
    words = vocabulary()
    return {
        "most common word": words[0],
        "frequent word (rank 30)": words[30],
        "middling word (rank 1,000)": words[1000],
        "rare word (rank 15,000)": words[15_000],
        "two words (ranks 5 and 500)": f"{words[5]} {words[500]}",
        "prefix (3 letters of rank 100)": words[100][:3],
        "a word only other users wrote": OTHERS_WORD,
        "a word nobody wrote": NOBODY_WORD,
    }
