"""What a run's upstream is sent as history, which is the branch on show (`chat.branches`):
the messages up the parent links from the run's user message, and whether an upstream that
keeps the conversation itself holds this branch or another one.
"""

from __future__ import annotations

from django.db import connection

from chat.models import Assistant, Message, Run

BRANCH_NOTE = "This branch's history was sent to the upstream as a new conversation."


def upstream_on_branch(run: Run, user_message: Message) -> bool:
    """Whether the upstream's conversation ends where this run's branch does before its
    user message: the thread's previous run (the last one the upstream saw) answered the
    message before it. By induction, everything the upstream holds is then on the branch."""
    if run.prompt_id is not None:
        return False  # a reply made again: the upstream holds the old reply after its prompt
    previous = Run.objects.filter(thread_id=run.thread_id, pk__lt=run.pk).order_by("-pk")
    previous_run = previous.values_list("pk", "prompt_id").first()
    parent = Message.objects.filter(pk=user_message.parent_id or 0)
    before = parent.values_list("role", "run_id").first()
    if previous_run is None or before is None:
        return previous_run is None and before is None
    role, run_of_parent = before
    if role != Message.Role.USER:
        return run_of_parent == previous_run[0]
    # The turn before had no reply: the previous run must have answered that message.
    return user_message.parent_id == previous_run[1] or run_of_parent == previous_run[0]


def continued_text(run: Run) -> str:
    """The text of the reply the run goes on from (`Run.continues`), or "" for none."""
    if run.continues_id is None:
        return ""
    message = Message.objects.filter(pk=run.continues_id).values_list("content", flat=True)
    return message.first() or ""


HISTORY_MESSAGES = 200


def thread_history(thread_id: int, *, up_to: int, after: int = 0) -> list[dict[str, str]]:
    """The messages of the branch ending at `up_to`, as an upstream that holds none needs
    them, oldest first, stopped and failed replies included (their text is what the user
    saw); the context budget trims later."""
    sql = _HISTORY_SQL.format(table=connection.ops.quote_name(Message._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, [up_to, thread_id, HISTORY_MESSAGES * 4, after, HISTORY_MESSAGES])
        rows = cursor.fetchall()
    return [{"role": role, "content": content} for role, content in reversed(rows)]


# Up the parent links from one message, then the newest non-empty ones after `after`, in one
# statement (SQLite and PostgreSQL alike): it runs in every message's POST. The depth bound
# keeps a corrupt cycle from running for ever; empty replies fill part of it.
_HISTORY_SQL = """
WITH RECURSIVE branch(id, parent_id, depth) AS (
    SELECT id, parent_id, 0 FROM {table} WHERE id = %s AND thread_id = %s
    UNION ALL
    SELECT m.id, m.parent_id, b.depth + 1 FROM {table} m JOIN branch b ON m.id = b.parent_id
    WHERE b.depth < %s
)
SELECT m.role, m.content FROM {table} m JOIN branch b ON m.id = b.id
WHERE m.id > %s AND m.content <> ''
ORDER BY m.id DESC
LIMIT %s
"""


def upstream_holds_history(assistant: Assistant, upstream_thread_id: str) -> bool:
    """An Assistants server holds its thread; a Responses server its chain of responses, when
    the assistant says it keeps them. Every other upstream is sent the whole history."""
    if not upstream_thread_id:
        return False
    return assistant.protocol == "assistants" or assistant.chains_responses


def chained_up_to(run: Run) -> int:
    """The last message of the thread's last completed run (the chain holds it)."""
    done = Message.objects.filter(
        thread_id=run.thread_id, run__status=Run.Status.COMPLETED, run_id__lt=run.pk
    )
    return done.order_by("-pk").values_list("pk", flat=True).first() or 0
