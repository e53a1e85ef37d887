"""Threads, messages, runs and their steps: ours; an upstream only ever sees copies of them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from chat.models.assistants import Assistant, upstream_id_field


class Thread(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="threads"
    )
    assistant = models.ForeignKey(Assistant, on_delete=models.PROTECT, related_name="threads")
    title = models.CharField(max_length=200, blank=True)
    upstream_thread_id = upstream_id_field()
    metadata = models.JSONField(default=dict, blank=True)  # the Assistants API's, as given
    # The end of the branch the user chose (`chat.branches`): what the page shows and what
    # the next message follows. Null: the newest message's branch, which is where every new
    # run puts the thread (its messages are the newest), so a run costs no write for it.
    leaf = models.ForeignKey(
        "Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        indexes = [models.Index(fields=["owner", "-updated_at"], name="thread_owner_recent")]

    def __str__(self) -> str:
        return self.title or f"Thread {self.pk}"


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    REQUIRES_ACTION = "requires_action"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    FAILED = "failed"
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"
    EXPIRED = "expired"


ACTIVE_RUN_STATUSES: tuple[str, ...] = (
    RunStatus.QUEUED.value,
    RunStatus.IN_PROGRESS.value,
    RunStatus.REQUIRES_ACTION.value,
    RunStatus.CANCELLING.value,
)
TERMINAL_RUN_STATUSES: tuple[str, ...] = tuple(
    status.value for status in RunStatus if status.value not in ACTIVE_RUN_STATUSES
)


class Run(models.Model):
    Status = RunStatus
    ACTIVE_STATUSES = ACTIVE_RUN_STATUSES
    TERMINAL_STATUSES = TERMINAL_RUN_STATUSES

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="runs")
    assistant = models.ForeignKey(Assistant, on_delete=models.PROTECT, related_name="runs")
    upstream_run_id = upstream_id_field()
    status = models.CharField(max_length=32, choices=RunStatus, default=RunStatus.QUEUED)
    model = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    first_token_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.JSONField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    total_tokens = models.PositiveIntegerField(default=0)
    # None, not 0, when the upstream did not say: "no cache hit" and "unknown" differ.
    cached_tokens = models.PositiveIntegerField(null=True, blank=True)
    reasoning_tokens = models.PositiveIntegerField(null=True, blank=True)
    # True when the upstream reported no usage and the counts are the app's estimate.
    usage_estimated = models.BooleanField(default=False)
    # What the operator needs to know of the run beyond its status, in plain sentences: an
    # upstream object recreated after a restart, history trimmed for the context window,
    # characters cleaned before storage (`chat.runs.store`).
    notes = models.JSONField(default=list, blank=True)
    skipped_events = models.PositiveIntegerField(
        default=0, help_text="Malformed upstream events passed over."
    )
    # The upstream's whole answer when it failed the run (status, URL, body): the user sees
    # one sentence (`last_error`), the admin this.
    upstream_error = models.JSONField(null=True, blank=True)
    # The process executing the run, and until when its claim holds (`chat.runs.leases`). It
    # renews the lease while it streams; a run whose lease ran out belonged to a process that
    # died, and another one settles it.
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)  # the Assistants API's, as given
    # What this run changes of its assistant (`chat.runs.overrides`).
    overrides = models.JSONField(default=dict, blank=True)
    # While the run waits for a client's function outputs (`chat.runs.client_tools`): the
    # Assistants `required_action` the client answers.
    required_action = models.JSONField(null=True, blank=True)
    # The client's outputs, submitted through a process that does not execute the run: the
    # executing process reads them from here and clears them when the run resumes.
    submitted_tool_outputs = models.JSONField(null=True, blank=True)
    # Tokens reserved against the user's budget while the run is active (`chat.budgets`);
    # released, and the real usage counted, in the transaction that ends the run.
    budget_reserved = models.PositiveBigIntegerField(default=0)
    # Tokens streamed so far, as of the executing process's last lease renewal (the live
    # board reads it; it is written with the renewal, never per token).
    live_tokens = models.PositiveIntegerField(default=0)
    # What happened inside the run, written once when it ends (`chat.runs.timeline`).
    timeline = models.JSONField(null=True, blank=True)
    # The user message a regenerated reply answers; null when the run answers its own user
    # message (the one whose `run` it is), as every run did before branches.
    prompt = models.ForeignKey(
        "Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The stopped or cut-off reply this run goes on from: its text is sent as the start of
    # the reply (`chat.continuing`), and the new reply begins with it.
    continues = models.ForeignKey(
        "Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # Not a field: on a run that `chat.services` has just started, its user message, in hand.
    user_message: Message

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["created_at"], name="run_created"),
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(status__in=ACTIVE_RUN_STATUSES),
                name="run_active_lease",
            ),
        ]
        constraints = [
            # The guard behind the API's 409: the service inserts without asking first, and
            # of two tabs sending at once only one INSERT gets past this index.
            models.UniqueConstraint(
                fields=["thread"],
                condition=Q(status__in=ACTIVE_RUN_STATUSES),
                name="one_active_run_per_thread",
            ),
        ]

    def __str__(self) -> str:
        return f"Run {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_RUN_STATUSES

    @property
    def time_to_first_token(self) -> timedelta | None:
        # Measured from creation: what the user waited after pressing send, queueing included.
        if self.first_token_at is None:
            return None
        return self.first_token_at - self.created_at

    @property
    def duration(self) -> timedelta | None:
        if self.completed_at is None:
            return None
        return self.completed_at - self.created_at

    @property
    def tokens_per_second(self) -> float | None:
        # Generation speed: output tokens over the time spent streaming them.
        if self.first_token_at is None or self.completed_at is None:
            return None
        seconds = (self.completed_at - self.first_token_at).total_seconds()
        if seconds <= 0 or not self.completion_tokens:
            return None
        return self.completion_tokens / seconds


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"
        INCOMPLETE = "incomplete"

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    # The thread's owner, copied: PostgreSQL's search index holds it beside the words, so a
    # search reads only its user's matches, not every user's (`chat.search.postgres`). A
    # thread's owner never changes (read-only in the admin); its cascade deletes the rows.
    # Null only in the database: a NOT NULL column would make SQLite copy the table, and
    # the copy would lose its search triggers. `save` fills it.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        editable=False,
    )
    run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    # The message before this one on its branch (`chat.branches`): a reply's parent is the
    # user message it answers (or the run's previous reply), a user message's the end of the
    # branch it was sent on. Siblings are versions: regenerated replies, edited messages.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    role = models.CharField(max_length=16, choices=Role)
    content = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.IN_PROGRESS)
    upstream_message_id = upstream_id_field()
    annotations = models.JSONField(default=list, blank=True)
    # What the upstream said about the reply beside its text: a reasoning summary
    # ("reasoning_summary") and whether the model declined ("refusal": true).
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:40]}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Callers that hold the owner's id pass it and spare the query for the thread.
        if self.owner_id is None:
            self.owner_id = self.thread.owner_id
        super().save(*args, **kwargs)


class RunStep(models.Model):
    class Type(models.TextChoices):
        MESSAGE_CREATION = "message_creation"
        TOOL_CALLS = "tool_calls"

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress"
        CANCELLED = "cancelled"
        FAILED = "failed"
        COMPLETED = "completed"
        EXPIRED = "expired"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps")
    upstream_step_id = upstream_id_field()
    type = models.CharField(max_length=32, choices=Type)
    status = models.CharField(max_length=16, choices=Status, default=Status.IN_PROGRESS)
    step_details = models.JSONField(default=dict, blank=True)
    usage = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.type} ({self.status})"


class ThreadShare(models.Model):
    """A read-only link to a thread, for anyone holding it (`chat.sharing`): the branch on
    show when it was shared, until revoked."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="shares")
    token = models.CharField(max_length=64, unique=True)
    message_ids = models.JSONField(default=list)  # the branch shared, oldest first
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Share of thread {self.thread_id}"
