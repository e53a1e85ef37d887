"""One run, executed against its upstream: open the stream, relay every event, persist state.

How the run ends is decided here (the upstream's stream, a failure, a cancel, the server
stopping); what that end is recorded as is `outcome`'s job, and a dropped stream's end is
taken from the upstream's final state by `recovery`.

The loop per event is the hot path: feed the accumulator, note ids and the first token, append
the frame to the run's log and hand it to the sockets. Database writes are queued to the run's
`Writer` and never awaited here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from assistants_proxy.accumulator import RunAccumulator, message_text
from assistants_proxy.errors import AssistantsError, HTTPStatusError, TransportError
from assistants_proxy.events import TERMINAL_RUN_EVENTS, StreamEvent
from assistants_proxy.upstreams import RunRequest, RunStream, Upstream
from chat.fanout.runlog import Hub, RunLog
from chat.runs import client_tools, failures, healing, outcome, recovery, silence, store
from chat.runs.budget_guard import BudgetGuard
from chat.runs.outcome import user_message
from chat.runs.prefill import Prefill
from chat.runs.saving import save_until_it_lands, telling_if_late
from chat.runs.timeline import Timeline, tool_names
from chat.runs.upstream import run_request, upstream_for, upstream_http
from chat.runs.writer import Writer

if TYPE_CHECKING:
    import datetime as dt

logger = logging.getLogger(__name__)

# How long to wait for an upstream to finish a run whose stream dropped.
RECONCILE_WAIT_SECONDS = 30.0
# Without a known context window: a stream that ends with no reply after a prompt of more
# than half of this is taken for a refused overflow.
SUSPECT_OVERFLOW_TOKENS = 2048
_RUN_STATUS_BY_EVENT = {name: name.rsplit(".", 1)[1] for name in TERMINAL_RUN_EVENTS}


class RunExecution:
    def __init__(self, *, ctx: store.RunContext, hub: Hub, log: RunLog) -> None:
        self.ctx = ctx
        self.hub = hub
        self.log = log
        self.acc = RunAccumulator()
        self.budget = BudgetGuard(ctx.run_id, ctx.budget_reserved)
        self.timeline = Timeline(ctx.user_created_at)  # stored once, at the end
        self.writer = Writer(f"run-{ctx.run_id}-writer")
        self.upstream_thread_id = ctx.upstream_thread_id
        self.upstream_run_id = ""
        self.upstream: Upstream | None = None
        self.cancel_requested = False
        self.first_token_at: dt.datetime | None = None
        self.notes: list[str] = list(ctx.notes)  # what the record says beyond its status
        self.prompt_text = ctx.user_text  # what was sent, for a usage estimate
        self.skipped_events = 0
        self.upstream_error: dict[str, Any] | None = None
        self.tool_outputs: dict[str, str] = {}  # by call id, for the record if a round fails
        self._message_pks: dict[str, int] = {}
        # Read once: a settings lookup per token is a measurable part of a token's cost.
        self._checkpoint_every = settings.RUN_CHECKPOINT_SECONDS
        self._next_checkpoint = time.monotonic() + self._checkpoint_every
        self.last_event_at = time.monotonic()  # for the silence watch (`silence`)
        self.live: RunStream | None = None  # the stream being read
        self._final_status: str | None = None
        self._last_error: dict[str, Any] | None = None
        self._synthesise_end = False
        self._end_event: StreamEvent | None = None
        self.finishing = False
        self.client_wait: client_tools.ClientWait | None = None  # outputs the client owes
        self.prefill = Prefill(ctx.prefill)  # a continued reply's start (`prefill`)

    @property
    def ended(self) -> bool:
        return self._final_status is not None

    # -- lifecycle -----------------------------------------------------------------------

    async def execute(self) -> None:
        watch = asyncio.get_running_loop().create_task(silence.watch(self))
        try:
            await self.hub.publish(self.log, "thread.message.created", user_message(self.ctx))
            async with upstream_http() as http:
                self.upstream = upstream_for(self.ctx.assistant, http, self.timeline.retried)
                request = await run_request(self.ctx, self.upstream, self.writer)
                self._note_trimming(len(request.messages))
                await self._attempt(request, second_chance=True)
        except asyncio.CancelledError:
            if self.cancel_requested:
                self._end_locally("cancelled", None)
            else:
                self._end_locally("failed", failures.INTERRUPTED)
        except AssistantsError as exc:
            self.upstream_error = failures.upstream_error(exc)
            self._end_locally("failed", failures.error_for(exc, self.ctx.assistant.protocol))
        except Exception:  # the engine must never die silently with a run half-done
            logger.exception("run %s crashed", self.ctx.run_id)
            self._end_locally("failed", failures.INTERNAL)
        finally:
            watch.cancel()
            await self._finish()

    def _note_trimming(self, sent: int) -> None:
        dropped = len(self.ctx.history) - sent
        if dropped > 0:
            window = self.ctx.assistant.context_window
            why = f"the history must fit the model's context window ({window} tokens)"
            if window is None:
                why = "the history must fit the CONTEXT_BUDGET_TOKENS setting"
            self.notes.append(healing.left_out(dropped, why))

    async def _attempt(self, request: RunRequest, *, second_chance: bool) -> None:
        """Relay the run from `request`. Before any of its events arrived, a refusal gets one
        second try (`healing`): a forgotten upstream object made again, a history trimmed
        to the model's context window."""
        try:
            await self._relay_from(request)
        except HTTPStatusError as exc:
            healed = None
            if second_chance and not self.acc.event_count and self.upstream is not None:
                healed = await healing.heal(self.ctx, self.upstream, request, exc, self.writer)
            if healed is None:
                raise
            self.notes += healed[1]
            self.timeline.mark("retry", why=healed[1], upstream=failures.upstream_error(exc))
            await self._attempt(healed[0], second_chance=False)
            return
        if self._ended_without_reply(request):
            trimmed = healing.fit_window(self.ctx, request, "") if second_chance else None
            if trimmed is None:
                self._last_error = failures.TOO_LONG
                return
            self._restart(trimmed[1])
            await self._attempt(trimmed[0], second_chance=False)

    def _ended_without_reply(self, request: RunRequest) -> bool:
        """A server that takes a prompt over its context window as a stream that ends with
        no event (llama.cpp): suspected when a long prompt got no reply at all."""
        ended = (self._last_error or {}).get("code") == failures.STREAM_ENDED_EARLY["code"]
        window = self.ctx.assistant.context_window or SUSPECT_OVERFLOW_TOKENS
        long = healing.prompt_tokens(request) > window // 2
        return ended and long and self.first_token_at is None

    def _restart(self, notes: list[str]) -> None:
        """Forget a first attempt that produced no reply, before a second one."""
        self.notes += notes
        self.timeline.mark("retry", why=notes)
        self.acc = RunAccumulator()
        self._final_status = self._last_error = self._end_event = None
        self._synthesise_end = False
        self.upstream_run_id = ""

    async def _relay_from(self, request: RunRequest) -> None:
        assert self.upstream is not None
        self.prompt_text = healing.prompt_text(request)
        self.budget.count_prompt(healing.prompt_tokens(request))
        self.timeline.sent(request, self.ctx.assistant.resolved_base_url())
        try:
            await self._relay(self.upstream.start_run(request))
        except TransportError:
            # The stream died (cut, or silent past the stall timeout): where the upstream
            # keeps runs, its final state may complete the reply.
            if not await self._reconcile():
                raise

    # -- the relay -----------------------------------------------------------------------

    async def _relay(self, stream: RunStream | None) -> None:
        rounds = 0
        while stream is not None:
            await self._relay_stream(stream)
            stream = await self._tool_round(rounds)
            rounds += 1
        # A stream that ends without the run ending was cut, cleanly or not.
        if self._final_status is None and not await self._reconcile():
            self._end_locally("failed", failures.STREAM_ENDED_EARLY)

    async def _relay_stream(self, stream: RunStream) -> None:
        hub, log, feed, budget = self.hub, self.log, self.acc.feed, self.budget
        self.live = stream
        async with stream as events:
            async for event in events:
                name = event.name
                if name == "thread.message.delta":
                    budget.spent += 1
                    if budget.spent > budget.held and not await budget.extend(self):
                        break
                    # Once per token: `_apply` without the branches a delta never takes.
                    feed(event)
                    self._on_delta(event.data)
                    # The upstream's own text of the delta, not encoded again: the accumulator
                    # reads a delta and never changes it.
                    await hub.publish(log, name, event.data, event.raw)
                    continue
                if name == "done":
                    break
                await self._apply(event)
                if self._final_status is not None:
                    break
        self.live = None
        self.skipped_events += stream.skipped_events

    async def _tool_round(self, rounds: int) -> RunStream | None:
        """After `requires_action`, run the functions and continue the run with their outputs.

        The HTTP stream ended at `requires_action`; the run goes on in the stream that
        `submit_tool_outputs` returns, relayed under the same log, so the browser sees one
        continuous run.
        """
        run = self.acc.run or {}
        if self._final_status is not None or run.get("status") != "requires_action":
            return None
        if rounds >= settings.MAX_TOOL_ROUNDS or self.upstream is None:
            self._end_locally("failed", failures.TOO_MANY_TOOL_ROUNDS)
            return None
        calls, started = client_tools.required_calls(run), self.timeline.now_ms()
        outputs = await client_tools.outputs(self, calls)
        self.timeline.mark("tool_calls", calls=tool_names(calls), since=started)
        if outputs is None:
            self._end_locally("expired", client_tools.EXPIRED)
            return None
        self.tool_outputs.update({o["tool_call_id"]: o["output"] for o in outputs})
        return self.upstream.submit_tool_outputs(
            thread_id=run.get("thread_id") or self.upstream_thread_id,
            run_id=run.get("id") or self.upstream_run_id,
            tool_outputs=outputs,
        )

    def _observe(self, event: StreamEvent) -> None:
        name = event.name
        if name == "thread.message.delta":
            self._on_delta(event.data)
        elif name == "thread.run.created":
            self._on_run_created(event.data)
        elif name == "thread.message.created" and event.data.get("role") != "user":
            self._on_message_created(event.data)
        elif name == "thread.run.requires_action":
            client_tools.on_requires_action(self, event.data)
        elif name in _RUN_STATUS_BY_EVENT:
            self._final_status = _RUN_STATUS_BY_EVENT[name]
            self._last_error = event.data.get("last_error")
        elif name == "error":
            # The stream may say nothing more: the browser is told the run failed.
            self._end_locally("failed", failures.error_from_event(event.data))

    def _on_delta(self, data: dict[str, Any]) -> None:
        if self.first_token_at is None:
            self.first_token_at = timezone.now()
        now = self.last_event_at = time.monotonic()
        if now >= self._next_checkpoint:
            self._next_checkpoint = now + self._checkpoint_every
            self.timeline.sample(self.budget.streamed)
            self._checkpoint(data.get("id", ""))

    def _checkpoint(self, upstream_id: str) -> None:
        message = self.acc.message(upstream_id)
        if message is None:
            return
        self.writer.put(
            store.Checkpoint(self._message_pks, upstream_id, message_text(message)),
            coalesce_key=f"checkpoint:{upstream_id}",
        )

    def _on_run_created(self, data: dict[str, Any]) -> None:
        self.upstream_run_id = data.get("id", "")
        self.upstream_thread_id = data.get("thread_id") or self.upstream_thread_id
        args: dict[str, Any] = dict(
            run_id=self.ctx.run_id,
            thread_id=self.ctx.thread_id,
            model=data.get("model") or "",
            upstream_thread_id=self.upstream_thread_id,
            upstream_run_id=self.upstream_run_id,
            # Only an Assistants server's thread is worth keeping: the stateless adapters
            # name the thread after ours.
            thread_is_new=self.ctx.assistant.protocol == "assistants"
            and self.upstream_thread_id != self.ctx.upstream_thread_id,
        )
        self.writer.put(lambda: store.run_mark_started(**args))

    def _on_message_created(self, data: dict[str, Any]) -> None:
        upstream_id = data.get("id", "")

        def write() -> None:
            pks = self._message_pks  # filled in the writer's order: earlier replies are in it
            pks[upstream_id] = store.assistant_message_open(
                run_id=self.ctx.run_id,
                thread=(self.ctx.thread_id, self.ctx.owner_id),
                upstream_message_id=upstream_id,
                parent_id=max(pks.values()) if pks else self.ctx.user_message_id,
            )

        self.writer.put(write)

    async def _reconcile(self) -> bool:
        """The connection dropped mid-stream: take the end from the upstream's final state."""
        if self.upstream is None or not self.upstream_run_id:
            return False
        state = await recovery.final_state(
            self.upstream,
            self.upstream_thread_id,
            self.upstream_run_id,
            wait=RECONCILE_WAIT_SECONDS,
        )
        if state is None:
            return False
        known = {m.get("id", "") for m in self.acc.messages}
        for event in recovery.state_events(state, known=known):
            await self._apply(event)
        return True

    async def _apply(self, event: StreamEvent) -> None:
        event = self.prefill.whole(event)
        self.last_event_at = time.monotonic()
        self.timeline.mark(event.name)
        self.acc.feed(event)
        self._observe(event)
        if event.name in TERMINAL_RUN_EVENTS:
            self._end_event = event  # announced by `_finish`, once it is persisted
        else:
            await self.hub.publish(self.log, event.name, event.data)
        if (opening := self.prefill.opening(event)) is not None:
            await self._apply(opening)

    # -- the end -------------------------------------------------------------------------

    def _end_locally(self, status: str, last_error: dict[str, Any] | None) -> None:
        """The run ended here, not upstream: note why; `_finish` tells the browsers."""
        if self._final_status is None:
            self._final_status = status
            self._last_error = last_error
            self.timeline.mark("ended_here", status=status, why=last_error)
            self._synthesise_end = True

    async def _finish(self) -> None:
        self.finishing = True
        status = self._final_status or "failed"
        result = self._outcome(status)
        saved = await telling_if_late(self._save(result), say_late=self._say_saving_is_late)
        failures.log_failure(self.ctx.run_id, self.ctx.assistant.resolved_base_url(), result)
        # The end is announced after the final state is committed, so a browser that sends
        # its next message on seeing it never meets the run still active (a 409).
        if self._end_event is not None and not self._synthesise_end and saved:
            await self.hub.publish(self.log, self._end_event.name, self._end_event.data)
        else:
            await self._publish_end(status, result)
        self.hub.close_log(self.log)

    async def _publish_end(self, status: str, result: store.RunOutcome) -> None:
        event, data = outcome.end_event(
            self.acc, status=status, outcome=result, run_id=self.upstream_run_id
        )
        await self.hub.publish(self.log, event, data)

    async def _save(self, result: store.RunOutcome) -> bool:
        await self.writer.close()  # the run's earlier writes, in order, before its end
        return await save_until_it_lands(
            lambda: store.run_finish(
                run_id=self.ctx.run_id, outcome=result, message_pks=self._message_pks
            ),
            what=f"run {self.ctx.run_id}",
        )

    async def _say_saving_is_late(self) -> None:
        await self.hub.publish(self.log, "notice", failures.SAVING_LATE)

    def _outcome(self, status: str) -> store.RunOutcome:
        return outcome.run_outcome(
            self.acc,
            status=status,
            last_error=self._last_error,
            prompt_text=self.prompt_text,
            first_token_at=self.first_token_at,
            keeps_conversation=self.ctx.assistant.chains_responses,
            record=outcome.Record(
                notes=self.notes,
                skipped_events=self.skipped_events,
                upstream_error=self.upstream_error,
                tool_outputs=self.tool_outputs,
                upstream_run_id=self.upstream_run_id,
                timeline=self.timeline.as_json(self.budget.streamed),
            ),
        )

    async def cancel_upstream(self) -> None:
        self.cancel_requested = True
        if self.upstream is None or not self.upstream_run_id:
            raise LookupError("the upstream run is not known yet")
        await self.upstream.cancel_run(
            thread_id=self.upstream_thread_id, run_id=self.upstream_run_id
        )
