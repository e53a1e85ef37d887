"""An offline Assistants API v2 server with scripted, paced replies and injectable faults.

    from assistants_proxy.simulator import create_app, serve, mount_prefix

See docs/simulator.md for the endpoints, the default assistant and the ``/sim`` directives.
"""

from .app import create_app, mount_prefix, serve
from .defaults import DEFAULT_ASSISTANT_ID

__all__ = ["DEFAULT_ASSISTANT_ID", "create_app", "mount_prefix", "serve"]
