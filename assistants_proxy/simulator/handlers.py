"""One handler per endpoint: unpack the request, call the `Simulator`, shape the answer."""

from . import bodies, wire
from .asgi import JsonResponse, Request, Response, StreamResponse
from .channel import EventChannel, NullChannel
from .errors import BadRequest
from .service import Simulator
from .store import RunRecord
from .wire import JsonObject


def create_assistant(sim: Simulator, request: Request) -> Response:
    body = request.json()
    bodies.string_field(body, "model")
    return JsonResponse(sim.store.add_assistant(wire.assistant(params=body)))


def get_assistant(sim: Simulator, request: Request) -> Response:
    return JsonResponse(sim.store.assistant(request.params["assistant_id"]))


def create_thread(sim: Simulator, request: Request) -> Response:
    return JsonResponse(sim.create_thread(request.json()))


def get_thread(sim: Simulator, request: Request) -> Response:
    return JsonResponse(sim.store.thread(request.params["thread_id"]))


def modify_thread(sim: Simulator, request: Request) -> Response:
    thread = sim.store.thread(request.params["thread_id"])
    body = request.json()
    if "metadata" in body:
        thread["metadata"] = bodies.object_field(body, "metadata")
    return JsonResponse(thread)


def delete_thread(sim: Simulator, request: Request) -> Response:
    thread_id = request.params["thread_id"]
    sim.store.delete_thread(thread_id)
    return JsonResponse(wire.deleted(thread_id, "thread"))


def create_message(sim: Simulator, request: Request) -> Response:
    return JsonResponse(sim.create_message(request.params["thread_id"], request.json()))


def list_messages(sim: Simulator, request: Request) -> Response:
    messages = sim.store.thread_messages(request.params["thread_id"])
    run_id = request.query.get("run_id")
    if run_id:
        messages = [m for m in messages if m["run_id"] == run_id]
    return JsonResponse(_page(messages, request))


def get_message(sim: Simulator, request: Request) -> Response:
    params = request.params
    return JsonResponse(sim.store.message(params["thread_id"], params["message_id"]))


def create_thread_and_run(sim: Simulator, request: Request) -> Response:
    body = request.json()
    channel = _channel(body)
    return _run_response(sim.create_thread_and_run(body, channel), channel)


def create_run(sim: Simulator, request: Request) -> Response:
    body = request.json()
    channel = _channel(body)
    return _run_response(sim.create_run(request.params["thread_id"], body, channel), channel)


def list_runs(sim: Simulator, request: Request) -> Response:
    records = sim.store.thread_runs(request.params["thread_id"])
    return JsonResponse(_page([r.run for r in records], request))


def get_run(sim: Simulator, request: Request) -> Response:
    return JsonResponse(_record(sim, request).run)


def list_run_steps(sim: Simulator, request: Request) -> Response:
    return JsonResponse(_page(_record(sim, request).steps, request))


def cancel_run(sim: Simulator, request: Request) -> Response:
    return JsonResponse(sim.cancel_run(request.params["thread_id"], request.params["run_id"]))


def submit_tool_outputs(sim: Simulator, request: Request) -> Response:
    body = request.json()
    channel = _channel(body)
    params = request.params
    record = sim.submit_tool_outputs(params["thread_id"], params["run_id"], body, channel)
    return _run_response(record, channel)


def _record(sim: Simulator, request: Request) -> RunRecord:
    return sim.store.run(request.params["thread_id"], request.params["run_id"])


def _channel(body: JsonObject) -> EventChannel:
    return EventChannel() if bodies.wants_stream(body) else NullChannel()


def _run_response(record: RunRecord, channel: EventChannel) -> Response:
    if isinstance(channel, NullChannel):
        return JsonResponse(dict(record.run))
    return StreamResponse(channel, drop_after=record.directives.drop_after)


def _page(items: list[JsonObject], request: Request) -> JsonObject:
    """OpenAI's cursor pagination: ``order`` (default desc), ``limit`` 1-100, after/before."""
    order = request.query.get("order", "desc")
    if order not in {"asc", "desc"}:
        raise BadRequest("'order' must be 'asc' or 'desc'.", param="order")
    ordered = items if order == "asc" else items[::-1]
    ordered = _after(ordered, request.query.get("after"))
    ordered = _before(ordered, request.query.get("before"))
    limit = _limit(request.query.get("limit", "20"))
    return wire.page(ordered[:limit], has_more=len(ordered) > limit)


def _after(items: list[JsonObject], cursor: str | None) -> list[JsonObject]:
    ids = [item["id"] for item in items]
    return items[ids.index(cursor) + 1 :] if cursor in ids else items


def _before(items: list[JsonObject], cursor: str | None) -> list[JsonObject]:
    ids = [item["id"] for item in items]
    return items[: ids.index(cursor)] if cursor in ids else items


def _limit(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise BadRequest("'limit' must be an integer between 1 and 100.", param="limit")
    return int(raw)
