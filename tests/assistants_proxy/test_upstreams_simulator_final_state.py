"""What each upstream adapter can tell of a finished run's final state."""

from __future__ import annotations

import pytest
from simulator_client import no_server_errors  # noqa: F401
from upstreams_client import SEED_TEXT, collect, request, run_of, upstream_for
from upstreams_params import parametrize_stateless

from assistants_proxy.accumulator import message_text
from assistants_proxy.errors import RunNotFoundError

pytestmark = pytest.mark.usefixtures("no_server_errors")


@parametrize_stateless
async def test_stateless_upstreams_cannot_tell_a_final_state(
    protocol: str, simulator_url: str
) -> None:
    async with upstream_for(protocol, simulator_url) as upstream:
        _, run = await collect(upstream.start_run(request("Hello")))
        ids = {"thread_id": run_of(run)["thread_id"], "run_id": run_of(run)["id"]}
        assert await upstream.final_state(**ids) is None
        with pytest.raises(RunNotFoundError):  # a finished run is not kept
            upstream.submit_tool_outputs(**ids, tool_outputs=[])


async def test_the_assistants_final_state_is_the_servers_run_and_messages(
    simulator_url: str,
) -> None:
    async with upstream_for("assistants", simulator_url) as upstream:
        _, run = await collect(upstream.start_run(request("Hello")))
        ids = {"thread_id": run_of(run)["thread_id"], "run_id": run_of(run)["id"]}
        state = await upstream.final_state(**ids)
        _, again = await collect(upstream.start_run(request("Hello", thread_id=ids["thread_id"])))

    assert state is not None
    stored, messages = state
    assert stored["status"] == "completed"
    assert [message_text(m) for m in messages] == [SEED_TEXT]
    assert again.texts() == [SEED_TEXT] and run_of(again)["thread_id"] == ids["thread_id"]
