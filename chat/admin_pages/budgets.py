"""Budgets in the admin: per user, and a default per group (a user's own limit wins; among
groups, the most generous). What each user used today and this month is shown beside."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone

from chat.budgets.ledger import used_now
from chat.models import GroupBudget, TokenLedger, UserBudget


@admin.register(UserBudget)
class UserBudgetAdmin(admin.ModelAdmin):
    list_display = ["user", "daily_tokens", "monthly_tokens", "used_today", "used_this_month"]
    list_select_related = ["user"]
    search_fields = ["user__username"]

    @admin.display(description="used today")
    def used_today(self, budget: UserBudget) -> int:
        return self._used(budget)[0]

    @admin.display(description="used this month")
    def used_this_month(self, budget: UserBudget) -> int:
        return self._used(budget)[1]

    def _used(self, budget: UserBudget) -> tuple[int, int]:
        # One row per line of a page of at most 100: a query each is fine here.
        ledger = TokenLedger.objects.filter(pk=budget.user_id).first()
        return used_now(ledger, timezone.now())


@admin.register(GroupBudget)
class GroupBudgetAdmin(admin.ModelAdmin):
    list_display = ["group", "daily_tokens", "monthly_tokens"]
    list_select_related = ["group"]
    search_fields = ["group__name"]
