"""The coordinator's forms for community drug alerts: an area, an alert, a drug-checking
result. They read and shape what was typed; the actions in ``alerts/actions`` decide
what is allowed (a valid polygon, an expiry in the future) and say why not."""

from __future__ import annotations

import json
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from spotline.alerts.models import Area, Report
from spotline.alerts.words import ADVICE, METHODS, SEVERITIES, SIGNS, SUBSTANCES
from spotline.core.alerts import ADVICE_FOR, MAX_REPORT_TEXT, MAX_TEXT, Substance

MAX_GEOJSON_BYTES = 1_000_000  # an area is at most 1,000 corners: far less than this


def _choices(words: dict[str, Any]) -> list[tuple[str, Any]]:
    return list(words.items())


def aliases_from(text: str) -> list[str]:
    """"00100, 00120; Kallio" -> the other names, one by one."""
    return [a.strip() for a in text.replace(";", ",").replace("\n", ",").split(",")
            if a.strip()]


def geometry_from(text: str) -> dict[str, Any]:
    """The Polygon or MultiPolygon of pasted GeoJSON: a geometry, a Feature, or a
    FeatureCollection of exactly one feature. ``ValidationError`` says what is wrong;
    whether the shape can be an area is the action's to say."""
    try:
        data = json.loads(text)
    except ValueError:
        raise forms.ValidationError(_("This is not GeoJSON: it cannot be read as JSON."),
                                    code="json") from None
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list) or len(features) != 1:
            raise forms.ValidationError(
                _("A FeatureCollection must hold exactly one feature: one area at a time."),
                code="features")
        data = features[0]
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = data.get("geometry")
    if not isinstance(data, dict):
        raise forms.ValidationError(_("This GeoJSON holds no geometry."), code="geometry")
    return data


class AreaForm(forms.Form):
    """A new area: a name, other names or postcodes, and one of a GeoJSON shape (pasted,
    a file, or drawn on the map, which fills the same box) or an H3 cell index."""

    name = forms.CharField(label=_("Name"), max_length=80)
    aliases = forms.CharField(
        label=_("Other names and postcodes (comma-separated)"), required=False,
        max_length=1000, help_text=_("What people may text for this area: 00530, Kallio."))
    geojson = forms.CharField(
        label=_("GeoJSON polygon (paste it, or draw on the map)"), required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}))
    geojson_file = forms.FileField(label=_("or a GeoJSON file"), required=False)
    h3_cell = forms.CharField(label=_("or an H3 cell index"), required=False, max_length=20)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("geojson_file")
        text = (data.get("geojson") or "").strip()
        if upload is not None:
            if upload.size > MAX_GEOJSON_BYTES:
                raise forms.ValidationError(_("The file is too big for one area (at most "
                                              "1 MB)."))
            try:
                text = upload.read().decode("utf-8-sig").strip()
            except UnicodeDecodeError:
                raise forms.ValidationError(_("The file is not GeoJSON text.")) from None
        cell = (data.get("h3_cell") or "").strip()
        if bool(text) == bool(cell):
            raise forms.ValidationError(_("Give the area one shape: a GeoJSON polygon "
                                          "(pasted, a file, or drawn on the map) or an H3 "
                                          "cell index."))
        data["geometry"] = geometry_from(text) if text else None
        data["h3_cell"] = cell
        data["alias_list"] = aliases_from(data.get("aliases") or "")
        return data


class AreaEditForm(forms.Form):
    """Renaming an area, its other names, and (optionally) a new shape."""

    name = forms.CharField(label=_("Name"), max_length=80)
    aliases = forms.CharField(label=_("Other names and postcodes (comma-separated)"),
                              required=False, max_length=1000)
    geojson = forms.CharField(
        label=_("A new GeoJSON polygon (leave empty to keep the shape)"), required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        text = (data.get("geojson") or "").strip()
        data["geometry"] = geometry_from(text) if text else None
        data["alias_list"] = aliases_from(data.get("aliases") or "")
        return data


def advice_by_substance() -> str:
    """ADVICE_FOR as JSON, for the script that ticks a substance's usual advice."""
    return json.dumps({s.value: [a.value for a in advice] for s, advice in ADVICE_FOR.items()})


class ReportChoice(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        area = obj.area.name if obj.area else (_("a responder's area") if obj.cell else "—")
        return _("Report %(n)s: %(source)s, %(area)s") % {
            "n": obj.pk, "source": SOURCES.get(obj.source, obj.source), "area": area}


SOURCES: dict[str, Any] = {"sms": _("text message"), "web": _("web form"),
                           "responder": _("responder"), "drug_check": _("drug checking")}


class AlertForm(forms.Form):
    """An alert's fields, as ``review.AlertFields`` takes them."""

    substance = forms.ChoiceField(label=_("Substance"), choices=_choices(SUBSTANCES))
    signs = forms.MultipleChoiceField(label=_("Signs"), choices=_choices(SIGNS), required=False,
                                      widget=forms.CheckboxSelectMultiple)
    advice = forms.MultipleChoiceField(
        label=_("Advice"), choices=_choices(ADVICE), required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Each substance starts with its usual advice; change it as needed."))
    advice_text = forms.CharField(label=_("Your own advice (optional)"), required=False,
                                  max_length=MAX_TEXT,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    text = forms.CharField(
        label=_("What is going round, in plain words (optional)"), required=False,
        max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("No names, addresses, exact times or incident numbers: say it in the "
                    "area's words."))
    severity = forms.ChoiceField(label=_("Severity"), choices=_choices(SEVERITIES),
                                 initial="severe")
    expires = forms.DateTimeField(
        label=_("Expires (local time)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    areas = forms.ModelMultipleChoiceField(label=_("Areas"), queryset=Area.objects.all(),
                                           widget=forms.CheckboxSelectMultiple)
    reports = ReportChoice(label=_("Based on these reports"), queryset=Report.objects.none(),
                           required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, alert_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        reports = Report.objects.filter(status="new", purged_at__isnull=True)
        if alert_id is not None:
            reports = reports | Report.objects.filter(alert_id=alert_id)
        choice = cast(ReportChoice, self.fields["reports"])
        choice.queryset = reports.select_related("area").order_by("-pk")
        self.fields["substance"].widget.attrs["data-advice"] = advice_by_substance()
        if not self.is_bound and "advice" not in self.initial:
            substance = Substance(self.initial.get("substance") or Substance.UNKNOWN)
            self.initial["advice"] = [a.value for a in ADVICE_FOR[substance]]


class DrugCheckForm(forms.Form):
    """A drug-checking result, entered by staff: what it was sold as, what was found."""

    expected = forms.ChoiceField(label=_("Sold as"), required=False,
                                 choices=[("", _("not known")), *_choices(SUBSTANCES)])
    found = forms.MultipleChoiceField(label=_("Found"), choices=_choices(SUBSTANCES),
                                      widget=forms.CheckboxSelectMultiple)
    method = forms.ChoiceField(label=_("Method"), choices=_choices(METHODS))
    area = forms.ModelChoiceField(label=_("Area"), queryset=Area.objects.all(),
                                  required=False, empty_label=_("not known"))
    notes = forms.CharField(label=_("Notes (no names; destroyed after the retention window)"),
                            required=False, max_length=MAX_REPORT_TEXT,
                            widget=forms.Textarea(attrs={"rows": 2}))

