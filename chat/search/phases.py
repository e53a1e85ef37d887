"""The order both engines answer in: titles before messages, whole words before prefixes,
newest first within each. A query is first run for the whole words, which an index reads
newest first and stops at the limit; only when they fall short is it run again for the
words as prefixes, less the whole words' matches: asked for those again, the engine would
walk every one of them again to check its owner (a word other users wrote many times:
docs/performance/conversation.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Row = tuple[Any, ...]  # (thread id, title, message id or None, ...): a `Hit`'s fields
Find = Callable[[str, int], list[Row]]  # (expression, limit): the newest rows matching


def titles_then_messages(
    titles: Find, messages: Find, expressions: tuple[str, str], limit: int
) -> list[Row]:
    """`expressions`: the whole words', and the prefixes' that are not the whole words'."""
    rows = whole_then_prefix(titles, expressions, limit)
    if len(rows) < limit:  # else no message would be shown: not looked for
        rows += whole_then_prefix(messages, expressions, limit - len(rows))
    return rows


def whole_then_prefix(find: Find, expressions: tuple[str, str], limit: int) -> list[Row]:
    whole, prefix_only = expressions
    rows = find(whole, limit)
    if len(rows) == limit:
        return rows
    return rows + find(prefix_only, limit - len(rows))


def query(cursor: Any, sql: str, *params: Any) -> Find:
    """A `Find` running `sql` with (expression, *params, limit)."""

    def find(expression: str, limit: int) -> list[Row]:
        cursor.execute(sql, [expression, *params, limit])
        return list(cursor.fetchall())

    return find
