"""The public alert pages (``/alerts/...``): no sign-in."""

from __future__ import annotations

from django.urls import URLPattern, path

from spotline.alerts import feeds, subscribe_views, views

app_name = "alerts"

urlpatterns: list[URLPattern] = [
    path("", views.index, name="index"),
    path("<int:alert_id>/", views.detail, name="detail"),
    # Fixed contract (issue 16): CAP 1.2 per alert, and the Atom feed of them.
    path("<int:alert_id>.cap.xml", feeds.cap_xml, name="cap"),
    path("<int:alert_id>.cancel.cap.xml", feeds.cancel_cap_xml, name="cancel_cap"),
    path("feed.atom", feeds.feed, name="feed"),
    path("report", views.report, name="report"),
    path("report/thanks", views.report_thanks, name="report_thanks"),
    path("push", subscribe_views.push, name="push"),
    path("push/delete", subscribe_views.push_delete, name="push_delete"),
    path("email", subscribe_views.email, name="email"),
    path("confirm/<str:token>/", subscribe_views.confirm, name="confirm"),
    path("unsubscribe/", subscribe_views.unsubscribe_email, name="unsubscribe"),
    path("unsubscribe/<str:token>/", subscribe_views.unsubscribe_link, name="unsubscribe_link"),
    path("sw.js", subscribe_views.service_worker, name="sw"),
]
