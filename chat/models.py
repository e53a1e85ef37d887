"""Threads, messages and runs are ours; an upstream only ever sees copies of them.

Models hold data and single-row invariants. Rules that span rows live in the database as
constraints (one default assistant, one active run per thread) so that two concurrent
requests cannot both win, and in `chat.services` for everything else.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from chat import upstream_policy
from chat.simulator_key import simulator_key


def default_response_format() -> str | dict[str, Any]:
    return "auto"


def default_truncation_strategy() -> dict[str, Any]:
    return {"type": "auto", "last_messages": None}


class Protocol(models.TextChoices):
    ASSISTANTS = "assistants", "Assistants API v2"
    CHAT_COMPLETIONS = "chat_completions", "Chat Completions"
    RESPONSES = "responses", "Responses API"


class ResponsesHistory(models.TextChoices):
    # The safe default: a gateway in front of a model server may keep no state, and a
    # follow-up chained to a response it forgot is answered without the conversation.
    FULL = "full", "Send the whole history from this app's database"
    PREVIOUS_RESPONSE = "previous_response_id", "Chain to the previous response (stateful server)"


# Upstream ids are the upstream's choice, of any length (a gateway's response ids ran to 461
# characters): text, never a bounded column whose overflow would roll the final save back.
def upstream_id_field(help_text: str = "") -> models.TextField[str, str]:
    return models.TextField(blank=True, default="", help_text=help_text)


TOOL_CHOICE_KEYWORDS = ("auto", "required", "none")


class Assistant(models.Model):
    name = models.CharField(max_length=200)
    protocol = models.CharField(max_length=32, choices=Protocol, default=Protocol.ASSISTANTS)
    base_url = models.CharField(
        max_length=500,
        blank=True,
        help_text="Upstream base URL, e.g. http://localhost:11434/v1. "
        "Blank means the built-in simulator (the SIMULATOR_URL setting).",
    )
    api_key_env = models.CharField(
        max_length=200,
        blank=True,
        help_text="The NAME of an environment variable holding the API key, e.g. "
        "OPENAI_API_KEY; never the key itself. Blank means no key is sent.",
    )
    upstream_assistant_id = upstream_id_field(
        "This assistant's id at an Assistants upstream; created on first use, and again if "
        "the upstream forgot it."
    )
    model = models.CharField(max_length=200, default="gpt-4o")
    instructions = models.TextField(blank=True)
    tools = models.JSONField(
        default=list, blank=True, help_text="A list of Assistants v2 tool objects."
    )
    temperature = models.FloatField(null=True, blank=True)
    top_p = models.FloatField(null=True, blank=True)
    max_tokens = models.PositiveIntegerField(null=True, blank=True)
    tool_choice = models.CharField(
        max_length=200,
        default="auto",
        blank=True,
        help_text="auto (blank), required, none, or the name of one of the function tools, "
        "which the model must then call in its first answer. Sent with tools only.",
    )
    context_window = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="The model's context window in tokens (e.g. 2048 for a small local model). "
        "The history sent is trimmed to fit it with room for the reply; blank means the "
        "CONTEXT_BUDGET_TOKENS setting.",
    )
    responses_history = models.CharField(
        max_length=32,
        choices=ResponsesHistory,
        default=ResponsesHistory.FULL,
        blank=True,
        help_text="Responses API only: how a follow-up carries the conversation (blank: the "
        "whole history).",
    )
    response_format = models.JSONField(default=default_response_format, blank=True)
    truncation_strategy = models.JSONField(default=default_truncation_strategy, blank=True)
    is_default = models.BooleanField(default=False)
    # Set for an assistant a user made over the Assistants API (`chat.v1`): it runs on the
    # upstream of the operator's assistant for its model, and only its owner sees it.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_assistants",
    )
    description = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # Deleted over the API: gone for its owner, kept for the threads and runs that used it.
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            # A partial unique index: any number of False rows, at most one True row.
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_assistant"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if refused := upstream_policy.problems(self):
            raise ValidationError(refused)
        if not isinstance(self.tools, list) or not all(
            isinstance(tool, dict) and "type" in tool for tool in self.tools
        ):
            raise ValidationError({"tools": "A list of objects, each with a 'type'."})
        choice = self.tool_choice = self.tool_choice.strip() or "auto"
        if choice not in TOOL_CHOICE_KEYWORDS and choice not in self.function_names():
            known = ", ".join([*TOOL_CHOICE_KEYWORDS, *self.function_names()])
            raise ValidationError({"tool_choice": f"One of: {known}."})

    def function_names(self) -> list[str]:
        functions = (tool.get("function") or {} for tool in self.tools or [])
        return [str(f["name"]) for f in functions if isinstance(f, dict) and f.get("name")]

    @property
    def chains_responses(self) -> bool:
        """A Responses upstream trusted to keep the conversation: follow-ups are chained to
        the previous response and send only what it has not seen."""
        return (
            self.protocol == Protocol.RESPONSES
            and self.responses_history == ResponsesHistory.PREVIOUS_RESPONSE
        )

    def resolved_base_url(self) -> str:
        # Resolved at run time, not stored, so that the default row follows SIMULATOR_URL
        # (which depends on PORT) wherever the database is moved.
        return (self.base_url or settings.SIMULATOR_URL).rstrip("/")

    def api_key(self) -> str | None:
        if not self.api_key_env:
            # The built-in simulator: the key the one mounted at /sim asks of this app.
            return None if self.base_url else simulator_key()
        if not upstream_policy.key_may_be_sent(self):
            return None
        return os.environ.get(self.api_key_env) or None


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


class UserUsage(User):
    """A read-only admin view of token usage per user (see `chat.admin`)."""

    class Meta:
        proxy = True
        verbose_name = "usage per user"
        verbose_name_plural = "usage per user"


class LiveRun(Run):
    """The admin's board of active runs, and each run's inspector (`chat.admin_pages`)."""

    class Meta:
        proxy = True
        verbose_name = "live run"
        verbose_name_plural = "live runs"


# API keys, budgets, ledgers and usage per day live in their own modules; imported here so
# that Django registers them as the chat app's models.
from chat.models_keys import ApiKey as ApiKey  # noqa: E402
from chat.ops_models import (  # noqa: E402, F401
    GroupBudget,
    TokenLedger,
    UsageDay,
    UsageDayTotal,
    UserBudget,
)
