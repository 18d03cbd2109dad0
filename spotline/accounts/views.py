"""Staff sign-in: password (throttled), then the second factor for the roles that need it."""

from __future__ import annotations

import math
from typing import Any

import segno
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from spotline.accounts import twofactor
from spotline.accounts.models import Role


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """After sign-in, send each role to its page."""
    profile = getattr(request.user, "profile", None)
    if profile is not None and profile.role in (Role.DISPATCHER, Role.COORDINATOR):
        return redirect("console:index")
    return redirect("responder:index")


class SignInView(auth_views.LoginView):
    """Django's sign-in (its form passes the request to ``authenticate``, as django-axes
    needs), going on to the second factor for the roles that need one."""

    def get_success_url(self) -> str:
        url = super().get_success_url()
        if twofactor.needs_2fa(self.request.user):
            return twofactor.verify_url(url)
        return url


def _next(request: HttpRequest) -> str:
    url = request.POST.get("next") or request.GET.get("next") or settings.LOGIN_REDIRECT_URL
    if not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        return str(settings.LOGIN_REDIRECT_URL)
    return url


@sensitive_post_parameters("code")
@never_cache
@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the authenticator app (or a recovery
    code); or, for someone who has none yet, setting the app up."""
    next_url = _next(request)
    user = request.user
    if twofactor.is_verified(request):
        return redirect(next_url)
    if twofactor.has_authenticator(user):
        return _enter_code(request, next_url)
    if not twofactor.needs_2fa(user):
        return redirect(next_url)
    return _enrol(request, next_url)


def _enter_code(request: HttpRequest, next_url: str) -> HttpResponse:
    error = ""
    if request.method == "POST":
        found = twofactor.code_check(user=request.user, code=request.POST.get("code", ""))
        if isinstance(found, twofactor.Refused):
            error = _refused_message(found)
        elif found is None:
            error = ("That code did not work. Enter the newest code your authenticator app "
                     "shows (check that the phone's clock is right), or a recovery code.")
        else:
            twofactor.session_verify(request, found)
            if found.name == twofactor.RECOVERY:
                left = twofactor.recovery_codes_left(request.user)
                messages.warning(request, f"You used a recovery code: {left} left. "
                                 "Ask an admin to reset two-factor sign-in "
                                 "(spotline reset-2fa) if you lost your phone.")
            return redirect(next_url)
    return render(request, "registration/two_factor.html",
                  {"next": next_url, "error": error}, status=400 if error else 200)


def _refused_message(refused: twofactor.Refused) -> str:
    if refused.until is None:
        return "Too many wrong codes: wait a moment and try again."
    seconds = max(1, math.ceil((refused.until - timezone.now()).total_seconds()))
    return f"Too many wrong codes: try again in {seconds} second{'s' if seconds > 1 else ''}."


def _enrol(request: HttpRequest, next_url: str) -> HttpResponse:
    error = ""
    if request.method == "POST":
        enrolled = twofactor.authenticator_confirm(user=request.user,
                                                   code=request.POST.get("code", ""))
        if enrolled is not None:
            twofactor.session_verify(request, enrolled.device)
            # Shown once, in the answer to this POST: no page shows them again.
            return render(request, "registration/recovery_codes.html",
                          {"codes": enrolled.recovery_codes, "next": next_url})
        error = ("That code did not match. Add the key to your authenticator app and "
                 "enter the 6-digit code it shows now.")
    device = twofactor.authenticator_start(user=request.user)
    allowed, why = device.verify_is_allowed()
    until = (why or {}).get("locked_until")
    if error and not allowed and until and (until - timezone.now()).total_seconds() > 3:
        error = _refused_message(twofactor.Refused(until=until))
    uri = device.config_url
    secret = twofactor.secret_b32(device)
    return render(request, "registration/enrol.html", {
        "next": next_url, "error": error, "uri": uri,
        "secret": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
        "qr": segno.make(uri, error="m").svg_data_uri(scale=5, border=4, light="#fff"),
    }, status=400 if error else 200)


def locked_out(request: HttpRequest, original_response: Any = None,
               credentials: dict[str, Any] | None = None) -> HttpResponse:
    """django-axes' answer to a locked-out name and address: 429, saying when to retry."""
    cool_off = get_cool_off(request)
    last = (AccessAttempt.objects
            .filter(username=get_client_username(request, credentials),
                    ip_address=getattr(request, "axes_ip_address", None))
            .order_by("-attempt_time").values_list("attempt_time", flat=True).first())
    now = timezone.now()
    retry_at = (last or now) + cool_off
    seconds = max(1, math.ceil((retry_at - now).total_seconds()))
    response = render(request, "registration/locked_out.html", {
        "retry_at": retry_at, "minutes": math.ceil(seconds / 60),
        "limit": settings.AXES_FAILURE_LIMIT,
    }, status=429)
    response["Retry-After"] = str(seconds)
    return response
