"""Writes that make or choose branches (`chat.branches`): a reply made again, a message
edited and sent again, a switch to another version. Each finds and locks the user's thread
like `services.run_start_for`, and leaves the thread's leaf on the branch the user is now
on. Old branches stay, with their runs and usage.
"""

from __future__ import annotations

from django.db import transaction

from chat import selectors, services
from chat.errors import InvalidInput, NotFound
from chat.models import Message, Run, Thread


def run_regenerate_for(*, user_id: int, thread_id: int, message_id: int) -> Run:
    """A new run answering the user message `message_id` again: its reply becomes a
    sibling of the earlier ones. The run's `user_message` is that message."""
    with transaction.atomic():
        thread = services.thread_lock(user_id=user_id, thread_id=thread_id)
        prompt = _user_message(thread, message_id)
        services.check_rate(user_id)
        run = services.run_create(thread=thread, content="", parent_id=None, prompt=prompt)
        services.thread_touch(thread)
    return run


def message_resend_for(*, user_id: int, thread_id: int, message_id: int, content: str) -> Run:
    """The user message `message_id`, edited: a new message beside it (same parent) with a
    new run. The run's `user_message` is the new message."""
    content = services.clean_content(content)
    with transaction.atomic():
        thread = services.thread_lock(user_id=user_id, thread_id=thread_id)
        edited = _user_message(thread, message_id)
        services.check_rate(user_id)
        run = services.run_create(thread=thread, content=content, parent_id=edited.parent_id)
        services.thread_touch(thread)
    return run


def run_continue_for(*, user_id: int, thread_id: int, message_id: int) -> Run:
    """A new run going on from the reply `message_id`, which was stopped, cut off or failed
    part-way: the model is sent its text as the start of its answer and writes the rest.
    The new reply (the old text and the rest) is another version of the old one."""
    with transaction.atomic():
        thread = services.thread_lock(user_id=user_id, thread_id=thread_id)
        partial = _unfinished_reply(thread, message_id)
        services.check_rate(user_id)
        prompt = _prompt_of(partial)
        run = services.run_create(thread=thread, content="", parent_id=None, prompt=prompt)
        Run.objects.filter(pk=run.pk).update(continues=partial)
        run.continues = partial
        services.thread_touch(thread)
    return run


# Only Chat Completions servers take a last assistant message as the start of the answer to
# go on from (llama.cpp, vLLM, Ollama prefill it). An Assistants thread or a Responses input
# ending with the assistant's words is answered afresh, which is not continuing.
CONTINUE_PROTOCOLS = ("chat_completions",)
CANNOT_CONTINUE = (
    "This assistant's upstream cannot go on from a partial reply (only Chat Completions "
    "servers can). Use Retry to have the reply written again."
)
UNFINISHED_RUNS = (Run.Status.CANCELLED, Run.Status.INCOMPLETE, Run.Status.FAILED, "expired")


def _unfinished_reply(thread: Thread, message_id: int) -> Message:
    reply = thread.messages.select_related("run").filter(pk=message_id).first()
    if reply is None:
        raise NotFound("No such message in this thread.")
    if thread.assistant.protocol not in CONTINUE_PROTOCOLS:
        raise InvalidInput(CANNOT_CONTINUE, code="continue_unsupported")
    stopped = reply.run is not None and reply.run.status in UNFINISHED_RUNS
    unfinished = stopped or reply.status == Message.Status.INCOMPLETE
    if reply.role == Message.Role.USER or not reply.content or not unfinished:
        raise InvalidInput(
            "Only a reply that stopped part-way, with some text, can be continued.",
            code="nothing_to_continue",
        )
    return reply


def _prompt_of(reply: Message) -> Message:
    """The user message a reply answers: up its parents to the first user message."""
    message = reply
    while message.role != Message.Role.USER and message.parent is not None:
        message = message.parent
    if message.role != Message.Role.USER:
        raise InvalidInput("This reply answers no message.", code="nothing_to_continue")
    return message


def branch_select_for(*, user_id: int, thread_id: int, message_id: int) -> Thread:
    """Show the branch through message `message_id`, down to its newest end. The thread is
    not bumped in the list: looking at an old version is not news."""
    with transaction.atomic():
        thread = services.thread_lock(user_id=user_id, thread_id=thread_id)
        tree = selectors.thread_tree_load(thread_id=thread.pk)
        if message_id not in tree.nodes:
            raise NotFound("No such message in this thread.")
        thread.leaf_id = tree.extend(message_id)
        thread.save(update_fields=["leaf"])
    return thread


def _user_message(thread: Thread, message_id: int) -> Message:
    message = thread.messages.filter(pk=message_id).first()
    if message is None:
        raise NotFound("No such message in this thread.")
    if message.role != Message.Role.USER:
        raise InvalidInput(
            "Only a message you sent can be answered again or edited.", code="not_a_user_message"
        )
    return message
