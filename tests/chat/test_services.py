from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from pytest_django import Settings

from chat import services
from chat.errors import InvalidInput, NotFound, RateLimited, RunActive, RunEnded
from chat.models import Assistant, Message, Run, Thread

pytestmark = pytest.mark.django_db

MakeThread = Callable[..., tuple[Thread, Run]]


def test_thread_create_makes_the_thread_its_message_and_a_queued_run(alice: User) -> None:
    thread, run = services.thread_create(owner=alice, content="  What is the weather?  ")
    assert thread.owner == alice
    assert thread.assistant.is_default
    assert thread.title == "What is the weather?"
    assert thread.upstream_thread_id == ""
    assert (run.thread, run.status, run.model) == (thread, "queued", "gpt-4o")
    [message] = thread.messages.all()
    assert (message.role, message.content, message.status) == (
        "user",
        "What is the weather?",
        "completed",
    )
    assert message.run == run  # the engine finds the text to send through the run


def test_thread_create_uses_the_given_assistant(alice: User) -> None:
    other = Assistant.objects.create(name="Local", model="llama3")
    thread, run = services.thread_create(owner=alice, content="hi", assistant=other)
    assert thread.assistant == run.assistant == other
    assert run.model == "llama3"


def test_the_title_is_the_first_line_cut_to_sixty_characters(alice: User) -> None:
    thread, _ = services.thread_create(owner=alice, content="First line\nsecond line")
    assert thread.title == "First line"
    thread, _ = services.thread_create(owner=alice, content="word " * 40)
    assert len(thread.title) <= 60
    assert thread.title.endswith("…")
    assert thread.title.startswith("word word")


@pytest.mark.parametrize(("content", "code"), [("", "empty_content"), (" \n\t ", "empty_content")])
def test_empty_content_is_refused(alice: User, content: str, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        services.thread_create(owner=alice, content=content)
    assert caught.value.code == code
    assert caught.value.status == 400
    assert not Thread.objects.exists()


def test_content_over_the_limit_is_refused(alice: User, settings: Settings) -> None:
    settings.MAX_MESSAGE_CHARS = 10
    services.thread_create(owner=alice, content="x" * 10)
    with pytest.raises(InvalidInput) as caught:
        services.thread_create(owner=alice, content="x" * 11)
    assert caught.value.code == "content_too_long"


def test_run_start_adds_a_message_and_a_run(alice: User, make_thread: MakeThread) -> None:
    thread, first = make_thread(alice, status="completed")
    before = thread.updated_at
    run = services.run_start(thread=thread, content="And tomorrow?")
    assert run.status == "queued"
    assert run.pk != first.pk
    assert list(run.messages.values_list("role", "content")) == [("user", "And tomorrow?")]
    thread.refresh_from_db()
    assert thread.updated_at > before


def test_run_start_refuses_while_a_run_is_active(alice: User, make_thread: MakeThread) -> None:
    thread, _ = make_thread(alice, status="in_progress")
    with pytest.raises(RunActive) as caught:
        services.run_start(thread=thread, content="Another")
    assert caught.value.status == 409
    assert thread.messages.count() == 1  # nothing half-written


def test_run_start_is_refused_by_the_constraint_and_writes_nothing(
    alice: User, make_thread: MakeThread
) -> None:
    # No query checks for an active run first: the one_active_run_per_thread constraint
    # refuses the insert, and the transaction leaves no message behind (on PostgreSQL, the
    # failed insert would poison any write after it).
    thread, _ = make_thread(alice, status="queued")
    with pytest.raises(RunActive):
        services.run_start(thread=thread, content="Another")
    assert thread.runs.count() == 1
    assert thread.messages.count() == 1
    thread.runs.update(status="completed")
    services.run_start(thread=thread, content="Now it may")
    assert thread.runs.count() == 2


def test_run_start_for_another_users_thread_is_not_found(
    alice: User, bob: User, make_thread: MakeThread
) -> None:
    thread, _ = make_thread(alice, status="completed")
    with pytest.raises(NotFound):
        services.run_start_for(user_id=bob.pk, thread_id=thread.pk, content="mine now")
    assert thread.runs.count() == 1
    assert thread.messages.count() == 1


def test_run_start_for_sets_the_user_message(alice: User, make_thread: MakeThread) -> None:
    thread, _ = make_thread(alice, status="completed")
    run = services.run_start_for(user_id=alice.pk, thread_id=thread.pk, content="Hello")
    assert run.user_message.content == "Hello"
    assert run.user_message.run_id == run.pk


def test_starting_runs_is_rate_limited_per_user(
    alice: User, bob: User, make_thread: MakeThread, settings: Settings
) -> None:
    settings.RUNS_PER_MINUTE = 2
    thread, _ = make_thread(alice, status="completed")
    services.run_start(thread=thread, content="second")
    Run.objects.filter(thread=thread).update(status="completed")
    with pytest.raises(RateLimited) as caught:
        services.run_start(thread=thread, content="third")
    assert caught.value.status == 429
    with pytest.raises(RateLimited):
        services.thread_create(owner=alice, content="a new thread")
    services.thread_create(owner=bob, content="bob is not limited by alice")


def test_runs_older_than_a_minute_do_not_count(alice: User, settings: Settings) -> None:
    settings.RUNS_PER_MINUTE = 1
    thread, run = services.thread_create(owner=alice, content="first")
    Run.objects.filter(pk=run.pk).update(
        status="completed", created_at=timezone.now() - timedelta(seconds=61)
    )
    services.run_start(thread=thread, content="a minute later")


def test_thread_rename(alice: User, make_thread: MakeThread) -> None:
    thread, _ = make_thread(alice)
    services.thread_rename(thread=thread, title="  Weather  ")
    thread.refresh_from_db()
    assert thread.title == "Weather"


@pytest.mark.parametrize(("title", "code"), [("  ", "empty_title"), ("x" * 201, "title_too_long")])
def test_thread_rename_refuses_bad_titles(
    alice: User, make_thread: MakeThread, title: str, code: str
) -> None:
    thread, _ = make_thread(alice, content="Original")
    with pytest.raises(InvalidInput) as caught:
        services.thread_rename(thread=thread, title=title)
    assert caught.value.code == code
    thread.refresh_from_db()
    assert thread.title == "Original"


def test_thread_delete_removes_messages_and_runs(alice: User, make_thread: MakeThread) -> None:
    thread, _ = make_thread(alice)
    kept, _ = make_thread(alice, content="keep me")
    services.thread_delete(thread=thread)
    assert list(Thread.objects.all()) == [kept]
    assert Message.objects.filter(thread_id=thread.pk).count() == 0
    assert Run.objects.filter(thread_id=thread.pk).count() == 0


def test_run_cancel_request_marks_an_active_run_cancelling(
    alice: User, make_thread: MakeThread
) -> None:
    _, run = make_thread(alice, status="in_progress")
    run = services.run_cancel_request(run=run)
    assert run.status == "cancelling"


@pytest.mark.parametrize("status", ["completed", "failed", "cancelled"])
def test_an_ended_run_cannot_be_cancelled(
    alice: User, make_thread: MakeThread, status: str
) -> None:
    _, run = make_thread(alice, status=status)
    with pytest.raises(RunEnded) as caught:
        services.run_cancel_request(run=run)
    assert caught.value.status == 409
    run.refresh_from_db()
    assert run.status == status


def test_a_cancelled_orphan_run_ends(alice: User, make_thread: MakeThread) -> None:
    _, run = make_thread(alice, status="cancelling")
    run = services.run_cancel_orphaned(run=run)
    assert run.status == "cancelled"
    assert run.completed_at is not None


def test_cancelling_an_orphan_never_overwrites_a_run_that_just_ended(
    alice: User, make_thread: MakeThread
) -> None:
    _, run = make_thread(alice, status="cancelling")
    Run.objects.filter(pk=run.pk).update(status="completed")  # the engine finished first
    run = services.run_cancel_orphaned(run=run)
    assert run.status == "completed"
