"""The usage pages' query: which page (site, or by user, assistant or model) and a range of
UTC days. Bad values are reported on the page; the default is the last 30 days."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

MAX_DAYS = 366
DEFAULT_DAYS = 30
PAGES = [("site", "Whole site"), ("user", "By user"), ("assistant", "By assistant"),
         ("model", "By model")]  # fmt: skip


class UsageQuery(forms.Form):
    by = forms.ChoiceField(choices=PAGES, required=False)
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        end = data.get("end") or timezone.now().date()
        start = data.get("start") or end - dt.timedelta(days=DEFAULT_DAYS - 1)
        assert isinstance(start, dt.date) and isinstance(end, dt.date)
        if start > end:
            raise forms.ValidationError("The start is after the end.")
        if (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(f"A range is at most {MAX_DAYS} days.")
        return {"by": data.get("by") or "site", "start": start, "end": end}


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
