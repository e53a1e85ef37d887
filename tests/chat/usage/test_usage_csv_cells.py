"""The usage CSV export never hands a spreadsheet a formula: a name chosen by a user that
starts like one is quoted; numbers stay numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from chat import services
from chat.admin_pages.csv_cells import safe_cell
from chat.models import Assistant, Run

pytestmark = pytest.mark.django_db

NAMES = ['=HYPERLINK("http://x.example","y")', "+1+2", "-2+3", "@SUM(A1)", "\tTab", "\rCR"]


def export(client: Client, by: str) -> list[list[str]]:
    start = timezone.now().date() - dt.timedelta(days=1)
    response = client.get(f"/admin/chat/usagedaytotal/?by={by}&start={start}&format=csv")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    return list(csv.reader(io.StringIO(body)))


def test_formula_like_names_are_quoted_and_numbers_kept(admin_client: Client, alice: User) -> None:
    for index, name in enumerate(NAMES):
        assistant = Assistant.objects.create(name=name, model="m")
        _, run = services.thread_create(owner=alice, content="Hi", assistant=assistant)
        Run.objects.filter(pk=run.pk).update(
            status="completed", completed_at=timezone.now(), model="m",
            prompt_tokens=10 + index, completion_tokens=1,
        )  # fmt: skip
    call_command("rebuild_usage", stdout=io.StringIO())
    rows = export(admin_client, "assistant")[1:]
    assert sorted(row[1] for row in rows) == sorted(f"'{name}" for name in NAMES)
    assert sorted(int(row[2]) for row in rows) == [10 + i for i in range(len(NAMES))]


@pytest.mark.parametrize("value", [-5, 3.5, 0, dt.date(2026, 1, 2), "plain", "a=b", ""])
def test_other_cells_are_written_as_they_are(value: object) -> None:
    assert safe_cell(value) == value
