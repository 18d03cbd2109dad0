from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from spotline.core.lifecycle import State
from spotline.core.policy import Actor
from spotline.dispatch.actions.answers import (
    AnswerKept,
    TooLong,
    details_room,
    incident_tell_more,
    questions_open,
)
from spotline.dispatch.actions.dispatcher import incident_cancel
from spotline.dispatch.actions.opening import (
    incident_ask_again,
    incident_by_token,
    incident_open,
)
from spotline.dispatch.models import Incident, Source
from spotline.dispatch.presenters import tracking
from spotline.errors import ActionError, NotFound
from spotline.intake.forms import HelpForm, MoreForm, request_from
from spotline.intake.guidance import steps_for
from spotline.intake.place_pages import located, place_question
from spotline.intake.submissions import FIELD, new_key, send_once


# The public pages are exempt from CSRF on purpose: they act for no signed-in user, so
# a forged request can do nothing the forger could not do directly, while a cheap
# phone that drops cookies would otherwise get a 403 instead of help.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def help_form(request: HttpRequest) -> HttpResponse:
    """The public help page. A plain form POST: works with JavaScript off."""
    language = request.POST.get("language", "") if request.method == "POST" else ""
    if language in dict(settings.LANGUAGES):
        return _in_language(request, language)
    form = HelpForm(request.POST or None, initial={"submission": new_key()})
    if request.method == "POST" and form.is_valid():
        wanted = request_from(form.cleaned_data, source=Source.WEB,
                              language=request.LANGUAGE_CODE or "en")
        now = timezone.now()
        # The place in words is looked up at the first send only (``located``).
        token = send_once(form.cleaned_data.get("submission") or "",
                          lambda: incident_open(located(wanted), now=now), now=now)
        return redirect("intake:status", token=token)
    return _help_page(request, form, status=400 if request.method == "POST" else 200)


# The optional questions, folded under the Send button: shown open when one of them
# holds something to see (an error, or an answer carried over a language switch).
MORE = ("breathing", "conscious", "danger", "details", "callback_phone")


def _more_open(form: HelpForm) -> bool:
    if form.is_bound:
        return any(form.errors.get(name) for name in MORE)
    return any(form.initial.get(name) not in (None, "", "unknown") for name in MORE)


# The big choices on the first screen of a phone; the other kinds one tap further.
FIRST_KINDS = ("overdose", "mental_health", "other")


def _help_page(request: HttpRequest, form: HelpForm, *, status: int = 200) -> HttpResponse:
    chosen = (form.data.get("kind") if form.is_bound else form.initial.get("kind")) or ""
    return render(request, "intake/help.html", {
        "form": form, "org": settings.SPOTLINE_ORG_NAME, "more_open": _more_open(form),
        "first_kinds": FIRST_KINDS, "more_kinds_open": bool(chosen) and chosen not in FIRST_KINDS,
        "tiles": settings.SPOTLINE_TILE_URL, "attribution": settings.SPOTLINE_TILE_ATTRIBUTION,
        "has_landmarks": form.fields["landmark"].queryset.exists(),  # type: ignore[attr-defined]
    }, status=status)


def _in_language(request: HttpRequest, language: str) -> HttpResponse:
    """The language buttons send the form itself: the page comes back in the other
    language with everything typed still there (and nothing sent, nothing checked),
    and the choice is remembered like Django's own switch remembers it."""
    kept = {name: request.POST.get(name) for name in HelpForm.base_fields
            if request.POST.get(name) not in (None, "")}
    kept.setdefault("submission", new_key())
    translation.activate(language)
    request.LANGUAGE_CODE = language
    response = _help_page(request, HelpForm(initial=kept))
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language,
                        max_age=settings.LANGUAGE_COOKIE_AGE,
                        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                        secure=settings.LANGUAGE_COOKIE_SECURE)
    response["Content-Language"] = language
    return response


def status(request: HttpRequest, token: str) -> HttpResponse:
    try:
        incident = incident_by_token(token)
    except NotFound:
        raise Http404("no such request") from None
    view = tracking(incident, now=timezone.now())
    cancelled_by_person = (incident.state == State.CANCELLED
                           and incident.closed_by == Actor.PERSON.value)
    return render(request, "intake/status.html", {
        "t": view, "token": token, "hotline": settings.SPOTLINE_HOTLINE,
        "org": settings.SPOTLINE_ORG_NAME,
        "guidance": steps_for(incident.kind, request.LANGUAGE_CODE or "en"),
        # After "they are OK now": a way back, with the same details while they exist.
        "ask_again": cancelled_by_person and incident.purged_at is None,
        "ask_on_help_page": cancelled_by_person and incident.purged_at is not None,
        "submission": new_key(),
        **_more_context(incident, view.questions, MoreForm(room=details_room(incident.details))),
        "told": request.GET.get("told") == "1",
        "place_q": place_question(incident, language=request.LANGUAGE_CODE or "en"),
        "placed": request.GET.get("placed") == "1",
    })


def _more_context(incident: Incident, questions: tuple[str, ...],
                  form: MoreForm) -> dict[str, object]:
    """"Tell us more": only the questions still open, and details while there is room."""
    return {"more_form": form,
            "more_questions": [form[name] for name in questions if name != "details"],
            "more_details": form["details"] if "details" in questions else None}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def more(request: HttpRequest, token: str) -> HttpResponse:
    """"Tell us more" after sending: the status page's form posts here and comes back.
    Also a page of its own, which does not reload every few seconds as the status page
    does without JavaScript (so a person can write), and shows what needs fixing."""
    try:
        incident = incident_by_token(token)
    except NotFound:
        raise Http404("no such request") from None
    status_url = reverse("intake:status", args=[token])
    if incident.closed_at is not None:
        return redirect(status_url)
    form = MoreForm(request.POST or None, room=details_room(incident.details))
    if request.method == "POST" and form.is_valid():
        try:
            incident_tell_more(incident_id=incident.pk, **form.answers(), now=timezone.now())
        except TooLong as exc:
            form.add_error("details", gettext(
                "That is longer than we can keep: you can add %(n)d more characters.")
                % {"n": exc.room})
        except AnswerKept:
            form.add_error(None, gettext(
                "One of these questions was already answered, so nothing was changed. "
                "Check what is left and send again."))
        except ActionError:
            return redirect(status_url)  # closed meanwhile: the status page says so
        else:
            return redirect(status_url + "?told=1")
        incident = Incident.objects.get(pk=incident.pk)
    questions = tuple(questions_open(incident))
    return render(request, "intake/more.html", {
        "token": token, "org": settings.SPOTLINE_ORG_NAME,
        **_more_context(incident, questions, form),
    }, status=400 if request.method == "POST" else 200)


@csrf_exempt
@require_POST
def cancel(request: HttpRequest, token: str) -> HttpResponse:
    """"They are OK now": asked first (one stray tap must not send help away), then
    cancelled. Works without JavaScript."""
    try:
        incident = incident_by_token(token)
        if request.POST.get("confirm") != "yes":
            return render(request, "intake/cancel_confirm.html", {
                "token": token, "someone_coming": incident.assigned_responder_id is not None,
                "org": settings.SPOTLINE_ORG_NAME})
        incident_cancel(incident_id=incident.pk, actor=Actor.PERSON, user_id=None,
                        now=timezone.now())
    except NotFound:
        raise Http404("no such request") from None
    except ActionError:
        pass  # a responder is already with them: the status page says so
    return redirect("intake:status", token=token)


@csrf_exempt
@require_POST
def again(request: HttpRequest, token: str) -> HttpResponse:
    """Ask for help again with the same details, after cancelling; sent once."""
    now = timezone.now()
    try:
        new_token = send_once(request.POST.get(FIELD, ""),
                              lambda: incident_ask_again(token, now=now), now=now)
    except NotFound:
        raise Http404("no such request") from None
    except ActionError:
        return redirect("intake:help")  # nothing to copy any more: the form, empty
    return redirect("intake:status", token=new_token)
