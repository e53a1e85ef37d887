"""The cast: alice owns threads; bob is another user who must only ever get 404s for them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django import Settings

from chat import services
from chat.models import Run, Thread
from chat.runs import get_engine

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _test_settings(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> None:
    # WhiteNoise warns (an error under filterwarnings=error) when STATIC_ROOT does not exist,
    # which it does not until collectstatic ran; the tests never serve static files.
    settings.STATIC_ROOT = tmp_path_factory.mktemp("staticfiles")
    # The cast logs in with real passwords; a slow hasher is no part of what is tested here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Run ids restart with each test database: Redis keys (REDIS_URL set) must not meet the
    # logs of an earlier test's run 1.
    settings.REDIS_KEY_PREFIX = f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def alice(db: None) -> User:
    return User.objects.create_user("alice", "alice@example.com", PASSWORD)


@pytest.fixture
def bob(db: None) -> User:
    return User.objects.create_user("bob", "bob@example.com", PASSWORD)


@pytest.fixture
def alice_client(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(bob: User) -> Client:
    client = Client()
    client.force_login(bob)
    return client


@pytest.fixture
def make_thread(db: None) -> Callable[..., tuple[Thread, Run]]:
    """A thread with one run, made by the service (so never launched), optionally ended."""

    def make(
        owner: User, content: str = "Hello there", status: str = "queued"
    ) -> tuple[Thread, Run]:
        thread, run = services.thread_create(owner=owner, content=content)
        if status != run.status:
            Run.objects.filter(pk=run.pk).update(status=status)
            run.refresh_from_db()
        return thread, run

    return make


class FakeEngine:
    """Records what the views ask of the engine instead of executing runs upstream."""

    def __init__(self) -> None:
        self.launched: list[int] = []
        self.cancelled: list[int] = []
        self.cancel_finds_run = False

    def launch(self, run_id: int, *, context: object = None) -> None:
        self.launched.append(run_id)

    async def cancel(self, run_id: int) -> bool:
        self.cancelled.append(run_id)
        return self.cancel_finds_run


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    fake = FakeEngine()
    monkeypatch.setattr(get_engine(), "launch", fake.launch)
    monkeypatch.setattr(get_engine(), "cancel", fake.cancel)
    return fake


@pytest.fixture(autouse=True)
async def background_work_ends() -> AsyncIterator[None]:
    """A thread's title is asked for after its first reply, in the background: the request
    ends in the test's event loop, not cut by the loop's closing (an unclosed socket, then a
    warning that fails whichever test is running when it is collected)."""
    yield
    await get_engine().background_done()
