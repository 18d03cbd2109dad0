"""What a page answers when the database is unreachable: 503 with Retry-After.

Django calls ``server_error`` (``handler500`` in ``spotline/urls.py``) for any exception
that escapes a view or a middleware, from inside the ``except`` block that caught it, so
``sys.exc_info()`` still names the exception. A database that is restarting, or a
connection that died under us (``OperationalError`` / ``InterfaceError``, also when
wrapped in another exception), is not a bug: the request wrote nothing and can simply be
sent again, so the answer is a 503 that says when, not a 500.

The page is built here, without templates or context processors: ``base.html`` asks
for ``request.user``, which loads the session and the user from the database that has
just failed. It carries both languages at once for the same reason (the language a
person chose is in their session), and it still gives the first-aid words: someone
reading it may be next to a person who is not breathing.
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from django.views import defaults

RETRY_AFTER_SECONDS = 2

_DATABASE_DOWN = (OperationalError, InterfaceError)


def database_unavailable(exc: BaseException | None) -> bool:
    """True if ``exc`` (or an exception it was raised from or during) is a database that
    cannot be reached."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, _DATABASE_DOWN):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    if not database_unavailable(sys.exc_info()[1]):
        return defaults.server_error(request, template_name)
    return unavailable(request)


def unavailable(request: HttpRequest) -> HttpResponse:
    response: HttpResponse
    if request.path.startswith("/api/"):
        # The same answer as the API's own OperationalError handler (spotline/api/api.py).
        response = JsonResponse(
            {"detail": "the service is busy or restarting: try again in a moment"},
            status=503)
    elif request.path.startswith("/hooks/"):
        # Providers retry on 5xx; they need no page.
        response = HttpResponse("busy or restarting: try again\n", status=503,
                                content_type="text/plain; charset=utf-8")
    else:
        response = HttpResponse(_page(), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def _page() -> str:
    org = escape(settings.SPOTLINE_ORG_NAME)
    hotline = escape(settings.SPOTLINE_HOTLINE)
    if hotline:
        danger_en = (f"If someone is in danger now, call {hotline}, "
                     "or call an ambulance yourself.")
        danger_es = (f"Si alguien está en peligro ahora, llame al {hotline} "
                     "o llame usted a una ambulancia.")
    else:
        danger_en = "If someone is in danger now, call an ambulance yourself."
        danger_es = "Si alguien está en peligro ahora, llame usted a una ambulancia."
    seconds = RETRY_AFTER_SECONDS
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Try again in a moment · Inténtelo de nuevo · {org}</title>
<link rel="stylesheet" href="{escape(settings.STATIC_URL)}spotline/app.css">
</head>
<body>
<main id="main">
<section lang="en">
<h1>Try again in a moment</h1>
<p class="notice" role="alert" id="unavailable">{org} is restarting. Nothing you sent
was lost or half-saved: reload this page in {seconds} seconds and send it again.</p>
<p id="danger">{danger_en} Stay with the person. If they are not breathing, give rescue
breaths and naloxone if you have it.</p>
</section>
<section lang="es">
<h1>Inténtelo de nuevo en un momento</h1>
<p class="notice">{org} se está reiniciando. No se perdió ni se guardó a medias nada de
lo que envió: vuelva a cargar esta página en {seconds} segundos y envíelo otra vez.</p>
<p>{danger_es} Quédese con la persona. Si no respira, dele respiraciones de rescate y
naloxona si la tiene.</p>
</section>
</main>
</body>
</html>
"""
