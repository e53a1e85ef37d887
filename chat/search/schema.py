"""The search indexes, made and dropped by migration 0008 on whichever database it runs, and
made again by 0010 (SQLite's with prefix indexes: `rebuild`) and 0012 (PostgreSQL's message
index with each message's owner: `by_owner`)."""

from __future__ import annotations

from typing import Any

# (table, text indexed, the column a match is checked on: a message's thread, a thread's owner)
_SQLITE_TABLES = (("chat_message", "content", "thread_id"), ("chat_thread", "title", "owner_id"))

_SQLITE = """
CREATE VIRTUAL TABLE {table}_fts USING fts5(
    {column}, content='{table}', content_rowid='id', tokenize='unicode61 remove_diacritics 2',
    prefix='2 3');
CREATE TRIGGER {table}_fts_insert AFTER INSERT ON {table} BEGIN
    INSERT INTO {table}_fts(rowid, {column}) VALUES (new.id, new.{column});
END;
CREATE TRIGGER {table}_fts_delete AFTER DELETE ON {table} BEGIN
    INSERT INTO {table}_fts({table}_fts, rowid, {column}) VALUES ('delete', old.id, old.{column});
END;
CREATE TRIGGER {table}_fts_update AFTER UPDATE OF {column} ON {table} BEGIN
    INSERT INTO {table}_fts({table}_fts, rowid, {column}) VALUES ('delete', old.id, old.{column});
    INSERT INTO {table}_fts(rowid, {column}) VALUES (new.id, new.{column});
END;
INSERT INTO {table}_fts({table}_fts) VALUES ('rebuild');
CREATE INDEX IF NOT EXISTS {table}_search_{key} ON {table} (id, {key});
"""

_SQLITE_DROP = """
DROP TRIGGER IF EXISTS {table}_fts_insert;
DROP TRIGGER IF EXISTS {table}_fts_delete;
DROP TRIGGER IF EXISTS {table}_fts_update;
DROP TABLE IF EXISTS {table}_fts;
DROP INDEX IF EXISTS {table}_search_{key};
"""

_POSTGRES = [
    "CREATE INDEX chat_message_search ON chat_message USING GIN (to_tsvector('simple', content))",
    "CREATE INDEX chat_thread_search ON chat_thread USING GIN (to_tsvector('simple', title))",
]
_POSTGRES_DROP = [
    "DROP INDEX IF EXISTS chat_message_search",
    "DROP INDEX IF EXISTS chat_thread_search",
]


# btree_gin (migration 0011) lets one GIN index hold an integer beside a text vector: a
# search then reads the posting list of its word for its user only.
_POSTGRES_BY_OWNER = [
    "DROP INDEX IF EXISTS chat_message_search",
    "CREATE INDEX chat_message_search ON chat_message"
    " USING GIN (owner_id, to_tsvector('simple', content))",
]
_POSTGRES_BY_WORDS = [_POSTGRES_DROP[0], _POSTGRES[0]]


def create(apps: Any, schema_editor: Any) -> None:
    for statement in _statements(schema_editor, _SQLITE, _POSTGRES):
        schema_editor.execute(statement, params=None)


def drop(apps: Any, schema_editor: Any) -> None:
    for statement in _statements(schema_editor, _SQLITE_DROP, _POSTGRES_DROP):
        schema_editor.execute(statement, params=None)


def rebuild(apps: Any, schema_editor: Any) -> None:
    """SQLite's indexes made again as `create` makes them now: FTS5's options can only be
    given when its table is made, and the lookup indexes are new. PostgreSQL's GIN indexes
    have not changed."""
    if schema_editor.connection.vendor != "sqlite":
        return
    drop(apps, schema_editor)
    create(apps, schema_editor)


def fill_owners(apps: Any, schema_editor: Any) -> None:
    """Each message's owner, from its thread: for rows written before `Message.owner`."""
    schema_editor.execute(_FILL_OWNERS, params=None)


_FILL_OWNERS = """
UPDATE chat_message SET owner_id = (
    SELECT owner_id FROM chat_thread WHERE chat_thread.id = chat_message.thread_id
) WHERE owner_id IS NULL
"""


def by_owner(apps: Any, schema_editor: Any) -> None:
    _postgres_only(schema_editor, _POSTGRES_BY_OWNER)


def by_words(apps: Any, schema_editor: Any) -> None:
    _postgres_only(schema_editor, _POSTGRES_BY_WORDS)


def _postgres_only(schema_editor: Any, statements: list[str]) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in statements:
            schema_editor.execute(statement, params=None)


def _statements(schema_editor: Any, sqlite: str, postgres: list[str]) -> list[str]:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        return postgres
    if vendor != "sqlite":
        return []  # another database: no search index, and `search` says so
    script = "".join(sqlite.format(table=t, column=c, key=k) for t, c, k in _SQLITE_TABLES)
    return _split(script)


def _split(script: str) -> list[str]:
    # One statement per execute; a trigger's body holds semicolons up to its END.
    statements, current = [], ""
    for line in script.strip().splitlines():
        current += line + "\n"
        inside_trigger = current.lstrip().startswith("CREATE TRIGGER")
        if line.rstrip().endswith(";") and (not inside_trigger or line.strip() == "END;"):
            statements.append(current.strip())
            current = ""
    return statements
