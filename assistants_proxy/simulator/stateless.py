"""``POST /v1/chat/completions`` and ``POST /v1/responses``: one scripted turn each.

The same script and the same ``/sim`` directives as the Assistants endpoints, so a suite
can run once per protocol. These protocols keep no runs: a streamed turn lives as long as
its connection; ``stream: false`` answers the whole object at once (no pacing; a fault
directive then answers 500). The Responses endpoint remembers which user message each
response answered, so a turn chained with `previous_response_id` (a tool result) knows
what it is answering.
"""

from typing import Any

from assistants_proxy.ids import new_id

from .asgi import JsonResponse, Request, Response, StreamResponse
from .channel import EventChannel
from .chat_wire import ChatRenderer
from .directives import Directives, parse_directives
from .errors import ApiError, context_exceeded
from .responses_wire import ResponsesRenderer
from .script import Plan, estimate_prompt_tokens, plan_reply
from .service import Simulator
from .turn_runner import Renderer, TurnRunner, Usage, limit
from .turns import Turn, chat_turn, responses_turn


def chat_completions(sim: Simulator, request: Request) -> Response:
    turn = chat_turn(request.json())
    return _answer(sim, turn, ChatRenderer(turn))


def responses(sim: Simulator, request: Request) -> Response:
    body = request.json()
    turn = responses_turn(body, sim.store)
    previous = body.get("previous_response_id")
    renderer = ResponsesRenderer(turn, previous if isinstance(previous, str) else None)
    sim.store.response_texts[renderer.id] = turn.user_text
    return _answer(sim, turn, renderer)


def _answer(sim: Simulator, turn: Turn, renderer: Renderer) -> Response:
    sim.inject_failure(turn.user_text)
    directives, text = parse_directives(turn.user_text)
    plan = _plan(sim, turn, directives, text)
    prompt = estimate_prompt_tokens(list(turn.texts), turn.instructions, list(turn.tools))
    if directives.context is not None and prompt > directives.context:
        raise context_exceeded(directives.context, prompt)
    if not turn.stream:
        return JsonResponse(_whole(plan, directives, renderer, prompt, turn.max_tokens))
    channel = EventChannel()
    settings = sim.settings
    runner = TurnRunner(
        plan,
        directives,
        renderer,
        channel,
        prompt_tokens=prompt,
        max_tokens=turn.max_tokens,
        rate=settings.rate,
        first_token_delay=settings.first_token_delay,
    )
    sim.launch(runner.run())
    return StreamResponse(channel, drop_after=directives.drop_after, done_frame=renderer.done_frame)


def _plan(sim: Simulator, turn: Turn, directives: Directives, text: str) -> Plan:
    return plan_reply(
        text,
        tokens=directives.tokens,
        tool_outputs=turn.tool_outputs,
        default_tokens=sim.settings.default_tokens,
        functions=turn.functions,
        refuse=directives.refuse,
        reasoning=directives.reasoning,
        nul=directives.nul,
    )


def _whole(
    plan: Plan, directives: Directives, renderer: Renderer, prompt: int, max_tokens: int | None
) -> Any:
    """The turn rendered at once, for ``stream: false``; frames are built and dropped."""
    if directives.fail is not None or directives.error_event is not None:
        raise ApiError("The server had an error while processing your request (simulated).")
    renderer.start()
    for token in plan.reasoning:
        renderer.reasoning(token)
    call = plan.function_call
    if call is not None:
        renderer.call(new_id("call"), call.name)
        for fragment in call.fragments:
            renderer.arguments(fragment)
        count, reason = len(call.fragments), "tool_calls"
    else:
        tokens, reason = limit(plan.tokens, max_tokens)
        for token in tokens:
            renderer.text(token, refusal=plan.refusal, stamp=None)
        count = len(tokens)
    reasoning = len(plan.reasoning)
    renderer.finish(reason, Usage(prompt, count + reasoning, reasoning))
    return renderer.body()
