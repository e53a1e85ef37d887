"""The live runs board: the runs active now with their user, assistant, age, tokens so far
and rate, and a Stop that works from any process. The cross-process test runs a real
`manage.py run_worker` on PostgreSQL and Redis, and stops its run from this process's admin."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_sync
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from chat import services
from chat.models import Assistant, Message, Run
from tests.chat.test_health import required_url
from tests.deploy.topology import app_env, worker_process

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def assistant(transactional_db: None) -> Assistant:
    return Assistant.objects.get_or_create(is_default=True, defaults={"name": "Simulator"})[0]


def board(client: Client) -> str:
    response = client.get("/admin/chat/liverun/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_board_lists_active_runs_only(
    alice: User, bob: User, admin_client: Client, make_thread: Any
) -> None:
    _, live = make_thread(alice, status="in_progress")
    make_thread(bob, status="completed")
    Run.objects.filter(pk=live.pk).update(live_tokens=321, lease_owner="worker-7:1:x")
    page = board(admin_client)
    assert f'data-run="{live.pk}"' in page and "321" in page and "worker-7:1:x" in page
    assert page.count("data-run=") == 1 and "alice" in page and "bob" not in page


def test_stopping_a_run_nobody_holds_cancels_it_here(
    alice: User, admin_client: Client, make_thread: Any
) -> None:
    _, run = make_thread(alice, status="in_progress")
    response = admin_client.post(f"/admin/chat/liverun/{run.pk}/stop/", follow=True)
    assert "was not held by any process; it is now cancelled" in response.content.decode()
    assert Run.objects.get(pk=run.pk).status == "cancelled"


def test_stopping_an_ended_run_says_so_and_changes_nothing(
    alice: User, admin_client: Client, make_thread: Any
) -> None:
    _, run = make_thread(alice, status="completed")
    response = admin_client.post(f"/admin/chat/liverun/{run.pk}/stop/", follow=True)
    assert "had already ended" in response.content.decode()
    assert Run.objects.get(pk=run.pk).status == "completed"


def test_stop_is_a_post_for_staff_only(
    alice: User, alice_client: Client, admin_client: Client, make_thread: Any
) -> None:
    _, run = make_thread(alice, status="in_progress")
    assert admin_client.get(f"/admin/chat/liverun/{run.pk}/stop/").status_code == 405
    assert alice_client.post(f"/admin/chat/liverun/{run.pk}/stop/").status_code == 302
    assert Run.objects.get(pk=run.pk).status == "in_progress"


# -- across two processes --------------------------------------------------------------------


@pytest.fixture
def worker(tmp_path: Path, simulator_url: str, settings: Any) -> Iterator[dict[str, str]]:
    """A `run_worker` process on this test's PostgreSQL database and Redis."""
    settings.RUN_LEASE_SECONDS = 1.5  # as every process of a deployment, the worker's too
    database = required_url("DATABASE_URL")
    redis_url = required_url("REDIS_URL")
    assert connection.vendor == "postgresql"
    name = connection.settings_dict["NAME"]
    env = app_env(
        DATABASE_URL=database.rsplit("/", 1)[0] + f"/{name}",
        REDIS_URL=redis_url,
        REDIS_KEY_PREFIX=f"test-board-{time.monotonic_ns()}",
        RUN_EXECUTION="worker",
        RUN_LEASE_SECONDS="1.5",  # renewals, and so stops, every half second
        SIMULATOR_URL=simulator_url,
        SECRET_KEY="test-only-secret-key",
    )
    with worker_process(env, log_dir=tmp_path):
        yield env


def wait_for(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.mark.services
def test_stop_from_this_process_ends_a_run_another_process_executes(
    alice: User, admin_client: Client, worker: dict[str, str]
) -> None:
    _, run = services.thread_create(owner=alice, content="/sim tokens=3000 rate=40 A saga")
    queue = f"{worker['REDIS_KEY_PREFIX']}:runs:queue"
    redis_sync.Redis.from_url(worker["REDIS_URL"]).lpush(queue, run.pk)

    def streaming() -> bool:
        return Run.objects.filter(pk=run.pk, live_tokens__gt=0).exists()

    wait_for(streaming, "the worker to report tokens")
    page = board(admin_client)
    held = Run.objects.get(pk=run.pk)
    assert held.lease_owner and held.lease_owner in page  # the worker's name, not ours
    assert "tokens/s" in page

    admin_client.post(f"/admin/chat/liverun/{run.pk}/stop/")
    started = time.monotonic()
    wait_for(lambda: Run.objects.get(pk=run.pk).status == "cancelled", "the run to stop", 10)
    # A renewal every 0.5 s, then the engine's cancel (at most 0.8 s): seconds, not a lease.
    assert time.monotonic() - started < 5.0
    reply = Message.objects.get(run=run, role="assistant")
    assert reply.status == "incomplete" and len(reply.content) > 0
    assert f'data-run="{run.pk}"' not in board(admin_client)
