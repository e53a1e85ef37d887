"""In-memory assistants, threads, messages and runs, for the simulator's lifetime.

Objects are kept as their wire dicts and mutated in place as runs progress, so a GET always
returns what the last event said. Nothing is persisted: a restart starts empty except for
the default assistant.
"""

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from .defaults import default_assistant
from .directives import Directives
from .errors import BadRequest, NotFound
from .pacing import Waker
from .script import Plan
from .wire import JsonObject

ACTIVE = {"queued", "in_progress", "requires_action", "cancelling"}


@dataclass
class RunRecord:
    """A run's wire object plus what the simulator needs to execute it."""

    run: JsonObject
    user_text: str  # the message the run answers, directives removed
    directives: Directives
    plan: Plan
    prompt_tokens: int
    steps: list[JsonObject] = field(default_factory=list)
    waker: Waker = field(default_factory=Waker)
    cancel_requested: bool = False
    task: "asyncio.Task[None] | None" = None

    @property
    def id(self) -> str:
        return str(self.run["id"])

    @property
    def active(self) -> bool:
        return self.run["status"] in ACTIVE


@dataclass
class Store:
    assistants: dict[str, JsonObject] = field(default_factory=dict)
    threads: dict[str, JsonObject] = field(default_factory=dict)
    messages: dict[str, list[JsonObject]] = field(default_factory=dict)  # oldest first
    runs: dict[str, RunRecord] = field(default_factory=dict)
    attempts: Counter[str] = field(default_factory=Counter)  # for /sim status= times=K
    # Responses API: the user text each response answered, for `previous_response_id`.
    response_texts: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.add_assistant(default_assistant())

    def add_assistant(self, assistant: JsonObject) -> JsonObject:
        self.assistants[assistant["id"]] = assistant
        return assistant

    def assistant(self, assistant_id: str) -> JsonObject:
        if assistant_id not in self.assistants:
            raise NotFound(f"No assistant found with id '{assistant_id}'.")
        return self.assistants[assistant_id]

    def add_thread(self, thread: JsonObject) -> JsonObject:
        self.threads[thread["id"]] = thread
        self.messages[thread["id"]] = []
        return thread

    def thread(self, thread_id: str) -> JsonObject:
        if thread_id not in self.threads:
            raise NotFound(f"No thread found with id '{thread_id}'.")
        return self.threads[thread_id]

    def delete_thread(self, thread_id: str) -> None:
        self.thread(thread_id)
        del self.threads[thread_id], self.messages[thread_id]

    def add_message(self, message: JsonObject) -> JsonObject:
        self.messages[message["thread_id"]].append(message)
        return message

    def thread_messages(self, thread_id: str) -> list[JsonObject]:
        self.thread(thread_id)
        return self.messages[thread_id]

    def message(self, thread_id: str, message_id: str) -> JsonObject:
        for message in self.thread_messages(thread_id):
            if message["id"] == message_id:
                return message
        raise NotFound(f"No message found with id '{message_id}'.")

    def add_run(self, record: RunRecord) -> RunRecord:
        self.runs[record.id] = record
        return record

    def run(self, thread_id: str, run_id: str) -> RunRecord:
        self.thread(thread_id)
        record = self.runs.get(run_id)
        if record is None or record.run["thread_id"] != thread_id:
            raise NotFound(f"No run found with id '{run_id}'.")
        return record

    def thread_runs(self, thread_id: str) -> list[RunRecord]:
        self.thread(thread_id)
        return [r for r in self.runs.values() if r.run["thread_id"] == thread_id]

    def ensure_idle(self, thread_id: str, action: str) -> None:
        """One active run per thread, as OpenAI enforced (a hung run locks its thread)."""
        for record in self.thread_runs(thread_id):
            if record.active:
                raise BadRequest(
                    f"Can't {action} {thread_id} while a run {record.id} is active.",
                )
