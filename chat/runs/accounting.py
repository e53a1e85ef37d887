"""What a run's end counts: its user's budget settled (`chat.budgets.ledger`) and its
usage added to the day's tables (`chat.usage.aggregate`).

Called in the transaction that moves the run out of the active statuses, and only when that
conditional UPDATE moved it: a run is counted once, however many processes try to end it.
"""

from __future__ import annotations

from django.utils import timezone

from chat.budgets import periods
from chat.budgets.ledger import budget_settle
from chat.models import Run
from chat.usage.aggregate import Ended, usage_add


def run_account_end(*, run_id: int) -> None:
    row = (
        Run.objects.filter(pk=run_id)
        .values_list(
            "thread__owner_id",
            "assistant_id",
            "model",
            "budget_reserved",
            "prompt_tokens",
            "completion_tokens",
            "completed_at",
        )
        .get()
    )
    user_id, assistant_id, model, reserved, prompt, completion, completed_at = row
    ended_at = completed_at or timezone.now()
    budget_settle(user_id=user_id, reserved=reserved, used=prompt + completion, now=ended_at)
    day = periods.today(ended_at)
    usage_add(Ended(day, user_id, assistant_id, model, prompt, completion))
