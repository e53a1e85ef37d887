"""Usage over time in the admin: tokens per day for the whole site, or by user, assistant or
model (the top ten of the range), prompt and completion apart, with a CSV export.

Registered as the admin of `UsageDayTotal`, whose list is this page. Figures come from the
per-day tables (`chat.usage.reports`), never from scanning runs.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse

from chat.admin_pages.csv_cells import safe_row
from chat.admin_pages.usage_chart import usage_chart
from chat.admin_pages.usage_form import UsageQuery
from chat.models import UsageDayTotal
from chat.usage import reports


@admin.register(UsageDayTotal)
class UsageAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        query = UsageQuery(request.GET)
        if not query.is_valid():
            return self._render(request, query, None, status=400)
        by, start, end = (query.cleaned_data[k] for k in ("by", "start", "end"))
        # Shown with the range it used, defaults filled in.
        query = UsageQuery({"by": by, "start": start, "end": end})
        query.is_valid()
        if request.GET.get("format") == "csv":
            # A streamed body: Django's stubs type the admin's views as HttpResponse only.
            return _csv(by, start, end)  # type: ignore[return-value]
        return self._render(request, query, usage_chart(by, start, end))

    def _render(
        self,
        request: HttpRequest,
        query: UsageQuery,
        chart: dict[str, Any] | None,
        status: int = 200,
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": "Usage over time",
            "opts": self.model._meta,
            "query": query,
            "chart": chart,
            "csv_query": _with(request, format="csv"),
        }
        return TemplateResponse(request, "admin/chat/usage.html", context, status=status)


def _csv(by: str, start: Any, end: Any) -> StreamingHttpResponse:
    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())
    rows = reports.csv_rows(by, start, end)
    lines: Iterator[str] = (writer.writerow(safe_row(row)) for row in rows)
    response = StreamingHttpResponse(lines, content_type="text/csv")
    name = f"usage-{by}-{start}-{end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _with(request: HttpRequest, **changes: str) -> str:
    params = request.GET.copy()
    for key, value in changes.items():
        params[key] = value
    return params.urlencode()
