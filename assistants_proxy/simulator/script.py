"""The scripted replies, independent of any wire protocol.

Given the user's text (directives already removed) and any tool outputs, `plan_reply` says
what the "model" does: stream text tokens, or call the `get_weather` function, optionally
after a code_interpreter call. Renderers for other protocols (Chat Completions, Responses)
can replay the same plan; only `wire.py`/`runner.py` know Assistants v2.
"""

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from .markdown import markdown_tokens
from .tokens import count_tokens, tokenize

GREETING_REPLY = "Hello! How can I assist you today?"  # the seed's reply, 9 deltas
REFUSAL_REPLY = "I'm sorry, I can't assist with that request."  # as a real refusal reads
REASONING_SUMMARY = "The user wrote to me; I will answer briefly and clearly."
DEFAULT_LOCATION = "San Francisco, CA"
WEATHER_FUNCTION = "get_weather"
DEFAULT_REPLY_TOKENS = 100  # long enough for a paragraph, a list and a code block

_GREETING = re.compile(r"^\s*(hello|hi|hey)\s*[!.?,]*\s*$", re.IGNORECASE)
_LOCATION = re.compile(r"\b(?:in|for|at)\s+([A-Z][\w .,'-]*?)\s*[?.!]*\s*$")
_ARGUMENT_PIECES = re.compile(r'[{}":,]+|[^{}":,]+')
_CODE_INPUT = "import math\n\nprint(math.sqrt(1764))"
_CODE_LOGS = "42.0\n"


@dataclass(frozen=True)
class FunctionCall:
    name: str
    arguments: str

    @property
    def fragments(self) -> list[str]:
        """The argument string in the small pieces a model streams it in."""
        return _ARGUMENT_PIECES.findall(self.arguments)


@dataclass(frozen=True)
class CodeCall:
    input: str
    logs: str

    @property
    def fragments(self) -> list[str]:
        return tokenize(self.input)


@dataclass(frozen=True)
class Plan:
    """What one model turn produces; `function_call` set means the turn stops for a tool."""

    tokens: tuple[str, ...] = ()
    function_call: FunctionCall | None = None
    code: CodeCall | None = None
    refusal: bool = False  # the tokens are a refusal (Chat `refusal`, Responses refusal part)
    reasoning: tuple[str, ...] = ()  # a reasoning summary streamed before the reply

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    @property
    def completion_tokens(self) -> int:
        return len(self.tokens)


def plan_reply(
    text: str,
    *,
    tokens: int | None = None,
    code: bool = False,
    tool_outputs: tuple[str, ...] = (),
    default_tokens: int = DEFAULT_REPLY_TOKENS,
    functions: frozenset[str] | None = None,
    refuse: bool = False,
    reasoning: bool = False,
    nul: bool = False,
) -> Plan:
    """`functions` are the function names the request offers (None: the assistant's own
    tools, which include `get_weather`); a request without `get_weather` gets text. `nul`
    puts a NUL character in the reply's first token (a database that cannot store it)."""
    plan = _plan(text, tokens, code, tool_outputs, default_tokens, functions, refuse)
    if nul and plan.tokens:
        plan = replace(plan, tokens=("NUL\x00 ", *plan.tokens))
    if reasoning:
        return replace(plan, reasoning=tuple(tokenize(REASONING_SUMMARY)))
    return plan


def _plan(
    text: str,
    tokens: int | None,
    code: bool,
    tool_outputs: tuple[str, ...],
    default_tokens: int,
    functions: frozenset[str] | None,
    refuse: bool,
) -> Plan:
    code_call = CodeCall(_CODE_INPUT, _CODE_LOGS) if code and not tool_outputs else None
    if refuse:
        return Plan(tuple(tokenize(REFUSAL_REPLY)), refusal=True)
    if tool_outputs:
        return Plan(tuple(tokenize(weather_reply(text, tool_outputs))))
    offered = functions is None or WEATHER_FUNCTION in functions
    if "weather" in text.lower() and offered:
        return Plan(function_call=weather_call(text), code=code_call)
    if _GREETING.match(text):
        return Plan(tuple(tokenize(GREETING_REPLY)), code=code_call)
    count = tokens if tokens is not None else default_tokens
    return Plan(tuple(markdown_tokens(count, seed=text)), code=code_call)


def weather_call(text: str) -> FunctionCall:
    match = _LOCATION.search(text)
    location = match.group(1).strip(" ,.") if match else DEFAULT_LOCATION
    unit = "f" if "fahrenheit" in text.lower() else "c"
    arguments = json.dumps({"location": location, "unit": unit}, separators=(",", ":"))
    return FunctionCall(WEATHER_FUNCTION, arguments)


def weather_reply(text: str, tool_outputs: tuple[str, ...]) -> str:
    location = json.loads(weather_call(text).arguments)["location"]
    report = "; ".join(output.strip() for output in tool_outputs)
    return (
        f"Here is the current weather for {location}: {report}. Dress for it, and have a great day!"
    )


def estimate_prompt_tokens(
    texts: list[str], instructions: str | None, tools: list[dict[str, Any]]
) -> int:
    """A deterministic stand-in for the tokenizer: word-ish tokens plus per-item overheads.

    Real prompts also count tool schemas and chat framing, so each message costs 4 more and
    each tool its JSON length / 4; clients only need the numbers to be stable and plausible.
    """
    framing = 4 * len(texts) + 3
    schema = sum(len(json.dumps(tool)) // 4 for tool in tools)
    words = sum(count_tokens(text) for text in texts) + count_tokens(instructions or "")
    return framing + schema + words
