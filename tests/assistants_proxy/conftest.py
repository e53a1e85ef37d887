"""Fixtures of this folder's test families: the client tests' `upstream` (the simulator, as a
client that records what it sends sees it) and the SSE tests' `seed_pairs`."""

from __future__ import annotations

import pytest
from client_upstream import Upstream
from sse_pairs import SEED, Pairs

from assistants_proxy.sse import read_capture


@pytest.fixture
def upstream(simulator_url: str) -> Upstream:
    return Upstream(simulator_url)


@pytest.fixture(scope="module")
def seed_pairs() -> Pairs:
    return [(e.event, e.data) for e in read_capture(SEED.read_text(encoding="utf-8"))]
