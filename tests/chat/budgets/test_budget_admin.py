"""Budgets are edited in the admin, per user and per group."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from chat.budgets.limits import Limits, limits_for
from chat.models import GroupBudget, UserBudget

pytestmark = pytest.mark.django_db


def test_an_admin_sets_a_users_budget(admin_client: Client, alice: User) -> None:
    response = admin_client.post(
        "/admin/chat/userbudget/add/",
        {"user": alice.pk, "daily_tokens": "5000", "monthly_tokens": ""},
    )
    assert response.status_code == 302, response.content
    assert limits_for(alice.pk) == Limits(daily=5000, monthly=None)
    page = admin_client.get("/admin/chat/userbudget/")
    assert b"alice" in page.content and b"5000" in page.content


def test_an_admin_sets_a_groups_default(admin_client: Client, alice: User) -> None:
    group = Group.objects.create(name="trial")
    alice.groups.add(group)
    response = admin_client.post(
        "/admin/chat/groupbudget/add/",
        {"group": group.pk, "daily_tokens": "", "monthly_tokens": "90000"},
    )
    assert response.status_code == 302, response.content
    assert GroupBudget.objects.get().monthly_tokens == 90000
    assert limits_for(alice.pk) == Limits(daily=None, monthly=90000)


def test_a_negative_limit_is_refused_and_changes_nothing(admin_client: Client, alice: User) -> None:
    response = admin_client.post(
        "/admin/chat/userbudget/add/", {"user": alice.pk, "daily_tokens": "-5"}
    )
    assert response.status_code == 200 and b"errornote" in response.content
    assert not UserBudget.objects.exists()
