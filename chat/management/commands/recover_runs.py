"""`manage.py recover_runs`: settle runs that a dead server process left active.

Run it when a single server process starts (`make run` does), before it serves requests.
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.core.management.base import BaseCommand

from chat.runs.recovery import recover_interrupted_runs


class Command(BaseCommand):
    help = "Settle runs left active by a server process that died mid-run."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--wait",
            type=float,
            default=10.0,
            help="seconds to wait for an upstream still finishing a run",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        recovered = asyncio.run(recover_interrupted_runs(wait=options["wait"]))
        self.stdout.write(f"recovered {len(recovered)} interrupted run(s)")
