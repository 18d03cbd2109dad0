"""The public transparency page and its JSON twin: what we hold right now.

No sign-in, no JavaScript, no personal value: counts and ages from
``holdings.holdings`` (aggregate queries only), the retention settings and the
no-police policy.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from spotline.transparency.holdings import auto_ems_priorities, document, holdings, windows
from spotline.transparency.police import police_capabilities


@never_cache  # "right now": a cached copy would be an old answer
@require_safe
def page(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    return render(request, "transparency/page.html", {
        "org": settings.SPOTLINE_ORG_NAME,
        "now": now,
        "held": holdings(),
        "windows": {w.key: w for w in windows()},
        "auto_ems": auto_ems_priorities(),
        "police": police_capabilities(),
    })


@never_cache
@require_safe
def data(request: HttpRequest) -> JsonResponse:
    now = timezone.now()
    return JsonResponse(document(holdings(), now=now))
