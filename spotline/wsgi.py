from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from spotline.envconf import exit_on_config_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotline.settings")
# Started by a WSGI server: a bad setting is one line, not a traceback.
with exit_on_config_error():
    application = get_wsgi_application()
