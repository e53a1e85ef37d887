"""ASGI entry point: HTTP through Django, WebSockets through Channels, and the simulator
upstream mounted at /sim/ when SIMULATOR_MOUNT is on (by default, only with DEBUG)."""

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

import config.daphne_close  # noqa: E402,F401
import config.daphne_nodelay  # noqa: E402,F401  (before daphne accepts a connection)

django.setup(set_prefix=False)  # what django.core.asgi.get_asgi_application does first

from config.asgi_tuning import ASGIHandler, RequestLanes, ServerSendInScope  # noqa: E402

django_asgi_app = ASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from chat.routing import websocket_urlpatterns  # noqa: E402
from config.collector import settle_collector  # noqa: E402
from config.run_hosting import HostRuns  # noqa: E402
from config.simulator_mount import mount_simulator  # noqa: E402
from config.ws_origin import SameOriginSockets  # noqa: E402

http_app: Any = RequestLanes(django_asgi_app)
if settings.SERVE_STATIC:
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

    from config.precompressed import PrecompressedStatic  # noqa: E402

    http_app = PrecompressedStatic(ASGIStaticFilesHandler(http_app))
http_app = mount_simulator(http_app)

application = HostRuns(
    ProtocolTypeRouter(
        {
            "http": http_app,
            "websocket": ServerSendInScope(
                SameOriginSockets(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
            ),
        }
    )
)

settle_collector()  # config.collector: a full collection is a pause every stream feels
