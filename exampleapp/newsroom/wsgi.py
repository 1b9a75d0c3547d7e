"""WSGI entry point; mod_wsgi's WSGIScriptAlias points at this file.

Settings come from os.environ (see settings.py). Apache's SetEnv only reaches
the per-request WSGI environ, not os.environ, so give the variables to the
Apache process itself, e.g. via /etc/apache2/envvars or a systemd
EnvironmentFile for apache2.service.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")

application = get_wsgi_application()
