from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from spotline.accounts.models import Role


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """After sign-in, send each role to its page."""
    profile = getattr(request.user, "profile", None)
    if profile is not None and profile.role in (Role.DISPATCHER, Role.COORDINATOR):
        return redirect("console:index")
    return redirect("responder:index")
