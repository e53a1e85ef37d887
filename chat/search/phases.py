"""The order both engines answer in: titles before messages, whole words before prefixes,
newest first within each. A query is first run for the whole words, which an index reads
newest first and stops at the limit; only when they fall short is it run again with every
word also a prefix, which costs more (the engines merge the lists of every word a prefix
starts) and finds the whole words again (those are dropped)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Row = tuple[Any, ...]  # (thread id, title, message id or None, ...): a `Hit`'s fields
Find = Callable[[str, int], list[Row]]  # (expression, limit): the newest rows matching


def titles_then_messages(
    titles: Find, messages: Find, expressions: tuple[str, str], limit: int
) -> list[Row]:
    """`expressions`: the whole words' and the prefixes'."""
    rows = whole_then_prefix(titles, expressions, limit)
    if len(rows) < limit:  # else no message would be shown: not looked for
        rows += whole_then_prefix(messages, expressions, limit - len(rows))
    return rows


def whole_then_prefix(find: Find, expressions: tuple[str, str], limit: int) -> list[Row]:
    whole, prefix = expressions
    rows = find(whole, limit)
    if len(rows) == limit:
        return rows
    seen = {(row[0], row[2]) for row in rows}  # (thread, message): a title's message is None
    more = [row for row in find(prefix, limit + len(rows)) if (row[0], row[2]) not in seen]
    return rows + more[: limit - len(rows)]


def query(cursor: Any, sql: str, *params: Any) -> Find:
    """A `Find` running `sql` with (expression, *params, limit)."""

    def find(expression: str, limit: int) -> list[Row]:
        cursor.execute(sql, [expression, *params, limit])
        return list(cursor.fetchall())

    return find
