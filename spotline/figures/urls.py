"""Program reports for coordinators (``/reports/``) and the public dashboard
(``/dashboard/``), both read from the reporting store (``spotline.tally``)."""

from __future__ import annotations

from django.urls import URLPattern, path

from spotline.figures import dashboard, reports

app_name = "figures"

urlpatterns: list[URLPattern] = [
    path("reports/", reports.report_page, name="report"),
    path("reports/export.csv", reports.report_csv, name="report_csv"),
    path("reports/print/", reports.report_print, name="report_print"),
    # Fixed for outside readers (journalists, researchers): the public figures.
    path("dashboard/", dashboard.dashboard_page, name="dashboard"),
    path("dashboard/data.json", dashboard.data_json, name="dashboard_json"),
    path("dashboard/data.csv", dashboard.data_csv, name="dashboard_csv"),
]
