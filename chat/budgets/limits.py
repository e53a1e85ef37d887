"""A user's limits: their own budget where it sets one, else the most generous default of
their groups (a group budget that leaves a limit blank means no limit for its members).

Read at every run's start, in one query: the user's row and their groups' rows together.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import connection

from chat.models import GroupBudget, UserBudget

Row = tuple[int, int | None, int | None]  # (own: 1 or 0, daily, monthly)


@dataclass(frozen=True)
class Limits:
    daily: int | None = None
    monthly: int | None = None

    @property
    def unlimited(self) -> bool:
        return self.daily is None and self.monthly is None


def limits_for(user_id: int) -> Limits:
    with connection.cursor() as cursor:
        cursor.execute(_LIMITS_SQL, [user_id, user_id])
        rows: list[Row] = cursor.fetchall()
    return Limits(daily=_pick(rows, 1), monthly=_pick(rows, 2))


# Raw SQL: this runs at every run's start, and the ORM's compiling of the same union cost
# more than the database's answer to it.
_LIMITS_SQL = f"""
    SELECT 1, daily_tokens, monthly_tokens FROM {UserBudget._meta.db_table} WHERE user_id = %s
    UNION ALL
    SELECT 0, g.daily_tokens, g.monthly_tokens FROM {GroupBudget._meta.db_table} g
    JOIN {User.groups.through._meta.db_table} m ON m.group_id = g.group_id
    WHERE m.user_id = %s
"""


def _pick(rows: list[Row], index: int) -> int | None:
    """The user's own limit if set; else the largest of their groups', None if any is None."""
    own = [row[index] for row in rows if row[0] == 1 and row[index] is not None]
    if own:
        return own[0]
    groups = [row[index] for row in rows if row[0] == 0]
    if not groups or any(limit is None for limit in groups):
        return None
    return max(limit for limit in groups if limit is not None)
