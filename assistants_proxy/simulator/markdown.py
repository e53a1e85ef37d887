"""A deterministic Markdown reply of exactly N tokens.

Clients render Markdown as it streams, so the reply exercises what breaks renderers:
paragraphs, a bold list and a fenced code block split across many deltas. Lists and code
blocks are only added whole, so a short reply never leaves a fence open.
"""

import itertools
import random
from collections.abc import Iterator

from .tokens import tokenize

_VOCABULARY = (
    "river stream source valley delta current water flow basin channel bank meander "
    "system design signal pattern layer model detail example method result process "
    "clear simple steady quick careful useful gentle broad deep long narrow wide "
    "often usually always rarely carries shapes moves forms connects builds keeps"
)
_WORDS = _VOCABULARY.split()

_LIST = tokenize(
    "\n\n- **Clarity** comes first.\n- **Structure** helps the reader.\n- **Examples** last."
)

_CODE = tokenize(
    "\n\n```python\n"
    "def summarize(items: list[str]) -> str:\n"
    '    return ", ".join(sorted(items))\n'
    "```"
)

_OPENING = 16  # tokens of the first paragraph: the default reply also gets a list and code
_PARAGRAPH = 40  # tokens of later paragraphs


def markdown_tokens(count: int, seed: str) -> list[str]:
    """Return exactly `count` tokens of Markdown, the same ones for the same seed."""
    rng = random.Random(seed)
    tokens: list[str] = []
    for block in _block_cycle():
        remaining = count - len(tokens)
        size = _PARAGRAPH if tokens else _OPENING
        piece = _paragraph(rng, size, bool(tokens)) if block is None else block
        if len(piece) == remaining:
            return tokens + piece
        # Never leave a gap of 1-2 tokens: too short for a separated closing paragraph.
        if len(piece) > remaining - 3:
            return tokens + _paragraph(rng, remaining, bool(tokens))
        tokens += piece
    raise AssertionError("unreachable: the block cycle is endless")


def _block_cycle() -> Iterator[list[str] | None]:
    # None stands for "a fresh paragraph"; the cycle repeats for long replies.
    return itertools.cycle([None, _LIST, _CODE, None])


def _paragraph(rng: random.Random, count: int, separated: bool) -> list[str]:
    """`count` tokens: an optional blank-line separator, sentences, a final full stop."""
    tokens = ["\n\n"] if separated else []
    while len(tokens) < max(count - 1, 1):
        tokens.append(_word(rng, tokens[-1] if tokens else ""))
        if len(tokens) < count - 2 and rng.random() < 0.12:
            tokens.append(rng.choice([",", "."]))
    return (tokens + ["."])[:count]


def _word(rng: random.Random, previous: str) -> str:
    word = rng.choice(_WORDS)
    if previous in {"", "\n\n"}:
        return word.capitalize()
    return f" {word.capitalize()}" if previous == "." else f" {word}"
