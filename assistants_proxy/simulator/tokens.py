"""Split text into model-like tokens whose concatenation is exactly the text.

Real streams send a word with its leading space (``" How"``) and punctuation on its own
(``"!"``), which is what this does; the seed's greeting splits into its exact 9 deltas.
"""

import re

# Alternatives, in order: newline runs, a word with its leading blanks, one punctuation
# character with its leading blanks, trailing blanks. Every character matches one of them.
_TOKEN = re.compile(r"\n+|[^\S\n]*[\w']+|[^\S\n]*[^\w\s]|[^\S\n]+")


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    return len(tokenize(text))
