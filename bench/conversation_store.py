"""The conversation benchmark's database, made once and kept outside the repository: SQLite
in ~/.cache/chat-bench/, PostgreSQL in a database of its own next to DATABASE_URL's
(`<name>_big`). A second run with the same sizes finds it ready and only migrates it (a new
migration then builds its indexes over the data, as it would on a server).

Rows go in with their ids in one transaction (executemany on SQLite, COPY on PostgreSQL), the
search indexes dropped first and made again after by the app's own code (`chat.search.schema`,
what migrations 0008 and 0012 run): FTS5's rebuild, PostgreSQL's CREATE INDEX ... GIN.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.conversation_rows import (
    MESSAGE_COLUMNS,
    OTHER_USERS,
    RUN_COLUMNS,
    STEP_COLUMNS,
    THREAD_COLUMNS,
    Plan,
    message_batches,
)
from bench.scratch_db import _admin

VERSION = 2  # change it when the rows change: every cached database is then made again
CACHE = Path(os.environ.get("CHAT_BENCH_CACHE", Path.home() / ".cache" / "chat-bench"))
USERNAME, PASSWORD = "bench", "bench-password-123"


def key(threads: int, messages: int) -> str:
    return f"conversation-v{VERSION}-{threads}-{messages}"


def point_at(backend: str, name: str) -> bool:
    """Set the environment for Django to open the cached database (before `django.setup`);
    True when it is ready, else it is made empty for `fill`."""
    if backend == "sqlite":
        return _point_at_sqlite(name)
    return _point_at_postgres(name)


def _point_at_sqlite(name: str) -> bool:
    CACHE.mkdir(parents=True, exist_ok=True)
    path, ready = CACHE / f"{name}.sqlite3", CACHE / f"{name}.ready"
    os.environ.pop("DATABASE_URL", None)
    os.environ["SQLITE_PATH"] = str(path)
    if ready.exists():
        return True
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    return False


def _point_at_postgres(name: str) -> bool:
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("--backend postgres needs DATABASE_URL (postgres://...)")
    admin_url, base = _admin(url)
    big = f"{base}_big"
    os.environ["DATABASE_URL"] = urlunsplit(urlsplit(url)._replace(path=f"/{big}"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        found = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [big],
        ).fetchone()
        if found is not None and found[0] == name:
            return True
        conn.execute(f'DROP DATABASE IF EXISTS "{big}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{big}"')
    return False


def mark_ready(backend: str, name: str) -> None:
    from django.db import connection

    if backend == "sqlite":
        (CACHE / f"{name}.ready").write_text(name + "\n")
        return
    with connection.cursor() as cursor:
        cursor.execute(f'COMMENT ON DATABASE "{connection.settings_dict["NAME"]}" IS %s', [name])


def fill(threads: int, messages: int) -> None:
    """The benchmark's users and rows, in an empty migrated database."""
    from django.db import connection, transaction

    from chat.search import schema

    plan = _plan(threads, messages)
    with connection.schema_editor(atomic=False) as editor:
        schema.drop(None, editor)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The rows reference each other in every direction (a thread its leaf, a run its
            # prompt): checked row by row at commit, 2.4 million checks cost more than the
            # copy. The generator gives every reference a row that exists.
            _execute("SET LOCAL session_replication_role = replica")
        for batch in message_batches(plan):
            insert("chat_message", MESSAGE_COLUMNS, batch)
        insert("chat_thread", THREAD_COLUMNS, plan.thread_rows)
        insert("chat_run", RUN_COLUMNS, plan.run_rows)
        insert("chat_runstep", STEP_COLUMNS, plan.step_rows)
    with connection.schema_editor(atomic=False) as editor:
        schema.create(None, editor)
        schema.by_owner(None, editor)
    _after_fill()


def _plan(threads: int, messages: int) -> Plan:
    from django.contrib.auth.models import User

    from chat.models import Assistant

    user = User.objects.create_user(USERNAME, "", PASSWORD)
    others = [User.objects.create_user(f"other-{i}", "", None) for i in range(OTHER_USERS)]
    assistant = Assistant.objects.get(is_default=True)
    return Plan(threads, messages, user.pk, [o.pk for o in others], assistant.pk)


def insert(table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    from django.db import connection

    names = ", ".join(columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def _after_fill() -> None:
    from django.core.management.color import no_style
    from django.db import connection

    from chat.models import Message, Run, RunStep, Thread

    for sql in connection.ops.sequence_reset_sql(no_style(), [Thread, Message, Run, RunStep]):
        _execute(sql)
    if connection.vendor == "postgresql":
        # What autovacuum does soon after a load: statistics, and the visibility map that
        # lets index-only scans skip the heap.
        _execute("VACUUM ANALYZE")


def _execute(sql: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql)
