"""A run's tokens against what it holds of its user's budget, counted in memory.

The relay adds one per text delta (the estimate until the upstream's usage arrives, which
the run's end settles with) and compares with `held`: that is all the per-token work. On
crossing it, the guard asks the ledger for more, once per BUDGET_RUN_ALLOWANCE_TOKENS; when
there is none the run stops at once, kept as incomplete with the reason "budget reached".
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import TYPE_CHECKING

from channels.db import database_sync_to_async
from django.conf import settings

from chat.budgets.ledger import budget_extend
from chat.runs import failures

if TYPE_CHECKING:
    from chat.runs.execution import RunExecution

BUDGET_REACHED = failures.error(
    "budget_reached",
    "Stopped: your token budget is reached. The reply above is incomplete.",
)
UNLIMITED = sys.maxsize
CANCEL_WAIT_SECONDS = 2.0


class BudgetGuard:
    __slots__ = ("run_id", "held", "spent", "prompt")

    def __init__(self, run_id: int, held: int) -> None:
        self.run_id = run_id
        # A run of a user without a budget holds nothing and is never stopped.
        self.held = held or UNLIMITED
        self.spent = 0  # prompt (estimated) and text deltas so far
        self.prompt = 0

    def count_prompt(self, tokens: int) -> None:
        self.spent += tokens
        self.prompt += tokens

    @property
    def streamed(self) -> int:
        """Text deltas so far: the live board's tokens, the timeline's samples."""
        return self.spent - self.prompt

    async def extend(self, execution: RunExecution) -> bool:
        """More tokens from the ledger; False (and the run ended) when there are none."""
        want = self.spent - self.held + settings.BUDGET_RUN_ALLOWANCE_TOKENS
        self.held += await database_sync_to_async(budget_extend)(run_id=self.run_id, want=want)
        if self.spent <= self.held:
            return True
        execution._end_locally("incomplete", BUDGET_REACHED)
        await _stop_upstream(execution)
        return False


async def _stop_upstream(execution: RunExecution) -> None:
    """An Assistants server goes on with a run its client left: tell it to stop (the
    stateless protocols stop when the stream is closed). Awaited, while the run's HTTP
    client is still open; a failure only means the upstream may finish the run unseen."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(execution.cancel_upstream(), CANCEL_WAIT_SECONDS)
