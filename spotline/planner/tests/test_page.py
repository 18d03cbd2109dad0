"""``/planner/``: the upload, who may see it, the limits, the status, the report and its
downloads, deleting."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import login_staff
from spotline.planner import jobs
from spotline.planner.models import JobState, PlanJob
from spotline.planner.pipeline import JobOptions
from spotline.planner.tests.planjobs import coordinator, done, queued, tiny_csv

FORM = {"time": "time", "type": "nature", "lat": "latitude", "lon": "longitude",
        "responders": "12", "target_median_minutes": "4.5", "target_served": "85",
        "max_responders": "30", "sample": "5000"}
REPORT = (b"<!doctype html><html><head><style>body{color:#222}</style></head>"
          b"<body><h1>Plan</h1></body></html>")


@pytest.fixture
def planner_dir(settings: Any, tmp_path: Path) -> Path:
    settings.SPOTLINE_PLANNER_DIR = tmp_path / "planner"
    return tmp_path / "planner"


@pytest.fixture
def cory(db: Any) -> Any:
    return coordinator()


@pytest.fixture
def client_for(cory: Any) -> Client:
    return login_staff(Client(), cory)


def upload(client: Client, data: bytes, **fields: str) -> Any:
    return client.post("/planner/", {**FORM, **fields,
                                     "calls": SimpleUploadedFile("milwaukee.csv", data)})


def leftovers(planner_dir: Path) -> list[Path]:
    return sorted(planner_dir.iterdir()) if planner_dir.exists() else []


def test_it_queues_an_upload_with_its_file_on_disk(client_for: Client, planner_dir: Path,
                                                   cory: Any) -> None:
    data = tiny_csv()
    response = upload(client_for, data)
    job = PlanJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/planner/{job.pk}/"
    assert (job.state, job.created_by_id, job.file_name, job.file_bytes) == (
        JobState.QUEUED, cory.pk, "milwaukee.csv", len(data))
    assert job.options == {"time": "time", "type": "nature", "desc": None,
                           "lat": "latitude", "lon": "longitude", "responders": 12,
                           "target_median_minutes": 4.5, "target_served": 0.85,
                           "max_responders": 30, "sample": 5000, "seed": 1,
                           "address": None}
    path = jobs.directory_of(job) / jobs.UPLOAD
    assert path.read_bytes() == data
    # Private: the directory 0700, the calls 0600.
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    page = client_for.get(response["Location"]).content.decode()
    assert "Waiting to start" in page and "<progress" in page


def test_it_lists_the_coordinators_own_runs_with_their_progress(
        client_for: Client, planner_dir: Path, cory: Any) -> None:
    mine = queued(cory, now=timezone.now())
    PlanJob.objects.filter(pk=mine.pk).update(state=JobState.RUNNING, progress=0.42,
                                              progress_label="simulating",
                                              lease_until=timezone.now())
    theirs = queued(coordinator("cara"), now=timezone.now())
    page = client_for.get("/planner/").content.decode()
    assert f'data-status="/planner/{mine.pk}/status.json"' in page
    assert 'value="0.420"' in page and "simulating" in page
    assert f"/planner/{theirs.pk}/" not in page
    # Without scripts the page refreshes itself while a run is unfinished.
    assert 'http-equiv="refresh"' in page


def test_it_is_hidden_from_everyone_but_coordinators(db: Any, planner_dir: Path,
                                                     cory: Any) -> None:
    job = queued(cory, now=timezone.now())
    dispatcher = login_staff(Client(), user_create(name="dana", role=Role.DISPATCHER,
                                                   password=None))
    paths = ["/planner/", f"/planner/{job.pk}/", f"/planner/{job.pk}/status.json",
             f"/planner/{job.pk}/files/report.json"]
    for path in paths:
        assert dispatcher.get(path).status_code == 404, path
        assert Client().get(path).status_code == 302, path  # to sign-in
    assert upload(dispatcher, tiny_csv()).status_code == 404
    assert dispatcher.post(f"/planner/{job.pk}/delete/").status_code == 404
    # Nothing was written for the refused upload; the run and its file are still there.
    assert [p.name for p in leftovers(planner_dir)] == [job.directory]
    assert (jobs.directory_of(job) / jobs.UPLOAD).exists()


def test_another_coordinators_runs_are_not_found(client_for: Client, planner_dir: Path) -> None:
    theirs = done(coordinator("cara"), now=timezone.now(), files={"report.html": REPORT})
    for path in (f"/planner/{theirs.pk}/", f"/planner/{theirs.pk}/status.json",
                 f"/planner/{theirs.pk}/files/report.html"):
        assert client_for.get(path).status_code == 404, path
    assert client_for.post(f"/planner/{theirs.pk}/delete/").status_code == 404
    assert PlanJob.objects.filter(pk=theirs.pk).exists()


def test_it_refuses_a_file_over_the_limit_while_it_streams(
        client_for: Client, planner_dir: Path, settings: Any) -> None:
    settings.SPOTLINE_PLANNER_MAX_UPLOAD_MB = 1
    response = upload(client_for, b"x" * (1024 * 1024 + 10))
    assert response.status_code == 413
    assert "larger than the limit of 1 MB" in response.content.decode()
    assert not PlanJob.objects.exists()
    assert leftovers(planner_dir) == []  # the part written is gone


def test_it_refuses_a_declared_length_over_the_limit_before_reading(
        client_for: Client, planner_dir: Path, settings: Any) -> None:
    settings.SPOTLINE_PLANNER_MAX_UPLOAD_MB = 1
    response = upload(client_for, b"x" * (3 * 1024 * 1024))
    assert response.status_code == 413
    assert "larger than the limit of 1 MB" in response.content.decode()
    assert leftovers(planner_dir) == []


def test_it_takes_an_upload_above_the_body_limit_of_other_pages(
        client_for: Client, planner_dir: Path, settings: Any) -> None:
    # Every other form is bounded at SPOTLINE_MAX_BODY_BYTES (16 KiB); an export is not.
    data = tiny_csv(rows=2000)
    assert len(data) > 4 * settings.SPOTLINE_MAX_BODY_BYTES
    assert upload(client_for, data).status_code == 302
    assert (jobs.directory_of(PlanJob.objects.get()) / jobs.UPLOAD).read_bytes() == data


@pytest.mark.parametrize(("fields", "data", "says"), [
    ({"time": ""}, b"time,nature\n", "This field is required."),
    ({"lon": ""}, b"time,nature\n", "Give both coordinate columns"),
    ({}, b"", "The submitted file is empty."),
    ({"target_served": "150"}, b"time,nature\n", "less than or equal to 100"),
    ({"responders": "many"}, b"time,nature\n", "Enter a whole number."),
])
def test_it_says_what_is_wrong_with_the_form(client_for: Client, planner_dir: Path,
                                             fields: dict[str, str], data: bytes,
                                             says: str) -> None:
    response = upload(client_for, data, **fields)
    assert response.status_code == 400
    assert says in response.content.decode()
    assert not PlanJob.objects.exists()
    assert leftovers(planner_dir) == []


def test_it_asks_for_a_file(client_for: Client, planner_dir: Path) -> None:
    response = client_for.post("/planner/", FORM)
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_a_broken_upload_gets_a_clear_400(client_for: Client, planner_dir: Path) -> None:
    response = client_for.generic("POST", "/planner/", b"--x\r\nnot a part",
                                  content_type="multipart/form-data; boundary=")
    assert response.status_code == 400
    assert "arrived broken" in response.content.decode()
    assert leftovers(planner_dir) == []


def test_it_checks_the_csrf_token_of_an_upload(cory: Any, planner_dir: Path) -> None:
    client = login_staff(Client(enforce_csrf_checks=True), cory)
    assert upload(client, tiny_csv()).status_code == 403
    assert not PlanJob.objects.exists()
    assert leftovers(planner_dir) == []


def test_status_json_says_how_far_a_run_is(client_for: Client, planner_dir: Path,
                                           cory: Any) -> None:
    job = queued(cory, now=timezone.now())
    assert client_for.get(f"/planner/{job.pk}/status.json").json() == {
        "id": job.pk, "state": "queued", "state_label": "Waiting to start",
        "progress": 0.0, "label": "", "error": "", "finished": False}
    PlanJob.objects.filter(pk=job.pk).update(
        state=JobState.FAILED, error=jobs.STOPPED, finished_at=timezone.now())
    answer = client_for.get(f"/planner/{job.pk}/status.json").json()
    assert (answer["state"], answer["finished"], answer["error"]) == (
        "failed", True, jobs.STOPPED)


def test_it_serves_the_report_under_a_policy_without_scripts(
        client_for: Client, planner_dir: Path, cory: Any) -> None:
    job = done(cory, now=timezone.now(), files={"report.html": REPORT,
                                                "report.json": b'{"calls": 60}',
                                                "staffing_curve.csv": b"responders\n1\n"})
    page = client_for.get(f"/planner/{job.pk}/").content.decode()
    assert f'href="/planner/{job.pk}/files/report.html"' in page
    assert f'href="/planner/{job.pk}/files/staffing_curve.csv"' in page
    assert "recommended_plan.csv" not in page  # not written: not offered

    response = client_for.get(f"/planner/{job.pk}/files/report.html")
    assert response.status_code == 200 and response.content == REPORT
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy
    assert "script-src" not in policy and "unsafe-inline" not in policy
    assert "'sha256-" in policy  # its own <style>, by hash
    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Type"] == "text/html; charset=utf-8"

    download = client_for.get(f"/planner/{job.pk}/files/report.json")
    assert download.status_code == 200
    assert json.loads(b"".join(download.streaming_content)) == {"calls": 60}
    assert download["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize("name", [
    "upload.csv", "..%2Fupload.csv", "../upload.csv", "%2e%2e/upload.csv", "started",
    "report.html%00", "REPORT.HTML",
])
def test_it_serves_only_the_known_output_files(client_for: Client, planner_dir: Path,
                                               cory: Any, name: str) -> None:
    job = done(cory, now=timezone.now(), files={"report.html": REPORT, "started": b"1"})
    # The export is gone once the run ends; put one back to be sure it cannot be had.
    (jobs.directory_of(job) / jobs.UPLOAD).write_bytes(b"secret calls")
    (jobs.directory_of(job) / jobs.OUT / "upload.csv").write_bytes(b"secret calls")
    response = client_for.get(f"/planner/{job.pk}/files/{name}")
    assert response.status_code == 404
    assert b"secret calls" not in response.content


def test_a_run_not_done_has_no_downloads(client_for: Client, planner_dir: Path,
                                         cory: Any) -> None:
    job = queued(cory, now=timezone.now())
    out = jobs.directory_of(job) / jobs.OUT
    out.mkdir()
    (out / "report.html").write_bytes(REPORT)
    assert client_for.get(f"/planner/{job.pk}/files/report.html").status_code == 404


def test_a_failed_run_says_why(client_for: Client, planner_dir: Path, cory: Any) -> None:
    job = queued(cory, now=timezone.now())
    PlanJob.objects.filter(pk=job.pk).update(
        state=JobState.FAILED, finished_at=timezone.now(),
        error="the export has no column named 'when'")
    page = client_for.get(f"/planner/{job.pk}/").content.decode()
    assert "the export has no column named &#x27;when&#x27;" in page
    assert "<progress" not in page


def test_deleting_a_run_removes_its_files_at_once(client_for: Client, planner_dir: Path,
                                                  cory: Any) -> None:
    job = done(cory, now=timezone.now(), files={"report.html": REPORT})
    directory = jobs.directory_of(job)
    assert directory.exists()
    response = client_for.post(f"/planner/{job.pk}/delete/")
    assert (response.status_code, response["Location"]) == (302, "/planner/")
    assert not PlanJob.objects.exists()
    assert not directory.exists()
    assert client_for.post(f"/planner/{job.pk}/delete/").status_code == 404
    assert client_for.get(f"/planner/{job.pk}/delete/").status_code == 405


def test_the_console_menu_links_the_planner_for_coordinators(client_for: Client,
                                                             planner_dir: Path) -> None:
    page = client_for.get("/reports/").content.decode()
    assert '<a href="/planner/" id="nav-planner">' in page


def test_an_address_column_goes_to_the_run_for_exports_without_coordinates(
        client_for: Client, planner_dir: Path) -> None:
    form = client_for.get("/planner/").content.decode()
    assert 'name="address"' in form and "Coordinates are better" in form
    response = upload(client_for, tiny_csv(), lat="", lon="", address=" location ")
    assert response.status_code == 302
    job = PlanJob.objects.get()
    assert (job.options["address"], job.options["lat"], job.options["lon"]) == (
        "location", None, None)
    assert JobOptions(**job.options).address == "location"  # as the runner reads it
    page = client_for.get(response["Location"]).content.decode()
    assert "<code>location</code>" in page
