"""Threads, messages and runs are ours; an upstream only ever sees copies of them.

Models hold data and single-row invariants. Rules that span rows live in the database as
constraints (one default assistant, one active run per thread) so that two concurrent
requests cannot both win, and in `chat.services` for everything else. One module per group:
assistants, threads (with messages, runs, steps and share links), API keys, budgets and
usage per day, and the admin's proxy views.
"""

from chat.models.assistants import (
    TOOL_CHOICE_KEYWORDS,
    Assistant,
    Protocol,
    ResponsesHistory,
    default_response_format,
    default_truncation_strategy,
    upstream_id_field,
)
from chat.models.budgets import (
    GroupBudget,
    TokenLedger,
    UsageDay,
    UsageDaySlice,
    UsageDayTotal,
    UserBudget,
)
from chat.models.keys import ApiKey
from chat.models.proxies import LiveRun, UserUsage
from chat.models.threads import Message, Run, RunStatus, RunStep, Thread, ThreadShare

__all__ = [
    "TOOL_CHOICE_KEYWORDS",
    "ApiKey",
    "Assistant",
    "GroupBudget",
    "LiveRun",
    "Message",
    "Protocol",
    "ResponsesHistory",
    "Run",
    "RunStatus",
    "RunStep",
    "Thread",
    "ThreadShare",
    "TokenLedger",
    "UsageDay",
    "UsageDaySlice",
    "UsageDayTotal",
    "UserBudget",
    "UserUsage",
    "default_response_format",
    "default_truncation_strategy",
    "upstream_id_field",
]
