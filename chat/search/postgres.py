"""Search with PostgreSQL: `to_tsvector('simple', ...)` of message texts and thread titles,
served by GIN indexes on those very expressions (`schema`). The 'simple' configuration
stems nothing, as SQLite's tokenizer does not: the same words find the same messages.
Messages come newest first, as with SQLite (ranking would score every match first).

Messages are looked for in two steps, because no one plan serves every word. Asked for the
newest matches, the planner walks the table backwards from the newest message, computing
each text's vector, and stops at the limit: quick for a common word, but for a rare one, or
one only other users wrote, it reads the whole table (2.4 million texts: seconds, or a
minute; docs/performance/conversation.md). So the newest `RECENT` messages are read that way,
and when they hold too few matches, every match of the user's is found through the GIN index
(which holds each message's owner), then the newest of them: that costs what the user's
matches cost, few for a word the first step did not find enough of."""

from __future__ import annotations

from typing import Any

from django.db import connection

from chat.search.hits import START, STOP, Hit
from chat.search.phases import Find, Row, query, titles_then_messages

RECENT = 1000  # read one by one: about 20 ms (`bench.conversation`)
_OPTIONS = f"StartSel={START}, StopSel={STOP}, MaxWords=24, MinWords=8, MaxFragments=1"
_HIT = f"""m.thread_id, t.title, m.id, m.run_id, m.role,
       ts_headline('simple', m.content, q, '{_OPTIONS}'), m.created_at"""

_RECENT = f"""
SELECT {_HIT}
FROM to_tsquery('simple', %s) q
CROSS JOIN (SELECT * FROM chat_message ORDER BY id DESC LIMIT %s) m
JOIN chat_thread t ON t.id = m.thread_id
WHERE to_tsvector('simple', m.content) @@ q AND m.owner_id = %s
ORDER BY m.id DESC
LIMIT %s
"""

# MATERIALIZED: the GIN index's matches first, whatever the planner guesses of the LIMIT.
# The index holds each message's owner beside its words: the user's matches only.
_ALL = f"""
WITH matches AS MATERIALIZED (
    SELECT id FROM chat_message
    WHERE owner_id = %s AND to_tsvector('simple', content) @@ to_tsquery('simple', %s)
), found AS (
    SELECT id FROM matches ORDER BY id DESC LIMIT %s
)
SELECT {_HIT}
FROM found JOIN chat_message m ON m.id = found.id
JOIN chat_thread t ON t.id = m.thread_id, to_tsquery('simple', %s) q
ORDER BY m.id DESC
"""

_TITLES = f"""
SELECT t.id, t.title, NULL, NULL, 'title',
       ts_headline('simple', t.title, q, '{_OPTIONS}'), t.updated_at
FROM chat_thread t, to_tsquery('simple', %s) q
WHERE to_tsvector('simple', t.title) @@ q AND t.owner_id = %s
ORDER BY t.id DESC
LIMIT %s
"""


def tsquery(words: list[str], *, prefix: bool = True) -> str:
    # Every word, each also as a prefix; words are \\w+ only, so nothing here is syntax.
    star = ":*" if prefix else ""
    return " & ".join(f"{word}{star}" for word in words)


def search(*, user_id: int, words: list[str], limit: int) -> list[Hit]:
    whole = tsquery(words, prefix=False)
    expressions = (whole, f"({tsquery(words)}) & !({whole})")
    with connection.cursor() as cursor:
        titles = query(cursor, _TITLES, user_id)
        rows = titles_then_messages(titles, _messages(cursor, user_id), expressions, limit)
    return [Hit(*row) for row in rows]


def _messages(cursor: Any, user_id: int) -> Find:
    recent = query(cursor, _RECENT, RECENT, user_id)

    def find(expression: str, limit: int) -> list[Row]:
        rows = recent(expression, limit)
        if len(rows) == limit:
            return rows
        # Every match, the recent ones again: the answer whole, in one order.
        cursor.execute(_ALL, [user_id, expression, limit, expression])
        return list(cursor.fetchall())

    return find
