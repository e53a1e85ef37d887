"""`AssistantsUpstream`: the `Upstream` interface over an Assistants v2 server.

The server holds threads, runs and their history, so only the new user message is sent
when the request names a thread; without one, createThreadAndRun starts a thread holding
the whole history. Creating the assistant is the caller's job (`assistant_id`).
"""

from __future__ import annotations

from typing import Any

from assistants_proxy.client import AssistantsClient
from assistants_proxy.errors import HTTPStatusError
from assistants_proxy.upstreams.base import RunRequest, RunStream, tool_choice


class AssistantsUpstream:
    protocol = "assistants"

    def __init__(self, client: AssistantsClient) -> None:
        self.client = client

    def start_run(self, request: RunRequest) -> RunStream:
        body = run_body(request)
        if request.thread_id is None:
            thread = {"messages": [_message(m) for m in request.messages]}
            return self.client.stream_thread_and_run(thread=thread, **body)
        # One request, not create-message then create-run: the first token comes sooner.
        body["additional_messages"] = [_message(request.messages[-1])]
        return self.client.stream_run(request.thread_id, **body)

    def submit_tool_outputs(
        self, *, thread_id: str, run_id: str, tool_outputs: list[dict[str, Any]]
    ) -> RunStream:
        return self.client.stream_submit_tool_outputs(thread_id, run_id, tool_outputs)

    async def cancel_run(self, *, thread_id: str, run_id: str) -> None:
        await self.client.cancel_run(thread_id, run_id)

    async def delete_thread(self, *, thread_id: str) -> None:
        try:
            await self.client.delete_thread(thread_id)
        except HTTPStatusError as exc:
            if exc.status_code != 404:  # already gone is what deleting it was for
                raise

    async def final_state(
        self, *, thread_id: str, run_id: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """The run as the server has it now, and its assistant messages, oldest first."""
        run = await self.client.retrieve_run(thread_id, run_id)
        page = await self.client.list_messages(thread_id, run_id=run_id, order="asc", limit=100)
        messages = [m for m in page.get("data") or [] if m.get("role") == "assistant"]
        return run, messages


def run_body(request: RunRequest) -> dict[str, Any]:
    if not request.assistant_id:
        raise ValueError("an Assistants upstream needs the request's assistant_id")
    body: dict[str, Any] = {"assistant_id": request.assistant_id, "model": request.model}
    optional = {
        "instructions": request.instructions,
        "tools": request.tools or None,
        "tool_choice": tool_choice(request, nested=True) if request.tools else None,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "max_completion_tokens": request.max_tokens,
        "metadata": request.metadata or None,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    return body


def _message(message: dict[str, Any]) -> dict[str, Any]:
    return {"role": message["role"], "content": message["content"]}
