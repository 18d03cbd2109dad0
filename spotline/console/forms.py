from __future__ import annotations

import math
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from spotline.core.triage import Kind
from spotline.dispatch.words import WORDS
from spotline.intake.forms import ANSWERS
from spotline.intake.models import Guidance
from spotline.places.models import Landmark


class CallerIncidentForm(forms.Form):
    """A dispatcher opens an incident for a caller on the hotline."""

    kind = forms.ChoiceField(label=_("Kind"),
                             choices=[(k.value, WORDS["kind"][k.value]) for k in Kind])
    breathing = forms.ChoiceField(label=_("Breathing?"), choices=ANSWERS, initial="unknown")
    conscious = forms.ChoiceField(label=_("Awake and answering?"), choices=ANSWERS,
                                  initial="unknown")
    danger = forms.ChoiceField(choices=ANSWERS, initial="unknown",
                               label=_("Anyone in danger?"), required=False)
    where = forms.CharField(max_length=500, required=False, label=_("Where (address, place)"))
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, label=_("Latitude"))
    lon = forms.FloatField(required=False, min_value=-180, max_value=180,
                           label=_("Longitude"))
    details = forms.CharField(label=_("Details"), max_length=2000, required=False,
                              widget=forms.Textarea(attrs={"rows": 2}))
    callback_phone = forms.RegexField(regex=r"^\+?[0-9][0-9 ()./-]{4,30}$", required=False,
                                      max_length=32, label=_("Caller's phone (optional)"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lat, lon = data.get("lat"), data.get("lon")
        if any(v is not None and not math.isfinite(v) for v in (lat, lon)):
            raise forms.ValidationError(_("Coordinates must be numbers."))
        if (lat is None) != (lon is None):
            raise forms.ValidationError(_("Give both latitude and longitude, or neither."))
        if lat is None and not (data.get("where") or "").strip():
            raise forms.ValidationError(_("Say where: an address or coordinates."))
        return data


class GuidanceForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Guidance
        fields = ["kind", "language", "text"]
        labels = {"kind": _("Kind"), "language": _("Language"),
                  "text": _("Steps, one per line")}


class LandmarkForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Landmark
        fields = ["name", "lat", "lon", "active"]
        labels = {"name": _("Name"), "lat": _("Latitude"), "lon": _("Longitude"),
                  "active": _("Shown on the help page")}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lat, lon = data.get("lat"), data.get("lon")
        if lat is not None and not -90 <= lat <= 90:
            self.add_error("lat", _("Latitude is between -90 and 90."))
        if lon is not None and not -180 <= lon <= 180:
            self.add_error("lon", _("Longitude is between -180 and 180."))
        return data
