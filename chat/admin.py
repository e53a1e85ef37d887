"""The admin: configure assistants, inspect threads, runs and token usage per user.

Threads, messages and runs are written by the app and the run engine; the admin shows them
read-only so that an edit there cannot contradict what the upstream and the browsers saw.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from chat.admin_tools import AssistantForm
from chat.models import ApiKey, Assistant, Message, Run, RunStep, Thread, UserUsage
from chat.upstream_probe import probe


class ReadOnlyMixin:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Assistant)
class AssistantAdmin(admin.ModelAdmin):
    form = AssistantForm
    list_display = ["name", "protocol", "model", "base_url", "is_default", "created_at"]
    list_filter = ["protocol", "is_default"]
    search_fields = ["name", "model"]
    readonly_fields = ["upstream_assistant_id", "created_at"]
    fieldsets = [
        (None, {"fields": ["name", "is_default", "protocol", "base_url", "api_key_env"]}),
        (
            "Model",
            {
                "fields": [
                    "model",
                    "instructions",
                    "builtin_tools",
                    "tools",
                    "tool_choice",
                    "response_format",
                ]
            },
        ),
        (
            "Context and sampling",
            {
                "fields": [
                    "context_window",
                    "max_tokens",
                    "truncation_strategy",
                    "responses_history",
                    "temperature",
                    "top_p",
                ]
            },
        ),
        ("Upstream", {"fields": ["upstream_assistant_id", "created_at"]}),
    ]
    actions = ["test_connection"]

    @admin.action(description="Test the connection to the upstream", permissions=["change"])
    def test_connection(self, request: HttpRequest, queryset: QuerySet[Assistant]) -> None:
        for assistant in queryset:
            result = probe(assistant)
            self.message_user(
                request, result.sentence, messages.INFO if result.ok else messages.WARNING
            )


class MessageInline(ReadOnlyMixin, admin.TabularInline):
    model = Message
    extra = 0
    fields = readonly_fields = ("created_at", "role", "status", "content", "run")
    can_delete = False


class RunInline(ReadOnlyMixin, admin.TabularInline):
    model = Run
    extra = 0
    fields = readonly_fields = ("created_at", "status", "model", "total_tokens")
    can_delete = False
    show_change_link = True


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    list_display = ["__str__", "owner", "assistant", "created_at", "updated_at"]
    list_filter = [("owner", admin.RelatedOnlyFieldListFilter), "assistant", "updated_at"]
    list_select_related = ["owner", "assistant"]
    search_fields = ["title", "owner__username"]
    readonly_fields = ["owner", "assistant", "upstream_thread_id", "created_at", "updated_at"]
    inlines = [MessageInline, RunInline]


class RunStepInline(ReadOnlyMixin, admin.TabularInline):
    model = RunStep
    extra = 0
    fields = readonly_fields = ("created_at", "type", "status", "step_details", "usage")
    can_delete = False


@admin.register(Run)
class RunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "status",
        "model",
        "owner",
        "ttft",
        "run_duration",
        "speed",
        "usage",
        "inspect",
    ]
    list_filter = [
        ("thread__owner", admin.RelatedOnlyFieldListFilter),
        "status",
        "model",
        "created_at",
    ]
    list_select_related = ["thread__owner"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-pk"]  # the latest first: what an operator looks for
    inlines = [RunStepInline]

    @admin.display(description="timeline")
    def inspect(self, run: Run) -> str:
        url = reverse("admin:chat_liverun_change", args=[run.pk])
        return format_html('<a href="{}">inspect</a>', url)

    @admin.display(ordering="thread__owner__username")
    def owner(self, run: Run) -> str:
        return run.thread.owner.get_username()

    @admin.display(description="time to first token")
    def ttft(self, run: Run) -> str:
        return _seconds(run.time_to_first_token)

    @admin.display(description="duration")
    def run_duration(self, run: Run) -> str:
        return _seconds(run.duration)

    @admin.display(description="tokens/s")
    def speed(self, run: Run) -> str:
        rate = run.tokens_per_second
        return "-" if rate is None else f"{rate:.1f}"

    @admin.display(ordering="total_tokens")
    def usage(self, run: Run) -> str:
        estimated = " (estimated)" if run.usage_estimated else ""
        return f"{run.prompt_tokens} + {run.completion_tokens} = {run.total_tokens}{estimated}"


@admin.register(Message)
class MessageAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["__str__", "thread", "role", "status", "created_at"]
    list_filter = ["role", "status"]
    list_select_related = ["thread"]


@admin.register(RunStep)
class RunStepAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["__str__", "run", "type", "status", "created_at"]
    list_filter = ["type", "status"]


@admin.register(UserUsage)
class UserUsageAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["username", "runs", "prompt_tokens", "completion_tokens", "total_tokens"]
    fields = readonly_fields = (
        "username",
        "runs",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
    )
    search_fields = ["username"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deleting here would delete the user

    def get_queryset(self, request: HttpRequest) -> QuerySet[UserUsage]:
        runs = "threads__runs__"
        return (
            super()
            .get_queryset(request)
            .annotate(
                runs=Count(runs + "id"),
                prompt_tokens=Coalesce(Sum(runs + "prompt_tokens"), 0),
                completion_tokens=Coalesce(Sum(runs + "completion_tokens"), 0),
                total_tokens=Coalesce(Sum(runs + "total_tokens"), 0),
            )
            .order_by("-total_tokens", "username")
        )

    @admin.display(ordering="runs")
    def runs(self, user: Any) -> int:
        return user.runs

    @admin.display(ordering="prompt_tokens")
    def prompt_tokens(self, user: Any) -> int:
        return user.prompt_tokens

    @admin.display(ordering="completion_tokens")
    def completion_tokens(self, user: Any) -> int:
        return user.completion_tokens

    @admin.display(ordering="total_tokens")
    def total_tokens(self, user: Any) -> int:
        return user.total_tokens


def _seconds(value: timedelta | None) -> str:
    return "-" if value is None else f"{value.total_seconds():.2f} s"


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are made by `manage.py create_api_key` or the user's keys page (the only places
    that can show one); here they are seen and revoked."""

    list_display = ["prefix", "user", "name", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["prefix", "user__username", "name"]
    readonly_fields = ["user", "prefix", "hashed", "created_at", "last_used_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = queryset.filter(revoked_at=None).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} key(s) revoked.", messages.SUCCESS)


# Budgets, usage charts, live runs and the run inspector: the operators' pages.
import chat.admin_pages  # noqa: E402, F401
