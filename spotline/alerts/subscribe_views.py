"""Subscribing to alerts without an account: Web Push from the alerts page, and email.

- ``POST /alerts/push``: the browser's push subscription (its JSON, as
  ``PushSubscription.toJSON()`` gives it, plus ``areas`` and ``all``; or the same as
  form fields), sent by ``alerts.js`` with the CSRF token. ``POST /alerts/push/delete``
  forgets it. The subscription is sealed and found by a keyed digest (``subscribers``).
- ``POST /alerts/email``: an unconfirmed subscriber and, in the same transaction, a
  confirmation email in the outbox with a signed link. ``/alerts/confirm/<token>/``
  asks for one press (a mail scanner opening the link confirms nothing) and confirms.
  For an address already confirmed, the link carries the new areas: nothing changes
  until its owner presses.
- ``/alerts/unsubscribe/``: an email address, and a link to stop its alerts is emailed
  to it; ``/alerts/unsubscribe/<token>/`` (that link, and the one in every alert email)
  deletes it at one press. Only the address's owner can stop or change its alerts, and
  the answers are the same whether or not it was subscribed: they tell nobody who is.
- ``/alerts/sw.js``: the service worker, scoped to ``/alerts/``.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext, override
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from spotline.alerts.actions.subscribers import (
    address_digest,
    subscribe_email,
    subscribe_push,
    subscriber_change,
    subscriber_confirm,
    subscriber_of_token,
    unsubscribe,
    unsubscribe_by_id,
    unsubscribe_token,
)
from spotline.alerts.forms import AreasForm, EmailForm, UnsubscribeForm
from spotline.alerts.models import Subscriber, SubscriberChannel
from spotline.alerts.views import areas_chosen, index_page
from spotline.audit.actions import atomic
from spotline.errors import Invalid
from spotline.notify.actions import message_queue

CONFIRM_SALT = "spotline.alerts.confirm"
CONFIRM_DAYS = 7


def _language(request: HttpRequest) -> str:
    return getattr(request, "LANGUAGE_CODE", "") or "en"


# -- Web Push --------------------------------------------------------------------------------


def _push_input(request: HttpRequest) -> dict[str, Any]:
    """The subscription and the areas, from JSON or from form fields."""
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            raise Invalid(gettext("The request is not JSON.")) from None
        if not isinstance(body, dict):
            raise Invalid(gettext("The request is not JSON."))
        given_keys, given_areas = body.get("keys"), body.get("areas")
        keys = given_keys if isinstance(given_keys, dict) else {}
        areas = given_areas if isinstance(given_areas, list) else []
        return {"endpoint": str(body.get("endpoint") or ""),
                "p256dh": str(keys.get("p256dh") or ""), "auth": str(keys.get("auth") or ""),
                "areas": [str(a) for a in areas], "all": bool(body.get("all"))}
    post = request.POST
    return {"endpoint": post.get("endpoint", ""), "p256dh": post.get("p256dh", ""),
            "auth": post.get("auth", ""), "areas": post.getlist("areas"),
            "all": post.get("all") in ("1", "on", "true")}


def _detail(message: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)


@require_POST
def push(request: HttpRequest) -> HttpResponse:
    try:
        given = _push_input(request)
    except Invalid as exc:
        return _detail(exc.message, 400)
    data = QueryDict(mutable=True)
    data.setlist("areas", given["areas"])
    if given["all"]:
        data["all"] = "on"
    form = AreasForm(data)
    if not form.is_valid():
        return _detail(" ".join(str(e) for errors in form.errors.values() for e in errors),
                       400)
    try:
        subscribe_push(endpoint=given["endpoint"], p256dh=given["p256dh"],
                       auth=given["auth"], area_ids=form.area_ids(),
                       all_areas=bool(form.cleaned_data.get("all")),
                       language=_language(request), now=timezone.now())
    except Invalid:
        # Its service is not one this site sends to, or the subscription is garbled.
        return _detail(gettext("Alerts cannot reach this browser: subscribe by text or "
                               "email instead."), 400)
    return _detail(gettext("This browser will get alerts for %(areas)s.")
                   % {"areas": areas_chosen(form)}, 200)


@require_POST
def push_delete(request: HttpRequest) -> HttpResponse:
    try:
        endpoint = _push_input(request)["endpoint"]
    except Invalid as exc:
        return _detail(exc.message, 400)
    if endpoint:
        unsubscribe(channel=SubscriberChannel.PUSH, address=endpoint, now=timezone.now())
    return _detail(gettext("This browser will get no more alerts."), 200)


@require_safe
def service_worker(request: HttpRequest) -> HttpResponse:
    response = render(request, "alerts/sw.js", content_type="text/javascript")
    response["Service-Worker-Allowed"] = "/alerts/"
    response["Cache-Control"] = "no-cache"
    return response


# -- email -----------------------------------------------------------------------------------


def confirm_token(subscriber: Subscriber, change: dict[str, Any] | None = None) -> str:
    """A signed link's token: the subscriber and its address's digest (a token for a
    deleted subscriber confirms nobody, even if its id came back), and for a confirmed
    address the change its owner is asked to confirm."""
    value: dict[str, Any] = {"s": subscriber.pk, "d": subscriber.digest[:16]}
    if change is not None:
        value["c"] = change
    return signing.dumps(value, salt=CONFIRM_SALT)


def _subscriber_of(token: str) -> tuple[Subscriber, dict[str, Any] | None]:
    try:
        value = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_DAYS * 86400)
        subscriber = Subscriber.objects.filter(
            pk=int(value["s"]), channel=SubscriberChannel.EMAIL).first()
        if subscriber is None or subscriber.digest[:16] != str(value["d"]):
            raise Http404("no such subscription")
        change = value.get("c")
        if change is not None and not isinstance(change, dict):
            raise Http404("bad token")
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise Http404("bad token") from None
    return subscriber, change


def _confirm_body(token: str, language: str) -> str:
    link = f"{settings.SPOTLINE_SITE_URL}/alerts/confirm/{token}/"
    stop = f"{settings.SPOTLINE_SITE_URL}/alerts/unsubscribe/"
    with override(language):
        return gettext(
            "Someone (we hope you) asked for %(org)s drug alerts at this address. To "
            "confirm, open this link within %(days)d days:\n\n%(link)s\n\nIf it was not "
            "you, ignore this email: nothing more will be sent. To stop alerts at any "
            "time: %(stop)s") % {"org": settings.SPOTLINE_ORG_NAME, "days": CONFIRM_DAYS,
                                  "link": link, "stop": stop}


# A plain form, exempt from CSRF like the help form: it acts for nobody signed in, and a
# forged subscription is one the address's owner must still confirm.
@csrf_exempt
@require_POST
def email(request: HttpRequest) -> HttpResponse:
    form = EmailForm(request.POST)
    if not form.is_valid():
        return index_page(request, email_form=form, status=400)
    now = timezone.now()
    address = form.cleaned_data["email"]
    try:
        with atomic():
            asked = subscribe_email(
                email=address, area_ids=form.area_ids(),
                all_areas=bool(form.cleaned_data.get("all")),
                language=_language(request), now=now)
            subscriber = asked.subscriber
            # One email an hour at most per address, however often the form is sent: a
            # new address confirms itself; a confirmed one confirms the change.
            message_queue(key=f"alert_confirm:{subscriber.pk}:{now:%Y%m%d%H}",
                          purpose="alert_confirm",
                          body=_confirm_body(confirm_token(subscriber, asked.change),
                                             _language(request)),
                          channels=["email"], to=address.strip().lower(), now=now)
    except Invalid as exc:
        form.add_error(None, exc.message)
        return index_page(request, email_form=form, status=400)
    # The same answer for a new address and a confirmed one: it tells nobody who is
    # subscribed.
    return render(request, "alerts/email_sent.html", {"org": settings.SPOTLINE_ORG_NAME,
                                                      "days": CONFIRM_DAYS})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a button (link checkers open links; only a person presses). POST: done."""
    try:
        subscriber, change = _subscriber_of(token)
    except Http404:
        return render(request, "alerts/confirm_bad.html", {"days": CONFIRM_DAYS}, status=404)
    done = request.method == "POST"
    if done:
        if change is not None:
            try:
                subscriber_change(subscriber_id=subscriber.pk, change=change,
                                  now=timezone.now())
            except Invalid:  # an area deleted since: ask again from the alerts page
                return render(request, "alerts/confirm_bad.html", {"days": CONFIRM_DAYS},
                              status=404)
        subscriber_confirm(subscriber_id=subscriber.pk, now=timezone.now())
    return render(request, "alerts/confirm.html", {
        "token": token, "done": done or (change is None and subscriber.confirmed_at is not None),
        "org": settings.SPOTLINE_ORG_NAME})


def _unsubscribe_body(subscriber: Subscriber) -> str:
    link = f"{settings.SPOTLINE_SITE_URL}/alerts/unsubscribe/{unsubscribe_token(subscriber)}/"
    with override(subscriber.language):
        return gettext("To stop %(org)s drug alerts at this address, open this link and "
                       "press the button:\n\n%(link)s\n\nIf you did not ask, ignore this "
                       "email: nothing changes.") % {"org": settings.SPOTLINE_ORG_NAME,
                                                      "link": link}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_email(request: HttpRequest) -> HttpResponse:
    """An address typed in gets a link by email: only its owner can stop its alerts
    (every alert email carries that link too). The answer is the same whether or not
    the address was subscribed."""
    form = UnsubscribeForm(request.POST if request.method == "POST" else None)
    done = False
    if request.method == "POST" and form.is_valid():
        now = timezone.now()
        address = form.cleaned_data["email"].strip().lower()
        subscriber = Subscriber.objects.filter(
            channel=SubscriberChannel.EMAIL,
            digest=address_digest(SubscriberChannel.EMAIL, address)).first()
        if subscriber is not None:
            with atomic():
                message_queue(key=f"alert_unsubscribe:{subscriber.pk}:{now:%Y%m%d%H}",
                              purpose="alert_unsubscribe", body=_unsubscribe_body(subscriber),
                              channels=["email"], to=address, now=now)
        done = True
    return render(request, "alerts/unsubscribe.html", {
        "form": form, "done": done, "org": settings.SPOTLINE_ORG_NAME,
        "sms_number": settings.TWILIO_FROM_NUMBER,
    }, status=400 if request.method == "POST" and not done else 200)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_link(request: HttpRequest, token: str) -> HttpResponse:
    """An email's own link. GET: a button (link checkers open links); POST: deleted."""
    subscriber = subscriber_of_token(token)
    done = request.method == "POST"
    if done and subscriber is not None:
        unsubscribe_by_id(subscriber_id=subscriber.pk, now=timezone.now())
    return render(request, "alerts/unsubscribe_link.html", {
        "token": token, "done": done or subscriber is None,
        "org": settings.SPOTLINE_ORG_NAME})
