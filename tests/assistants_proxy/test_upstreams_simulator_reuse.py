"""Each upstream adapter keeps one connection to the simulator for runs one after another."""

from __future__ import annotations

from urllib.parse import urlsplit

import psutil
import pytest
from simulator_client import no_server_errors  # noqa: F401
from upstreams_client import request, upstream_for
from upstreams_params import parametrize_protocols, unique

from assistants_proxy.events import TERMINAL_RUN_EVENTS

pytestmark = pytest.mark.usefixtures("no_server_errors")


def _client_ports(base_url: str) -> set[int]:
    """Local ports of this process's open connections to the server at `base_url`."""
    port = urlsplit(base_url).port
    return {
        conn.laddr.port
        for conn in psutil.Process().net_connections("tcp")
        if conn.raddr and conn.raddr.port == port and conn.status == psutil.CONN_ESTABLISHED
    }


@parametrize_protocols
async def test_runs_one_after_another_reuse_one_connection(
    protocol: str, simulator_url: str
) -> None:
    """Read as the run engine reads: up to the run's end, not to the end of the body."""
    seen: list[set[int]] = []
    async with upstream_for(protocol, simulator_url) as upstream:
        for text in ("Hello", "And again"):
            async with upstream.start_run(request(unique(text))) as events:
                async for event in events:
                    if event.name in TERMINAL_RUN_EVENTS:
                        break
            seen.append(_client_ports(simulator_url))

    assert len(seen[0]) == 1
    assert seen[1] == seen[0]
