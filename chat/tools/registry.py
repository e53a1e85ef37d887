"""Function tools: Python functions exposed to assistants as Assistants function tools.

A tool is registered with its name, description and JSON-schema parameters. `call_tool` never
raises: bad arguments from the model, a failing function and a timeout all become an error
output that goes back to the model, which can then say what went wrong. The run goes on.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jsonschema

ToolFunction = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    function: ToolFunction


REGISTRY: dict[str, Tool] = {}


def register(tool: Tool) -> Tool:
    jsonschema.Draft202012Validator.check_schema(tool.parameters)
    REGISTRY[tool.name] = tool
    return tool


async def call_tool(name: str, arguments: str, *, time_limit: float) -> str:
    """Run one tool call from the model; the output string is what goes back to it."""
    tool = REGISTRY.get(name)
    if tool is None:
        return _error(f"unknown function {name!r}")
    try:
        kwargs = json.loads(arguments or "{}")
        jsonschema.validate(kwargs, tool.parameters)
    except (ValueError, jsonschema.ValidationError) as exc:
        return _error(f"invalid arguments for {name}: {_reason(exc)}")
    try:
        result = await asyncio.wait_for(tool.function(**kwargs), time_limit)
    except TimeoutError:
        return _error(f"{name} timed out after {time_limit:g} s")
    except Exception as exc:  # a tool's failure is the model's to explain, not a crash
        return _error(f"{name} failed: {exc}")
    return result if isinstance(result, str) else json.dumps(result)


async def call_tools(calls: list[dict[str, Any]], *, time_limit: float) -> list[dict[str, str]]:
    """Run a `required_action`'s tool calls in parallel; outputs in the same order."""
    outputs = await asyncio.gather(
        *(
            call_tool(
                (c.get("function") or {}).get("name", ""),
                (c.get("function") or {}).get("arguments", ""),
                time_limit=time_limit,
            )
            for c in calls
        )
    )
    pairs = zip(calls, outputs, strict=True)
    return [{"tool_call_id": call.get("id", ""), "output": out} for call, out in pairs]


def _error(message: str) -> str:
    return json.dumps({"error": message})


def _reason(exc: Exception) -> str:
    return exc.message if isinstance(exc, jsonschema.ValidationError) else str(exc)
