from __future__ import annotations

from django.urls import include, path, re_path

from chat.views import (
    accounts,
    api,
    branches,
    budget,
    errors,
    export,
    keys,
    pages,
    search,
    shares,
)

# No app namespace: django.contrib.auth's views reverse their URLs ("login",
# "password_reset_done") without one.
urlpatterns = [
    path("", pages.home, name="home"),
    path("t/<int:thread_id>/", pages.thread_page, name="thread"),
    path("s/<str:token>/", shares.shared_page, name="shared"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("keys/", keys.keys_page, name="api-keys"),
    path("keys/<int:key_id>/revoke/", keys.key_revoke, name="api-key-revoke"),
    path("v1/", include("chat.v1.urls")),
    path("api/threads/", api.threads, name="api-threads"),
    path("api/threads/<int:thread_id>/", api.thread, name="api-thread"),
    path("api/threads/<int:thread_id>/messages/", api.messages, name="api-messages"),
    path(
        "api/threads/<int:thread_id>/runs/<int:run_id>/cancel/",
        api.run_cancel,
        name="api-run-cancel",
    ),
    path(
        "api/threads/<int:thread_id>/messages/<int:message_id>/regenerate/",
        branches.regenerate,
        name="api-regenerate",
    ),
    path(
        "api/threads/<int:thread_id>/messages/<int:message_id>/resend/",
        branches.resend,
        name="api-resend",
    ),
    path(
        "api/threads/<int:thread_id>/messages/<int:message_id>/continue/",
        branches.continue_reply,
        name="api-continue",
    ),
    path("api/threads/<int:thread_id>/branch/", branches.select, name="api-branch"),
    path("api/search/", search.search_view, name="api-search"),
    path("api/threads/<int:thread_id>/export/", export.thread_export, name="api-export"),
    path("api/export/", export.archive, name="api-archive"),
    path("api/threads/<int:thread_id>/share/", shares.share, name="api-share"),
    path("api/usage/", api.usage, name="api-usage"),
    path("api/assistants/", api.assistants, name="api-assistants"),
    path("api/budget/", budget.budget, name="api-budget"),
    # Last: every other path under /api/ is a JSON 404, whatever DEBUG says.
    re_path(r"^api(?:/.*)?$", errors.api_not_found),
]
