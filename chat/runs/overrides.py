"""What one run changes of its assistant (the Assistants API's per-run `instructions`,
`tools`, `temperature`...): kept on the run (`Run.overrides`) so that whichever process
executes it, now or after a restart, sends the same request."""

from __future__ import annotations

import copy

from chat.models import Assistant, Run

# The assistant's fields a run may set for itself.
FIELDS = (
    "instructions",
    "tools",
    "temperature",
    "top_p",
    "max_tokens",
    "tool_choice",
    "response_format",
    "truncation_strategy",
)


def run_assistant(run: Run) -> Assistant:
    """The assistant as this run sees it: a copy with the run's overrides, never saved."""
    given = {key: value for key, value in (run.overrides or {}).items() if key in FIELDS}
    if not given:
        return run.assistant
    assistant = copy.copy(run.assistant)
    for key, value in given.items():
        setattr(assistant, key, value)
    return assistant
