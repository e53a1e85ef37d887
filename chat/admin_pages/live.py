"""The live runs board (the runs active now in every process: user, assistant, age, tokens
so far, rate, with a Stop button) and the run inspector (a run's timeline), as the admin of
the `LiveRun` proxy: its list is the board, its change page the inspector of any run."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from chat import operator_selectors, services
from chat.errors import RunEnded
from chat.models import LiveRun, Run

# How often the board and a live run's inspector reload themselves.
REFRESH_SECONDS = 2


@admin.register(LiveRun)
class LiveRunAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        stop = self.admin_site.admin_view(require_POST(self.stop_view))
        return [path("<int:run_id>/stop/", stop, name="chat_liverun_stop"), *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = self._context(request, "Live runs")
        context["rows"] = operator_selectors.live_runs()
        return TemplateResponse(request, "admin/chat/live_runs.html", context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        run = get_object_or_404(Run.objects.all(), pk=_int(object_id))
        context = self._context(request, f"Run {run.pk}")
        context.update(_inspection(run))
        return TemplateResponse(request, "admin/chat/run_inspector.html", context)

    def stop_view(self, request: HttpRequest, run_id: int) -> HttpResponse:
        if not self.has_change_permission(request):
            return HttpResponse(status=403)
        run = get_object_or_404(Run.objects.all(), pk=run_id)
        try:
            held = services.run_stop(run=run)
        except RunEnded:
            self.message_user(request, f"Run {run_id} had already ended.", messages.WARNING)
        else:
            self.message_user(request, _stop_sentence(run_id, held), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:chat_liverun_changelist"))

    def _context(self, request: HttpRequest, title: str) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "refresh_seconds": REFRESH_SECONDS,
            "can_stop": self.has_change_permission(request),
        }


def _inspection(run: Run) -> dict[str, Any]:
    run = operator_selectors.run_inspected(run.pk)
    timeline = run.timeline or {}
    return {
        "run": run,
        "events": operator_selectors.timeline_rows(run),
        "rates": operator_selectors.token_rates(run),
        "request_sent": _pretty(timeline.get("request")),
        "upstream_error": _pretty(run.upstream_error),
        "steps": list(run.steps.order_by("created_at", "pk")),
    }


def _pretty(value: Any) -> str | None:
    return None if value is None else json.dumps(value, indent=2, ensure_ascii=False)


def _stop_sentence(run_id: int, held: bool) -> str:
    if held:
        return (f"Run {run_id} is stopping: the process executing it stops it at its next "
                "lease renewal, within a few seconds.")  # fmt: skip
    return f"Run {run_id} was not held by any process; it is now cancelled."


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0  # no run has id 0: a 404
