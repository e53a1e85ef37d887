"""The protocols a test of the upstream adapters runs against, and message texts of its own."""

from __future__ import annotations

import uuid

import pytest
from upstreams_client import ALL_PROTOCOLS, STATELESS

parametrize_protocols = pytest.mark.parametrize("protocol", ALL_PROTOCOLS)
parametrize_stateless = pytest.mark.parametrize("protocol", STATELESS)


def unique(text: str) -> str:
    """`/sim status=... times=K` counts attempts per message text: keep each test's own."""
    return f"{text} {uuid.uuid4().hex[:8]}"
