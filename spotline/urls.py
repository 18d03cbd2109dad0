from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path

from spotline.accounts import views as account_views
from spotline.api.api import api
from spotline.intake.twilio import urls as intake_hooks
from spotline.notify import urls as notify_hooks

urlpatterns = [
    path("api/", api.urls),
    # Providers' webhooks, one namespace: inbound (texts, calls) and outbound status.
    path("hooks/", include((intake_hooks.urlpatterns + notify_hooks.urlpatterns, "hooks"))),
    path("accounts/login/", account_views.SignInView.as_view(), name="login"),
    path("accounts/two-factor/", account_views.two_factor, name="two-factor"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/home/", account_views.home, name="home"),
    path("console/", include("spotline.console.urls")),
    path("responder/", include("spotline.field.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("transparency/", include("spotline.transparency.urls")),
    path("", include("spotline.figures.urls")),
    path("alerts/", include("spotline.alerts.urls")),
    path("planner/", include("spotline.planner.urls")),
    path("", include("spotline.ops.urls")),
    path("", include("spotline.intake.checkin_urls")),
    path("", include("spotline.intake.urls")),
]

# A database that is down or restarting answers 503 with Retry-After, not a bare 500.
handler500 = "spotline.ops.unavailable.server_error"
