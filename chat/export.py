"""A thread, or all of a user's threads, as files to take away (docs/api.md "Export"):

- JSON: everything the app keeps of a thread: every message (every branch, with its
  `parent_id`), every run with its steps (tool calls) and usage, and the branch on show.
- Markdown: the branch on show, as a reader would want it.
- An archive (zip) of all of the user's threads, one JSON and one Markdown file each.

Reads only: the shapes are the API's own serializers.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from chat import selectors
from chat.models import Message, Run, RunStep, Thread
from chat.selectors import AnyUser
from chat.serializers import assistant_json, message_json, run_json, thread_json

FORMAT_VERSION = 1
ROLE_HEADINGS = {"user": "You", "assistant": "Assistant"}


def thread_export(thread: Thread) -> dict[str, Any]:
    """The whole thread, every branch, as JSON-ready data."""
    messages = list(thread.messages.order_by("pk"))
    runs = thread.runs.order_by("pk").prefetch_related("steps")
    on_branch = selectors.thread_tree(messages, list(runs)).branch(thread.leaf_id)
    return {
        "format": "chat-thread",
        "version": FORMAT_VERSION,
        "thread": thread_json(thread),
        "assistant": assistant_json(thread.assistant),
        "branch": on_branch.message_ids,
        "messages": [message_json(message) for message in messages],
        "runs": [run_json(run, steps=_steps(run), messages=messages) for run in runs],
    }


def _steps(run: Run) -> list[RunStep]:
    return sorted(run.steps.all(), key=lambda step: (step.created_at, step.pk))


INCOMPLETE_NOTE = "*(This reply is incomplete: it was stopped or cut off before its end.)*"
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def thread_markdown(thread: Thread, messages: list[Message]) -> str:
    """The branch on show (`messages`, oldest first) as Markdown."""
    lines = [f"# {thread.title or 'Untitled chat'}", ""]
    for message in messages:
        if not message.content:
            continue
        lines += [f"## {ROLE_HEADINGS.get(message.role, message.role)}", "", message.content]
        if message.status == Message.Status.INCOMPLETE:
            lines += [*_closing_fence(message.content), "", INCOMPLETE_NOTE]
        lines.append("")
    return "\n".join(lines)


def _closing_fence(text: str) -> list[str]:
    """The fence that closes a code block a cut-off reply left open (else the rest of the
    file would read as code), or nothing."""
    open_fence = None
    for line in text.splitlines():
        found = _FENCE.match(line)
        if found is None:
            continue
        mark = found.group(1)
        if open_fence is None:
            open_fence = mark
        elif mark[0] == open_fence[0] and len(mark) >= len(open_fence):
            open_fence = None
    return [open_fence] if open_fence else []


def as_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()


def filename(thread: Thread, extension: str) -> str:
    """A safe file name from the title: letters, digits and dashes."""
    stem = re.sub(r"[^\w]+", "-", thread.title or "chat", flags=re.ASCII).strip("-").lower()
    return f"{thread.pk}-{stem[:40] or 'chat'}.{extension}"


def user_archive(*, user: AnyUser) -> bytes:
    """All of the user's threads in one zip: JSON and Markdown of each."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for thread in selectors.thread_list(user=user).select_related("assistant").iterator():
            detail = selectors.thread_detail(user=user, thread_id=thread.pk)
            archive.writestr(filename(thread, "json"), as_json(thread_export(thread)))
            archive.writestr(filename(thread, "md"), thread_markdown(thread, detail.messages))
    return buffer.getvalue()
