"""The admin's usage pages: their chart figures equal sums over the runs, by day and by
user, assistant and model; date ranges, CSV export, and bad queries refused."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import defaultdict
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from chat import services
from chat.models import Assistant, Run

pytestmark = pytest.mark.django_db
TODAY = timezone.now().date()


@pytest.fixture
def runs(alice: User, bob: User) -> list[Run]:
    """Ended runs over three days, two users, two assistants and two models."""
    other = Assistant.objects.create(name="Other", model="small")
    made = []
    for days_ago, user, assistant, model, prompt, completion in [
        (0, alice, None, "gpt-4o", 100, 10),
        (0, bob, other, "small", 7, 3),
        (1, alice, other, "small", 40, 4),
        (2, bob, None, "gpt-4o", 1000, 200),
        (2, alice, None, "gpt-4o", 5, 5),
    ]:
        _, run = services.thread_create(owner=user, content="Hi", assistant=assistant)
        ended = timezone.now() - dt.timedelta(days=days_ago)
        Run.objects.filter(pk=run.pk).update(
            status="completed", completed_at=ended, model=model,
            prompt_tokens=prompt, completion_tokens=completion,
        )  # fmt: skip
        made.append(Run.objects.get(pk=run.pk))
    call_command("rebuild_usage", stdout=io.StringIO())
    return made


def chart(client: Client, query: str) -> dict[str, Any]:
    response = client.get(f"/admin/chat/usagedaytotal/?{query}")
    assert response.status_code == 200, response.content
    found = re.search(rb'<script id="usage-data" type="application/json">(.*?)</script>',
                      response.content, re.S)  # fmt: skip
    assert found is not None
    return dict(json.loads(found.group(1)))


def sums(runs: list[Run], key: str) -> dict[tuple[str, str], int]:
    """Tokens per (day, dimension value + part) summed over the runs themselves."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for run in runs:
        name = {"site": "site", "model": run.model, "user": run.thread.owner.username,
                "assistant": run.assistant.name}[key]  # fmt: skip
        day = run.completed_at.date().isoformat() if run.completed_at else ""
        totals[(day, f"{name} prompt")] += run.prompt_tokens
        totals[(day, f"{name} completion")] += run.completion_tokens
    return {k: v for k, v in totals.items() if v}


def chart_sums(data: dict[str, Any], key: str) -> dict[tuple[str, str], int]:
    found = {}
    for dataset in data["datasets"]:
        label = dataset["label"]
        if key == "site":
            name = "site " + label.split()[0].lower()
        else:
            name = label.replace(" (", " ").rstrip(")")
        for day, value in zip(data["labels"], dataset["data"], strict=True):
            if value:
                found[(day, name)] = value
    return found


@pytest.mark.parametrize("by", ["site", "user", "assistant", "model"])
def test_the_chart_equals_sums_over_the_runs(
    admin_client: Client, runs: list[Run], by: str
) -> None:
    start = (TODAY - dt.timedelta(days=6)).isoformat()
    data = chart(admin_client, f"by={by}&start={start}&end={TODAY}")
    assert len(data["labels"]) == 7
    assert chart_sums(data, by) == sums(runs, by)


def test_a_range_leaves_out_the_days_outside_it(admin_client: Client, runs: list[Run]) -> None:
    data = chart(admin_client, f"by=site&start={TODAY}&end={TODAY}")
    assert data["labels"] == [TODAY.isoformat()]
    assert data["table"][0]["prompt_tokens"] == 107 and data["table"][0]["runs"] == 2


def test_the_by_user_table_ranks_users_by_tokens(admin_client: Client, runs: list[Run]) -> None:
    data = chart(admin_client, f"by=user&start={TODAY - dt.timedelta(days=2)}")
    assert [(row["label"], row["total_tokens"]) for row in data["table"]] == [
        ("bob", 1210), ("alice", 164)
    ]  # fmt: skip


def test_the_csv_export_has_every_row_of_the_range(admin_client: Client, runs: list[Run]) -> None:
    start = TODAY - dt.timedelta(days=2)
    response = admin_client.get(f"/admin/chat/usagedaytotal/?by=model&start={start}&format=csv")
    assert response["Content-Type"] == "text/csv"
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["day", "model", "prompt_tokens", "completion_tokens", "runs"]
    assert sum(int(row[2]) + int(row[3]) for row in rows[1:]) == sum(
        run.prompt_tokens + run.completion_tokens for run in runs
    )


@pytest.mark.parametrize(
    "query, says",
    [
        ("start=2026-05-01&end=2026-04-01", b"The start is after the end."),
        ("start=2020-01-01&end=2026-01-01", b"A range is at most 366 days."),
        ("start=yesterday", b"Enter a valid date."),
        ("by=planet", b"Select a valid choice."),
    ],
)
def test_a_bad_query_is_explained(admin_client: Client, query: str, says: bytes) -> None:
    response = admin_client.get(f"/admin/chat/usagedaytotal/?{query}")
    assert response.status_code == 400 and says in response.content


def test_the_pages_are_for_staff_only(alice_client: Client) -> None:
    response = alice_client.get("/admin/chat/usagedaytotal/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
