"""Fixtures of the fan-out's tests on the real Redis."""

from __future__ import annotations

import uuid

import pytest
from pytest_django import Settings

from tests.chat.test_health import required_url


@pytest.fixture
def redis_settings(settings: Settings) -> Settings:
    """Redis for the test (skips without REDIS_URL, fails with REQUIRE_SERVICES=1), under a
    key prefix of its own."""
    settings.REDIS_URL = required_url("REDIS_URL")
    settings.REDIS_KEY_PREFIX = f"test-{uuid.uuid4().hex[:12]}"
    return settings
