"""The operators' admin: budgets, usage charts, live runs and the run inspector. Imported by
`chat.admin`, which keeps the app's other admin classes."""

from chat.admin_pages import (
    budgets,  # noqa: F401
    live,  # noqa: F401
    usage,  # noqa: F401
)
