"""A scratch PostgreSQL database for a benchmark that needs Django in-process: created next
to the one DATABASE_URL names (`<name>_<suffix>`), migrated, and dropped afterwards. Without
DATABASE_URL, SQLite in a temporary directory."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit


@contextmanager
def django_on_scratch_db(suffix: str, *, keep: bool = False) -> Iterator[str]:
    """Django set up on a fresh database; yields its vendor ("postgresql" or "sqlite")."""
    url = os.environ.get("DATABASE_URL", "")
    with tempfile.TemporaryDirectory() as tmp:
        if url:
            url = _recreate(url, suffix)
            os.environ["DATABASE_URL"] = url
        else:
            os.environ["SQLITE_PATH"] = os.path.join(tmp, "db.sqlite3")
        os.environ.setdefault("SECRET_KEY", "bench-only-secret")
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
        os.environ["RUNS_PER_MINUTE"] = "100000000"
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        from django.db import connection

        try:
            yield connection.vendor
        finally:
            from django.db import connections

            connections.close_all()
            if url and not keep:
                _drop(url)


def _admin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    return urlunsplit(parts._replace(path="/postgres")), name


def _recreate(url: str, suffix: str) -> str:
    import psycopg

    admin_url, name = _admin(url)
    scratch = f"{name}_{suffix}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{scratch}"')
    return urlunsplit(urlsplit(url)._replace(path=f"/{scratch}"))


def _drop(url: str) -> None:
    import psycopg

    admin_url, name = _admin(url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
