"""Recompute the per-day usage tables from the runs (after an import, a repair, or for runs
that ended before the tables existed). The tables are otherwise kept up to date as runs end."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from chat.usage.aggregate import usage_rebuild


class Command(BaseCommand):
    help = "Rebuild the per-day token usage tables from the runs."

    def handle(self, *args: Any, **options: Any) -> None:
        details, days = usage_rebuild()
        self.stdout.write(
            f"Usage rebuilt: {details} rows by user, assistant and model; {days} days."
        )
