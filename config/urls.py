from django.contrib import admin
from django.urls import include, path

from chat.views import health

urlpatterns = [
    # Outside the chat app's URLs and any login: probes carry no session.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("", include("chat.urls")),
]
