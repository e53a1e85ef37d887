"""Assistants: an upstream, its model and settings, as the operator (or an API user) chose."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
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
