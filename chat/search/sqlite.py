"""Search with SQLite FTS5: `chat_message_fts` and `chat_thread_fts` are external-content
indexes of the message texts and thread titles, kept current by triggers (`schema`).

Results come newest first, not by bm25: ranking scores every match before the LIMIT, which
for a common word is most of the table, while the index walks a word's rowids newest first
and stops at the limit. Whole words are asked for before prefixes (`phases`): FTS5 reads a
word's list a page at a time, but for a prefix it first merges the lists of every word
starting with it, which for the prefix of a common word is most of the index; the prefix
indexes of two and three letters (`schema`) spare it that for the shortest prefixes, what a
user types first (docs/performance/conversation.md).

A word other users wrote many times is walked past match by match, each checked for its
owner: the lookup indexes (id, thread_id) and (id, owner_id) answer that from a few pages,
the text itself read only for the rows shown."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection
from django.utils.dateparse import parse_datetime

from chat.search.hits import START, STOP, Hit
from chat.search.phases import query, titles_then_messages

_MESSAGES = f"""
SELECT m.thread_id, t.title, m.id, m.run_id, m.role,
       snippet(chat_message_fts, 0, '{START}', '{STOP}', '…', 16), m.created_at
FROM chat_message_fts
JOIN chat_message m INDEXED BY chat_message_search_thread_id ON m.id = chat_message_fts.rowid
JOIN chat_thread t INDEXED BY chat_thread_search_owner_id ON t.id = m.thread_id
WHERE chat_message_fts MATCH %s AND t.owner_id = %s
ORDER BY chat_message_fts.rowid DESC
LIMIT %s
"""

_TITLES = f"""
SELECT t.id, t.title, NULL, NULL, 'title',
       highlight(chat_thread_fts, 0, '{START}', '{STOP}'), t.updated_at
FROM chat_thread_fts
JOIN chat_thread t INDEXED BY chat_thread_search_owner_id ON t.id = chat_thread_fts.rowid
WHERE chat_thread_fts MATCH %s AND t.owner_id = %s
ORDER BY chat_thread_fts.rowid DESC
LIMIT %s
"""


def match_expression(words: list[str], *, prefix: bool = True) -> str:
    # Every word, each also as a prefix ("riv" finds "rivers"); words are \\w+ only.
    star = "*" if prefix else ""
    return " ".join(f'"{word}"{star}' for word in words)


def search(*, user_id: int, words: list[str], limit: int) -> list[Hit]:
    whole = match_expression(words, prefix=False)
    expressions = (whole, f"({match_expression(words)}) NOT ({whole})")
    with connection.cursor() as cursor:
        titles, messages = query(cursor, _TITLES, user_id), query(cursor, _MESSAGES, user_id)
        rows = titles_then_messages(titles, messages, expressions, limit)
    return [_hit(row) for row in rows]


def _hit(row: tuple[Any, ...]) -> Hit:
    thread_id, title, message_id, run_id, role, snippet, created = row
    when = created if isinstance(created, datetime) else parse_datetime(str(created))
    assert when is not None
    return Hit(thread_id, title, message_id, run_id, role, snippet, when)
