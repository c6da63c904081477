"""ASGI entry point: HTTP through Django, WebSockets through Channels.

Order matters: Django is set up by get_asgi_application() before anything
that imports models (the routing) is imported. WebSockets: the origin check
first, then either a socket ticket (jams/tickets.py: no session or user
loaded; the consumer refuses it with 4503 "try again later" itself when
the database is down) or the database-outage guard (a handshake that
cannot load its session or user is closed with 4503, jams/middleware.py)
and the session and user, then the routes. The guard wraps every frame a
socket sends, so ticketed sockets, the many, do without it. Once it is
built, the process's garbage collector is set up for a server
(jamsite/serverprocess.py).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jamsite.settings.dev")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from jams.middleware import DatabaseOutageGuard  # noqa: E402
from jams.routing import websocket_urlpatterns  # noqa: E402
from jams.tickets import TicketOrSessionAuth  # noqa: E402
from jamsite.serverprocess import server_process_ready  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            TicketOrSessionAuth(
                ticketed=URLRouter(websocket_urlpatterns),
                with_session=DatabaseOutageGuard(
                    AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
                ),
            )
        ),
    }
)

server_process_ready()
