"""Who may see the console: dispatchers and coordinators, with their second factor."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from spotline.accounts import twofactor
from spotline.accounts.models import Role

View = Callable[..., HttpResponse]


def _role_required(*roles: str) -> Callable[[View], View]:
    """Signed in with one of ``roles`` (anyone else: 404), and with a verified second
    factor where SPOTLINE_2FA_ROLES asks for one (else: the code page, then back)."""

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            profile = getattr(request.user, "profile", None)
            # An admin (superuser) may do whatever a coordinator may.
            if not request.user.is_superuser and (profile is None or profile.role not in roles):
                raise Http404("not found")
            if not twofactor.may_use_staff_pages(request):
                return redirect(twofactor.verify_url(request.get_full_path()))
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


dispatcher_required = _role_required(Role.DISPATCHER, Role.COORDINATOR)
coordinator_required = _role_required(Role.COORDINATOR)
