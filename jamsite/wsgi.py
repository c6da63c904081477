"""WSGI entry point, for HTTP-only tools; the site itself runs under ASGI."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jamsite.settings.dev")
application = get_wsgi_application()
