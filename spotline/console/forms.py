from __future__ import annotations

import math
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from spotline.core.triage import Kind
from spotline.dispatch.actions.relocate import MAX_RADIUS_M
from spotline.dispatch.models import LocatedBy
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
    where = forms.CharField(max_length=500, required=False,
                            label=_("Where, in the caller's words"),
                            help_text=_("Then find it, or click the map: the point is "
                                        "set from a place found or a click, never typed."))
    # Filled by the map or by a place found from the words, never typed: hidden.
    lat = forms.FloatField(required=False, min_value=-90, max_value=90,
                           widget=forms.HiddenInput)
    lon = forms.FloatField(required=False, min_value=-180, max_value=180,
                           widget=forms.HiddenInput)
    radius_m = forms.FloatField(required=False, min_value=0, max_value=MAX_RADIUS_M,
                                widget=forms.HiddenInput)
    located_by = forms.ChoiceField(required=False, widget=forms.HiddenInput,
                                   choices=[("", ""), (LocatedBy.MAP.value, ""),
                                            (LocatedBy.WORDS.value, "")])
    # Without JavaScript: a place found from the words, chosen among the candidates
    # (its value is "lat,lon,radius": the page lists them, the form takes one back).
    candidate = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
    details = forms.CharField(label=_("Details"), max_length=2000, required=False,
                              widget=forms.Textarea(attrs={"rows": 2}))
    callback_phone = forms.RegexField(regex=r"^\+?[0-9][0-9 ()./-]{4,30}$", required=False,
                                      max_length=32, label=_("Caller's phone (optional)"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("candidate"):
            found = candidate_point(data["candidate"])
            if found is None:
                raise forms.ValidationError(_("Choose a place from the list, or click the "
                                              "map."))
            data["lat"], data["lon"], data["radius_m"] = found
            data["located_by"] = LocatedBy.WORDS.value
        lat, lon = data.get("lat"), data.get("lon")
        if any(v is not None and not math.isfinite(v) for v in (lat, lon)):
            raise forms.ValidationError(_("Choose a place from the list, or click the map."))
        if (lat is None) != (lon is None):
            raise forms.ValidationError(_("Choose a place from the list, or click the map."))
        if lat is None and not (data.get("where") or "").strip():
            raise forms.ValidationError(_("Say where, in the caller's words, or click the "
                                          "map."))
        if lat is None:
            data["located_by"], data["radius_m"] = "", None
        elif data.get("located_by") != LocatedBy.WORDS.value:
            # A click on the map (or a point without a known source: the same trust).
            data["located_by"], data["radius_m"] = LocatedBy.MAP.value, None
        return data


def candidate_point(value: str) -> tuple[float, float, float] | None:
    """A listed candidate's "lat,lon,radius" back as numbers, or None if it is not one."""
    try:
        lat, lon, radius = (float(v) for v in value.split(","))
    except ValueError:
        return None
    if not all(math.isfinite(v) for v in (lat, lon, radius)):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180 and 0 <= radius <= MAX_RADIUS_M):
        return None
    return lat, lon, radius


class PlaceForm(forms.Form):
    """Setting or moving an incident's point: a click on the map ("map"), or a place
    found from words ("words", approximate within ``radius_m``)."""

    lat = forms.FloatField(min_value=-90, max_value=90)
    lon = forms.FloatField(min_value=-180, max_value=180)
    how = forms.ChoiceField(choices=[(LocatedBy.MAP.value, ""), (LocatedBy.WORDS.value, "")])
    radius_m = forms.FloatField(required=False, min_value=0, max_value=MAX_RADIUS_M)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if any(v is not None and not math.isfinite(v)
               for v in (data.get("lat"), data.get("lon"), data.get("radius_m"))):
            raise forms.ValidationError("not a number")
        if data.get("how") == LocatedBy.WORDS.value and data.get("radius_m") is None:
            raise forms.ValidationError("a place found from words has a radius")
        return data


class GuidanceForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Guidance
        fields = ["kind", "language", "text"]
        labels = {"kind": _("Kind"), "language": _("Language"),
                  "text": _("Steps, one per line")}


MAX_ALIASES = 20


class LandmarkForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Landmark
        fields = ["name", "aliases", "lat", "lon", "active"]
        labels = {"name": _("Name"), "lat": _("Latitude"), "lon": _("Longitude"),
                  "active": _("Shown on the help page"),
                  "aliases": _("Other names people use, one per line (\"the tracks\", "
                               "\"under the bridge\")")}
        widgets = {"aliases": forms.Textarea(attrs={"rows": 3})}

    def clean_aliases(self) -> str:
        """Searched first by the geocoder, so kept short and plain: at most 20 names of
        at most 80 characters, no control characters."""
        lines = [line.strip() for line in (self.cleaned_data.get("aliases") or "").splitlines()]
        names = [line for line in lines if line]
        if len(names) > MAX_ALIASES:
            raise forms.ValidationError(_("At most %(n)s other names.") % {"n": MAX_ALIASES})
        for name in names:
            if len(name) > 80 or any(ord(c) < 32 for c in name):
                raise forms.ValidationError(
                    _("Each name is one line of at most 80 characters."))
        return "\n".join(names)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lat, lon = data.get("lat"), data.get("lon")
        if lat is not None and not -90 <= lat <= 90:
            self.add_error("lat", _("Latitude is between -90 and 90."))
        if lon is not None and not -180 <= lon <= 180:
            self.add_error("lon", _("Longitude is between -180 and 180."))
        return data
