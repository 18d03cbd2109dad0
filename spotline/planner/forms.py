"""The upload form of ``/planner/``, and the handler that streams the file to disk.

An export is hundreds of MB of calls: ``ToDisk`` writes it chunk by chunk into the
run's private directory (0600) as it arrives, counting bytes, and stops at the limit, so
it is never held whole in memory nor left in a shared temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from spotline.datadir import FILE_MODE
from spotline.planner.jobs import UPLOAD

FIELD = "calls"


class ToDisk(FileUploadHandler):
    """Write the one file of field ``calls`` to ``directory``/upload.csv, at most
    ``limit`` bytes; ``too_big`` tells the view the upload was stopped."""

    def __init__(self, request: HttpRequest, *, directory: Path, limit: int) -> None:
        super().__init__(request)
        self.path = directory / UPLOAD
        self.limit = limit
        self.written = 0
        self.too_big = False
        self.out: Any = None

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        if field_name != FIELD or self.out is not None:
            raise SkipFile  # one file, in its field only
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_RDWR, FILE_MODE)
        self.out = os.fdopen(fd, "w+b")

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.written += len(raw_data)
        if self.written > self.limit:
            self.too_big = True
            self.out.close()
            self.path.unlink(missing_ok=True)
            # Stop reading: the rest of a 2 GB body is not worth receiving.
            raise StopUpload(connection_reset=True)
        self.out.write(raw_data)

    def file_complete(self, file_size: int) -> UploadedFile[bytes] | None:
        if self.out is None or self.too_big:
            return None
        self.out.flush()
        self.out.seek(0)
        return UploadedFile(file=self.out, name=self.file_name, size=file_size,
                            content_type=self.content_type, charset=self.charset)


class UploadForm(forms.Form):
    """The export and how to read it; the targets of the staffing search."""

    calls = forms.FileField(
        label=_("Calls for service (CSV)"),
        help_text=_("One row per call, with a header row. Any separator and encoding "
                    "(UTF-8, Windows-1252, UTF-16) works."))
    time = forms.CharField(
        label=_("Time column"), max_length=200,
        help_text=_("The column with the date and time the call came in."))
    type = forms.CharField(
        label=_("Call type column"), max_length=200,
        help_text=_("The column with the call type: a code or a description."))
    desc = forms.CharField(
        label=_("Description column (optional)"), max_length=200, required=False,
        help_text=_("A column describing the call type, when the type column holds "
                    "codes."))
    lat = forms.CharField(label=_("Latitude column (optional)"), max_length=200,
                          required=False)
    lon = forms.CharField(
        label=_("Longitude column (optional)"), max_length=200, required=False,
        help_text=_("Without coordinates the simulation cannot place calls: give both "
                    "or neither."))
    address = forms.CharField(
        label=_("Address column (optional)"), max_length=200, required=False,
        help_text=_("For an export without coordinates: a street address or beat, looked "
                    "up in your organization's gazetteer. Coordinates are better: an "
                    "address it cannot place for certain leaves its call without a "
                    "place."))
    responders = forms.IntegerField(
        label=_("Responders on shift to simulate"), initial=20, min_value=1, max_value=500,
        help_text=_("The same number every hour of the week: the plan to compare with."))
    target_median_minutes = forms.FloatField(
        label=_("Target: median minutes to a responder on scene"), initial=5.0,
        min_value=1.0, max_value=60.0,
        help_text=_("Brain injury from an overdose can begin after 4 to 5 minutes "
                    "without breathing."))
    target_served = forms.IntegerField(
        label=_("Target: share of eligible calls served (%)"), initial=90, min_value=1,
        max_value=100)
    max_responders = forms.IntegerField(
        label=_("Most responders per hour to consider"), initial=40, min_value=1,
        max_value=500, help_text=_("The staffing search stops here."))
    sample = forms.IntegerField(
        label=_("Calls to simulate"), initial=20000, min_value=100, max_value=10_000_000,
        required=False,
        help_text=_("Simulates the first whole days of the export that hold at least "
                    "this many eligible calls, so a run takes minutes. Leave it empty to "
                    "simulate every eligible call (slower)."))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("lat")) != bool(data.get("lon")):
            raise forms.ValidationError(
                _("Give both coordinate columns, latitude and longitude, or neither."))
        return data

    def options(self) -> dict[str, Any]:
        """The run's options: the fields of ``pipeline.JobOptions``."""
        d = self.cleaned_data
        return {"time": d["time"].strip(), "type": d["type"].strip(),
                "desc": d["desc"].strip() or None, "lat": d["lat"].strip() or None,
                "lon": d["lon"].strip() or None, "responders": d["responders"],
                "target_median_minutes": d["target_median_minutes"],
                "target_served": d["target_served"] / 100, "max_responders":
                d["max_responders"], "sample": d["sample"], "seed": 1,
                "address": d["address"].strip() or None}
