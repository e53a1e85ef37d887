"""ASGI entry point: HTTP through Django, WebSockets through Channels, and the simulator
upstream mounted at /sim/ when SIMULATOR_MOUNT is on (the laptop default)."""

import gc
import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

import config.daphne_nodelay  # noqa: E402,F401  (before daphne accepts a connection)

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from chat.routing import websocket_urlpatterns  # noqa: E402
from config.asgi_tuning import RequestLanes, ServerSendInScope  # noqa: E402

http_app: Any = RequestLanes(django_asgi_app)
if settings.SERVE_STATIC:
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

    http_app = ASGIStaticFilesHandler(http_app)
if settings.SIMULATOR_MOUNT:
    from assistants_proxy.simulator import mount_prefix  # noqa: E402

    http_app = mount_prefix("/sim", http_app)

application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": ServerSendInScope(
            AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)

# Everything loaded so far (Django, the apps, the URL conf, the libraries: about 110,000
# objects) lives as long as the process. Out of the collector's sight, a full collection
# under load pauses the loop for 40 to 100 ms instead of 140 to 250 (measured at 200 streams
# on the 2-core benchmark machine), a pause every stream feels.
gc.freeze()

# What the process holds later is mostly its connections: each open socket keeps a hundred or
# more objects (protocol, consumer, tasks, headers), so 200 sockets put about 50,000 objects in
# the oldest generation, and a full collection of them paused the loop for 80 to 140 ms under
# load. By default a full collection follows every 10 collections of the middle generation,
# about every 20 s at 4,000 deltas/s; after every 100, it comes about every 3 minutes. The
# young generations keep their thresholds (a larger youngest one made its collections as long
# as the full ones). The cost: cyclic garbage that reached the oldest generation (the objects
# of a closed socket) is freed ten times less often.
gc.set_threshold(700, 10, 100)
