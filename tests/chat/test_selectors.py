from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User

from chat import selectors
from chat.errors import InvalidInput, NotFound
from chat.models import Run, Thread

pytestmark = pytest.mark.django_db

MakeThread = Callable[..., tuple[Thread, Run]]


def _usage(run: Run, prompt: int, completion: int, **fields: object) -> None:
    Run.objects.filter(pk=run.pk).update(
        status="completed",
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        **fields,
    )


def test_thread_list_shows_only_own_threads_newest_first(
    alice: User, bob: User, make_thread: MakeThread
) -> None:
    older, _ = make_thread(alice, content="older")
    newer, _ = make_thread(alice, content="newer")
    make_thread(bob, content="bob's")
    assert list(selectors.thread_list(user=alice)) == [newer, older]
    older.save()  # touched: moves to the top
    assert list(selectors.thread_list(user=alice)) == [older, newer]


def test_thread_get_hides_other_users_threads(
    alice: User, bob: User, make_thread: MakeThread
) -> None:
    thread, _ = make_thread(alice)
    assert selectors.thread_get(user=alice, thread_id=thread.pk) == thread
    with pytest.raises(NotFound) as caught:
        selectors.thread_get(user=bob, thread_id=thread.pk)
    assert caught.value.status == 404
    with pytest.raises(NotFound):
        selectors.thread_get(user=alice, thread_id=thread.pk + 1000)


def test_thread_detail_lists_messages_and_runs_oldest_first(
    alice: User, make_thread: MakeThread
) -> None:
    thread, first = make_thread(alice, content="one", status="completed")
    second = Run.objects.create(thread=thread, assistant=thread.assistant)
    thread.messages.create(role="assistant", content="reply", run=first, status="completed")
    detail = selectors.thread_detail(user=alice, thread_id=thread.pk)
    assert detail.thread == thread
    assert [m.content for m in detail.messages] == ["one", "reply"]
    assert detail.runs == [first, second]


def test_run_get_requires_the_run_to_be_in_the_users_thread(
    alice: User, bob: User, make_thread: MakeThread
) -> None:
    thread, run = make_thread(alice)
    other, _ = make_thread(alice, content="other")
    assert selectors.run_get(user=alice, thread_id=thread.pk, run_id=run.pk) == run
    with pytest.raises(NotFound):
        selectors.run_get(user=bob, thread_id=thread.pk, run_id=run.pk)
    with pytest.raises(NotFound):
        selectors.run_get(user=alice, thread_id=other.pk, run_id=run.pk)


def test_assistant_get_refuses_unknown_ids() -> None:
    with pytest.raises(InvalidInput) as caught:
        selectors.assistant_get(assistant_id=987654)
    assert caught.value.code == "unknown_assistant"


def test_usage_totals_add_up_the_users_runs(
    alice: User, bob: User, make_thread: MakeThread
) -> None:
    _, run1 = make_thread(alice)
    _, run2 = make_thread(alice)
    _, bobs = make_thread(bob)
    _usage(run1, 1138, 11)
    _usage(run2, 100, 50)
    _usage(bobs, 7, 7)
    assert selectors.usage_totals(user=alice) == {
        "prompt_tokens": 1238,
        "completion_tokens": 61,
        "total_tokens": 1299,
        "runs": 2,
    }


def test_usage_totals_are_zero_without_runs(alice: User) -> None:
    assert selectors.usage_totals(user=alice) == {
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "total_tokens": 0,
        "runs": 0,
    }


def test_usage_by_day_groups_runs_by_utc_date(alice: User, make_thread: MakeThread) -> None:
    runs = [make_thread(alice)[1] for _ in range(4)]
    late = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)
    _usage(runs[0], 20, 2, created_at=late)
    _usage(runs[1], 30, 3, created_at=late + dt.timedelta(minutes=20))
    _usage(runs[2], 40, 4, created_at=late + dt.timedelta(minutes=40))  # after midnight
    _usage(runs[3], 10, 1, created_at=late + dt.timedelta(days=3))
    rows = selectors.usage_by_day(user=alice)
    assert rows[0] == {
        "date": dt.date(2026, 3, 1),
        "prompt_tokens": 50,
        "completion_tokens": 5,
        "total_tokens": 55,
        "runs": 2,
    }
    assert (rows[1]["date"], rows[1]["total_tokens"]) == (dt.date(2026, 3, 2), 44)
    assert (rows[2]["date"], rows[2]["total_tokens"]) == (dt.date(2026, 3, 4), 11)
    assert len(rows) == 3


def test_usage_by_model_puts_the_biggest_first(
    alice: User, bob: User, make_thread: MakeThread
) -> None:
    _, small = make_thread(alice)
    _, big1 = make_thread(alice)
    _, big2 = make_thread(alice)
    _, bobs = make_thread(bob)
    _usage(small, 5, 5, model="gpt-4o-mini")
    _usage(big1, 100, 10, model="llama3")
    _usage(big2, 100, 10, model="llama3")
    _usage(bobs, 999, 999, model="gpt-4o-mini")
    assert selectors.usage_by_model(user=alice) == [
        {
            "model": "llama3",
            "prompt_tokens": 200,
            "completion_tokens": 20,
            "total_tokens": 220,
            "runs": 2,
        },
        {
            "model": "gpt-4o-mini",
            "prompt_tokens": 5,
            "completion_tokens": 5,
            "total_tokens": 10,
            "runs": 1,
        },
    ]
