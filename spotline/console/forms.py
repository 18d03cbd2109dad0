from __future__ import annotations

import math
from typing import Any

from django import forms

from spotline.core.triage import Kind
from spotline.intake.forms import ANSWERS
from spotline.intake.models import Guidance, Landmark


class CallerIncidentForm(forms.Form):
    """A dispatcher opens an incident for a caller on the hotline."""

    kind = forms.ChoiceField(choices=[(k.value, k.value.replace("_", " ")) for k in Kind])
    breathing = forms.ChoiceField(choices=ANSWERS, initial="unknown")
    conscious = forms.ChoiceField(choices=ANSWERS, initial="unknown")
    danger = forms.ChoiceField(choices=ANSWERS, initial="unknown", label="Anyone in danger?",
                               required=False)
    where = forms.CharField(max_length=500, required=False, label="Where (address, place)")
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, label="Latitude")
    lon = forms.FloatField(required=False, min_value=-180, max_value=180, label="Longitude")
    details = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(
        attrs={"rows": 2}))
    callback_phone = forms.RegexField(regex=r"^\+?[0-9][0-9 ()./-]{4,30}$", required=False,
                                      max_length=32, label="Caller's phone (optional)")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lat, lon = data.get("lat"), data.get("lon")
        if any(v is not None and not math.isfinite(v) for v in (lat, lon)):
            raise forms.ValidationError("Coordinates must be numbers.")
        if (lat is None) != (lon is None):
            raise forms.ValidationError("Give both latitude and longitude, or neither.")
        if lat is None and not (data.get("where") or "").strip():
            raise forms.ValidationError("Say where: an address or coordinates.")
        return data


class GuidanceForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Guidance
        fields = ["kind", "language", "text"]


class LandmarkForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Landmark
        fields = ["name", "lat", "lon", "active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lat, lon = data.get("lat"), data.get("lon")
        if lat is not None and not -90 <= lat <= 90:
            self.add_error("lat", "Latitude is between -90 and 90.")
        if lon is not None and not -180 <= lon <= 180:
            self.add_error("lon", "Longitude is between -180 and 180.")
        return data
