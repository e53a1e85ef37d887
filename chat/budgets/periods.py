"""Budget periods: a UTC day and a UTC month, each resetting at midnight UTC."""

from __future__ import annotations

import datetime as dt

UTC = dt.UTC


def today(now: dt.datetime) -> dt.date:
    return now.astimezone(UTC).date()


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def day_reset(now: dt.datetime) -> dt.datetime:
    """When today's budget starts again: the next midnight UTC."""
    midnight = dt.datetime.combine(today(now), dt.time(), tzinfo=UTC)
    return midnight + dt.timedelta(days=1)


def month_reset(now: dt.datetime) -> dt.datetime:
    """When this month's budget starts again: midnight UTC on the 1st of next month."""
    first = month_start(today(now))
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return dt.datetime.combine(following, dt.time(), tzinfo=UTC)


def in_words(delta: dt.timedelta) -> str:
    """'in 3 hours', 'in 12 minutes', 'in 4 days': for a sentence, not a clock."""
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size * (2 if unit != "minute" else 1):
            count = seconds // size
            return f"in {count} {unit}{'s' if count != 1 else ''}"
    return "in less than a minute"
