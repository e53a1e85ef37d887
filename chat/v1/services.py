"""Writes of the Assistants API that the web app has no counterpart for: a user's
assistants, threads made with messages and metadata, messages added without a run. Runs are
started by `chat.services.run_start_on_messages`, the web's rules included.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from chat import services
from chat.models import Assistant, Message, Thread
from chat.runs.titles import title_from
from chat.v1 import catalogue, fields
from chat.v1.endpoint import BadParam

NAME_CHARS, DESCRIPTION_CHARS, INSTRUCTIONS_CHARS = 256, 512, 256_000
ROLES = (Message.Role.USER.value, Message.Role.ASSISTANT.value)


def assistant_create(*, owner: User, body: dict[str, Any]) -> Assistant:
    model = fields.required_text(body, "model", limit=200)
    assistant = Assistant(owner=owner, model=model, **catalogue.upstream_for_model(model))
    return _assistant_save(assistant, body)


def assistant_modify(*, assistant: Assistant, body: dict[str, Any]) -> Assistant:
    if "model" in body:
        model = fields.text(body, "model", limit=200)
        for field, value in catalogue.upstream_for_model(model).items():
            setattr(assistant, field, value)
        if model != assistant.model:
            assistant.upstream_assistant_id = ""  # an Assistants upstream makes it again
        assistant.model = model
    return _assistant_save(assistant, body, partial=True)


def assistant_delete(*, assistant: Assistant) -> None:
    # Kept for the threads and runs that name it; gone from the API.
    assistant.deleted_at = timezone.now()
    assistant.save(update_fields=["deleted_at"])


def _assistant_save(assistant: Assistant, body: dict[str, Any], partial: bool = False) -> Assistant:
    given = (lambda name: name in body) if partial else (lambda name: True)
    if given("name"):
        assistant.name = fields.text(body, "name", limit=NAME_CHARS)
    if given("description"):
        assistant.description = fields.text(body, "description", limit=DESCRIPTION_CHARS)
    if given("instructions"):
        assistant.instructions = fields.text(body, "instructions", limit=INSTRUCTIONS_CHARS)
    if given("tools"):
        assistant.tools = fields.tools(body)
    if given("metadata"):
        assistant.metadata = fields.metadata(body)
    if given("temperature"):
        assistant.temperature = fields.number(body, "temperature", low=0, high=2)
    if given("top_p"):
        assistant.top_p = fields.number(body, "top_p", low=0, high=1)
    try:
        assistant.clean()
    except ValidationError as exc:
        raise BadParam(" ".join(exc.messages)) from None
    assistant.save()
    return assistant


def thread_create(*, owner: User, body: dict[str, Any], assistant: Assistant) -> Thread:
    """A thread with its first messages (none is fine). `assistant` is the one that answers
    until a run names another: the web chat shows it."""
    messages = body.get("messages") or []
    if not isinstance(messages, list):
        raise BadParam("'messages' must be a list.", param="messages")
    metadata = fields.metadata(body)
    with transaction.atomic():
        thread = Thread.objects.create(owner=owner, assistant=assistant, metadata=metadata)
        for index, item in enumerate(messages):
            message_create(thread=thread, body=item, param=f"messages[{index}]")
    return thread


def thread_modify(*, thread: Thread, body: dict[str, Any]) -> Thread:
    thread.metadata = fields.metadata(body)
    thread.save(update_fields=["metadata", "updated_at"])
    return thread


def message_create(*, thread: Thread, body: Any, param: str = "") -> Message:
    """A message added to the thread; a run started later answers it."""
    prefix = f"{param}." if param else ""
    if not isinstance(body, dict):
        raise BadParam(f"'{param or 'body'}' must be an object.", param=param or None)
    role = body.get("role")
    if role not in ROLES:
        raise BadParam(f"'{prefix}role' must be 'user' or 'assistant'.", param=f"{prefix}role")
    if body.get("attachments"):
        raise BadParam("Attachments (files) are not supported here.", param=f"{prefix}attachments")
    content = services.clean_content(fields.message_text(body.get("content"), f"{prefix}content"))
    if not thread.title and role == Message.Role.USER:
        thread.title = title_from(content)
    # The API's thread is a list: each message goes after the end of the branch on show, and
    # the thread then shows the newest message's branch (a null leaf).
    message = Message.objects.create(
        thread=thread,
        parent_id=services.branch_end(thread),
        role=role,
        content=content,
        status=Message.Status.COMPLETED,
        metadata=fields.metadata(body),
    )
    thread.leaf = None
    thread.save(update_fields=["title", "leaf", "updated_at"])
    return message


def message_modify(*, message: Message, body: dict[str, Any]) -> Message:
    message.metadata = fields.metadata(body)
    message.save(update_fields=["metadata", "updated_at"])
    return message


def message_delete(*, message: Message) -> None:
    message.delete()
