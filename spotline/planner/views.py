"""``/planner/``: a coordinator uploads a city's calls, the worker runs the planner, the
page shows the progress and then the report.

Coordinators and admins only (anyone else: 404, as ``/reports/``), each seeing their own
runs. The upload is streamed to the run's private directory (``forms.ToDisk``), so the
view turns CSRF checking on itself, after the handler is in place (Django's documented
way: the check reads the form, which reads the file). Only the output files named in
``FILES`` can be downloaded, and the report is served under a policy that runs no
script at all.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from spotline.console.access import coordinator_required
from spotline.planner import jobs
from spotline.planner.forms import ToDisk, UploadForm
from spotline.planner.models import JobState, PlanJob

# What a run writes that a coordinator may download: name -> (type, what it is).
FILES: dict[str, tuple[str, Any]] = {
    "report.html": ("text/html; charset=utf-8", gettext_lazy("The report (one page)")),
    "report.json": ("application/json", gettext_lazy("Everything in the report (JSON)")),
    "classification.csv": ("text/csv; charset=utf-8",
                           gettext_lazy("Call types and their class (CSV)")),
    "diversion_by_hour.csv": ("text/csv; charset=utf-8",
                              gettext_lazy("Diversion by hour of the week (CSV)")),
    "simulation_by_hour.csv": ("text/csv; charset=utf-8",
                               gettext_lazy("Simulation by hour of the week (CSV)")),
    "staffing_curve.csv": ("text/csv; charset=utf-8", gettext_lazy("Staffing curve (CSV)")),
    "recommended_plan.csv": ("text/csv; charset=utf-8",
                             gettext_lazy("Recommended responders by hour (CSV)")),
}
# The report is our own output, but it quotes the export's call types: no script, no
# form, no frame, nothing fetched; its own <style> (by hash) and embedded images only.
REPORT_POLICY = ("default-src 'none'; style-src {styles}; img-src data:; "
                 "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox")
_STYLE = re.compile(rb"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)
# Multipart framing and the text fields around the file.
FORM_SLACK = 64 * 1024


def _limit() -> int:
    return int(settings.SPOTLINE_PLANNER_MAX_UPLOAD_MB) * 1024 * 1024


def _too_big_message() -> str:
    return _("The file is larger than the limit of %(mb)s MB. Export fewer months, or "
             "only the columns the planner uses.") % {
                 "mb": settings.SPOTLINE_PLANNER_MAX_UPLOAD_MB}


def _user_id(request: HttpRequest) -> int:
    return int(request.user.pk or 0)  # signed in: coordinator_required saw to it


def _own(request: HttpRequest, job_id: int) -> PlanJob:
    job = PlanJob.objects.filter(pk=job_id, created_by_id=_user_id(request)).first()
    if job is None:
        raise Http404("not found")
    return job


def _list(request: HttpRequest, form: UploadForm, *, status: int = 200,
          errors: list[str] | None = None) -> HttpResponse:
    runs = list(PlanJob.objects.filter(created_by_id=_user_id(request)))
    return render(request, "planner/index.html", {
        "form": form, "jobs": runs, "errors": errors or [], "coordinator": True,
        "pending": any(not j.finished for j in runs),
        "max_mb": settings.SPOTLINE_PLANNER_MAX_UPLOAD_MB,
        "retention_days": settings.SPOTLINE_PLANNER_RETENTION_DAYS,
    }, status=status)


@csrf_exempt  # checked in _upload, once the file has a place to go (see above)
@coordinator_required
@require_http_methods(["GET", "HEAD", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    """GET: the coordinator's runs and the upload form. POST: a new run."""
    if request.method != "POST":
        return _list(request, UploadForm())
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > _limit() + FORM_SLACK:  # said before a byte is read
        return _list(request, UploadForm(), status=413, errors=[_too_big_message()])
    directory = jobs.directory_new()
    handler = ToDisk(request, directory=directory, limit=_limit())
    request.upload_handlers = [handler]
    created = False
    try:
        try:
            request.POST  # noqa: B018 - parses the form, streaming the file to disk
        except MultiPartParserError:
            return _list(request, UploadForm(), status=400,
                         errors=[_("The upload arrived broken. Send the form again.")])
        if handler.too_big:
            return _list(request, UploadForm(), status=413, errors=[_too_big_message()])
        response = csrf_protect(_upload)(request, handler)
        created = response.status_code == 302  # a run now owns the directory
        return response
    finally:
        if not created:
            jobs.remove_directory(directory)


def _upload(request: HttpRequest, handler: ToDisk) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _list(request, form, status=400)
    calls = form.cleaned_data["calls"]
    calls.close()
    job = jobs.job_create(user_id=_user_id(request), options=form.options(),
                          file_name=calls.name or "calls.csv", file_bytes=calls.size,
                          directory=handler.path.parent, now=timezone.now())
    messages.success(request, _("Uploaded. The planner starts as soon as it is free; this "
                                "page shows how far it has come."))
    return redirect("planner:job", job_id=job.pk)


@coordinator_required
@require_GET
def job_page(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _own(request, job_id)
    out = jobs.directory_of(job) / jobs.OUT
    files = ([(name, label) for name, (_type, label) in FILES.items()
              if (out / name).is_file()] if job.state == JobState.DONE else [])
    return render(request, "planner/job.html", {
        "job": job, "files": files, "coordinator": True,
        "retention_days": settings.SPOTLINE_PLANNER_RETENTION_DAYS})


@coordinator_required
@require_GET
def status(request: HttpRequest, job_id: int) -> JsonResponse:
    """What the page's script polls while a run waits or runs."""
    job = _own(request, job_id)
    response = JsonResponse({
        "id": job.pk, "state": job.state, "state_label": job.get_state_display(),
        "progress": round(job.progress, 4),
        "label": job.progress_label, "error": _(job.error) if job.error else "",
        "finished": job.finished})
    response["Cache-Control"] = "no-store"
    return response


@coordinator_required
@require_GET
def output(request: HttpRequest, job_id: int, name: str) -> HttpResponse:
    """One of the run's known output files; any other name is a 404."""
    job = _own(request, job_id)
    if name not in FILES or job.state != JobState.DONE:
        raise Http404("not found")
    path = jobs.directory_of(job) / jobs.OUT / name
    try:
        if name == "report.html":  # a page of its own, under the policy above
            html = path.read_bytes()
            response = HttpResponse(html, content_type=FILES[name][0])
            response["Content-Security-Policy"] = report_policy(html)
        else:
            response = cast(HttpResponse, FileResponse(  # streamed, a response all the same
                path.open("rb"), content_type=FILES[name][0], as_attachment=True,
                filename=f"plan-{job.pk}-{name}"))
    except OSError:
        raise Http404("not found") from None
    response["Cache-Control"] = "private, no-store"
    return response


def report_policy(html: bytes) -> str:
    """REPORT_POLICY allowing exactly the report's own <style> elements."""
    hashes = [f"'sha256-{base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode()}'"
              for m in _STYLE.finditer(html)]
    return REPORT_POLICY.format(styles=" ".join(hashes) or "'none'")


@coordinator_required
@require_POST
def delete(request: HttpRequest, job_id: int) -> HttpResponse:
    if not jobs.job_delete(job_id=job_id, user_id=_user_id(request)):
        raise Http404("not found")
    messages.success(request, _("Deleted: the run, its upload and its report."))
    return redirect("planner:index")
