"""The console's SMS conversations: read one (audited), take it over, reply by hand."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from spotline.audit.actions import atomic as audit_atomic
from spotline.audit.actions import record
from spotline.console.access import dispatcher_required
from spotline.console.replies import reply
from spotline.errors import ActionError
from spotline.intake.conversations import conversation_reply, conversation_take_over, transcript
from spotline.intake.models import SmsConversation
from spotline.privacy.crypto import unseal


@dispatcher_required
def sms_list(request: HttpRequest) -> HttpResponse:
    conversations = SmsConversation.objects.filter(closed_at__isnull=True).order_by(
        "-updated_at")[:200]
    return render(request, "console/sms_list.html", {"conversations": conversations})


def _conversation(conversation_id: int) -> Any:
    conversation = SmsConversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        raise Http404("no such conversation")
    return conversation


@dispatcher_required
def sms_detail(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _conversation(conversation_id)
    with audit_atomic():
        record("conversation.view", object_type="sms_conversation",
               object_id=conversation.pk, now=timezone.now(), actor="user",
               actor_user_id=request.user.pk, fields=["phone", "transcript"])
    return render(request, "console/sms_detail.html", {
        "conversation": conversation, "transcript": transcript(conversation),
        "phone": unseal(conversation.phone_sealed, context="sms.phone"),
    })


@require_POST
@dispatcher_required
def sms_take(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _conversation(conversation_id)
    take = request.POST.get("take") == "1"
    conversation_take_over(conversation_id=conversation.pk, user_id=request.user.pk,
                           take=take, now=timezone.now())
    messages.success(request, _("You are answering this conversation.") if take
                     else _("Spotline answers this conversation again."))
    return redirect("console:sms-detail", conversation_id=conversation.pk)


@require_POST
@dispatcher_required
def sms_reply(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _conversation(conversation_id)
    try:
        conversation_reply(conversation_id=conversation.pk, text=request.POST.get("text", ""),
                           user_id=request.user.pk, now=timezone.now())
        messages.success(request, _("Reply queued."))
    except ActionError as exc:
        messages.error(request, reply(exc))
    return redirect("console:sms-detail", conversation_id=conversation.pk)
