"""The Assistants API's paths, under /v1/ (no trailing slashes, as the API has them)."""

from __future__ import annotations

from django.urls import path, re_path

from chat.v1 import views_assistants, views_runs, views_threads
from chat.v1.endpoint import not_found

T, R = "threads/<str:thread_id>", "threads/<str:thread_id>/runs/<str:run_id>"

urlpatterns = [
    path("assistants", views_assistants.assistants),
    path("assistants/<str:assistant_id>", views_assistants.assistant),
    path("threads", views_threads.threads),
    # Before `threads/<id>`: "runs" is not a thread id.
    path("threads/runs", views_runs.thread_runs),
    path(T, views_threads.thread),
    path(f"{T}/messages", views_threads.messages),
    path(f"{T}/messages/<str:message_id>", views_threads.message),
    path(f"{T}/runs", views_runs.runs),
    path(R, views_runs.run),
    path(f"{R}/cancel", views_runs.cancel),
    path(f"{R}/submit_tool_outputs", views_runs.submit_tool_outputs),
    path(f"{R}/steps", views_runs.steps),
    path(f"{R}/steps/<str:step_id>", views_runs.step),
    # Last: any other path under /v1/ is the API's own 404, never a redirect.
    re_path(r"^.*$", not_found),
]
