"""A user's limits: their own budget where it sets one, else the most generous default of
their groups (a group budget that leaves a limit blank means no limit for its members).

Read at every run's start, in one query: the user's row and their groups' rows together.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import IntegerField, Value

from chat.ops_models import GroupBudget, UserBudget

Row = tuple[int, int | None, int | None]  # (own: 1 or 0, daily, monthly)


@dataclass(frozen=True)
class Limits:
    daily: int | None = None
    monthly: int | None = None

    @property
    def unlimited(self) -> bool:
        return self.daily is None and self.monthly is None


def limits_for(user_id: int) -> Limits:
    own = UserBudget.objects.filter(user_id=user_id).annotate(
        own=Value(1, output_field=IntegerField())
    )
    groups = GroupBudget.objects.filter(group__user=user_id).annotate(
        own=Value(0, output_field=IntegerField())
    )
    fields = ("own", "daily_tokens", "monthly_tokens")
    rows: list[Row] = list(own.values_list(*fields).union(groups.values_list(*fields), all=True))
    return Limits(daily=_pick(rows, 1), monthly=_pick(rows, 2))


def _pick(rows: list[Row], index: int) -> int | None:
    """The user's own limit if set; else the largest of their groups', None if any is None."""
    own = [row[index] for row in rows if row[0] == 1 and row[index] is not None]
    if own:
        return own[0]
    groups = [row[index] for row in rows if row[0] == 0]
    if not groups or any(limit is None for limit in groups):
        return None
    return max(limit for limit in groups if limit is not None)
