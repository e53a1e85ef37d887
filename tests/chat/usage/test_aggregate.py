"""The per-day usage tables: added to as runs end, equal to sums over the runs, and rebuilt
from the runs to the same figures."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db.models import Sum

from chat import services
from chat.models import Assistant, Run, UsageDay, UsageDayTotal
from chat.runs.store import RunOutcome, run_finish

pytestmark = pytest.mark.django_db


def run_ending(user: User, prompt: int, completion: int, model: str = "gpt-4o") -> Run:
    _, run = services.thread_create(owner=user, content="Hello")
    usage = {"prompt_tokens": prompt, "completion_tokens": completion}
    outcome = RunOutcome(status="completed", usage=usage, model=model)
    run_finish(run_id=run.pk, outcome=outcome, message_pks={})
    return Run.objects.get(pk=run.pk)


def table(model: type[UsageDay] | type[UsageDayTotal]) -> list[tuple[object, ...]]:
    fields = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
    return sorted(model.objects.values_list(*fields))


def test_each_ending_run_adds_to_its_days_rows(alice: User, bob: User) -> None:
    run_ending(alice, 100, 10)
    run_ending(alice, 50, 5)
    run_ending(alice, 7, 3, model="small")
    run_ending(bob, 1, 2)
    assistant = Assistant.objects.get(is_default=True)
    rows = UsageDay.objects.filter(user=alice, model="gpt-4o", assistant=assistant)
    assert list(rows.values_list("prompt_tokens", "completion_tokens", "runs")) == [(150, 15, 2)]
    total = UsageDayTotal.objects.get()
    sums = Run.objects.aggregate(p=Sum("prompt_tokens"), c=Sum("completion_tokens"))
    assert (total.prompt_tokens, total.completion_tokens, total.runs) == (sums["p"], sums["c"], 4)
    assert total.day == dt.datetime.now(dt.UTC).date()


def test_a_run_still_active_is_not_counted(alice: User) -> None:
    services.thread_create(owner=alice, content="Still running")
    assert not UsageDay.objects.exists() and not UsageDayTotal.objects.exists()


def test_the_rebuild_gives_the_same_tables_as_the_running_sums(alice: User, bob: User) -> None:
    for user, prompt, completion, model in [
        (alice, 100, 10, "gpt-4o"),
        (alice, 5, 1, "small"),
        (bob, 20, 30, "gpt-4o"),
    ]:
        run_ending(user, prompt, completion, model)
    kept = table(UsageDay), table(UsageDayTotal)
    UsageDay.objects.update(prompt_tokens=0)  # damaged, say
    out = StringIO()
    call_command("rebuild_usage", stdout=out)
    assert (table(UsageDay), table(UsageDayTotal)) == kept
    assert "3 rows by user, assistant and model; 1 days" in out.getvalue()
