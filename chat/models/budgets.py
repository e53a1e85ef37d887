"""Operators' tables: token budgets, each user's running count against them, and usage per
day. Imported by `chat.models`, so Django finds them as models of the chat app.

`TokenLedger` is the row a run's start locks (SELECT ... FOR UPDATE) to reserve tokens: two
tabs racing at the edge of a budget queue up there, and only what is left is handed out.
`UsageDay` and `UsageDayTotal` are updated as runs end (`chat.usage.aggregate`), so that the
usage pages never scan runs.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models

LIMIT_HELP = "Tokens (prompt and completion); blank means no limit."


class BudgetLimits(models.Model):
    daily_tokens = models.PositiveBigIntegerField(null=True, blank=True, help_text=LIMIT_HELP)
    monthly_tokens = models.PositiveBigIntegerField(null=True, blank=True, help_text=LIMIT_HELP)

    class Meta:
        abstract = True


class UserBudget(BudgetLimits):
    """A user's own budget; a limit left blank falls back to the user's groups."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="budget"
    )

    def __str__(self) -> str:
        return f"Budget of {self.user}"


class GroupBudget(BudgetLimits):
    """The default budget of a group's members (the most generous of their groups wins)."""

    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="budget")

    def __str__(self) -> str:
        return f"Budget of group {self.group}"


class TokenLedger(models.Model):
    """A user's tokens in the current day and month, and those reserved by active runs.

    Periods roll over lazily: a row whose `day` is not today counts 0 for today."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True
    )
    day = models.DateField()
    day_used = models.BigIntegerField(default=0)
    month = models.DateField(help_text="The first day of the month counted.")
    month_used = models.BigIntegerField(default=0)
    reserved = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"Ledger of user {self.user_id}"


class UsageDay(models.Model):
    """Tokens of the runs that ended on a UTC day, per user, assistant and model."""

    day = models.DateField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    assistant = models.ForeignKey("chat.Assistant", on_delete=models.CASCADE)
    model = models.CharField(max_length=200)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    runs = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "user", "assistant", "model"], name="usage_day_key"
            )
        ]
        # Each page filters one dimension by a date range: (dimension, day) finds its rows.
        indexes = [
            models.Index(fields=["user", "day"], name="usage_day_user"),
            models.Index(fields=["assistant", "day"], name="usage_day_assistant"),
            models.Index(fields=["model", "day"], name="usage_day_model"),
        ]

    def __str__(self) -> str:
        return f"{self.day} user {self.user_id} assistant {self.assistant_id} {self.model}"


class UsageDaySlice(models.Model):
    """Tokens per UTC day along one dimension ("user", "assistant" or "model"): the pages
    by user, assistant and model read these, a year of them at most days x users rows,
    never the whole `UsageDay` cube."""

    dimension = models.CharField(max_length=16)
    day = models.DateField()
    key = models.CharField(max_length=200, help_text="The user's or assistant's id, or the model.")
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    runs = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dimension", "day", "key"], name="usage_slice_key")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.dimension} {self.key}"


class UsageDayTotal(models.Model):
    """The whole site's tokens per UTC day: the site page reads one row a day (its admin
    is the "usage over time" page)."""

    day = models.DateField(primary_key=True)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    runs = models.IntegerField(default=0)

    class Meta:
        verbose_name = "usage over time"
        verbose_name_plural = "usage over time"

    def __str__(self) -> str:
        return str(self.day)
