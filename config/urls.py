from django.contrib import admin
from django.urls import include, path

from chat.views import health

# JSON under /api/, the app's own pages elsewhere (chat/views/errors.py).
handler400 = "chat.views.errors.bad_request"
handler403 = "chat.views.errors.permission_denied"
handler404 = "chat.views.errors.page_not_found"
handler500 = "chat.views.errors.server_error"

urlpatterns = [
    # Outside the chat app's URLs and any login: probes carry no session.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("", include("chat.urls")),
]
