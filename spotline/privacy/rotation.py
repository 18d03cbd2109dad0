"""Re-seal everything sealed under the key-encryption key with the current one.

Rotation, step by step (README, "Rotating the key-encryption key"): put the new key in
``SPOTLINE_KEK`` and the old one in ``SPOTLINE_KEK_PREVIOUS``, restart, run
``spotline rotate-kek``, then remove ``SPOTLINE_KEK_PREVIOUS`` and restart again. Values
sealed under a per-record data key are not touched: only the data key itself, which is
wrapped by the KEK, is re-wrapped, so a rotation costs one row per record.
"""

from __future__ import annotations

from django.apps import apps
from django.db import transaction

from spotline.privacy.crypto import seal, sealed_under_current, unseal

# (app label, model, field, context) of every value sealed directly under the KEK.
KEK_SEALED: list[tuple[str, str, str, str]] = [
    ("privacy", "DataKey", "wrapped", "datakey"),
    ("accounts", "Profile", "phone_sealed", "profile.phone"),
    ("responders", "Responder", "phone_sealed", "responder.phone"),
    ("notify", "Message", "to_sealed", "message.to"),
    ("notify", "Message", "body_sealed", "message.body"),
    ("intake", "InboundSms", "reply_sealed", "sms.reply"),
    ("intake", "SmsConversation", "phone_sealed", "sms.phone"),
    ("intake", "SmsConversation", "state_sealed", "sms.state"),
    ("intake", "SmsConversation", "transcript_sealed", "sms.transcript"),
    ("alerts", "Subscriber", "address_sealed", "subscriber.address"),
    ("alerts", "AlertConversation", "answers_sealed", "alerts.conversation"),
]


def rotate_kek(*, batch: int = 500) -> dict[str, int]:
    """Re-seal, batch by batch, what is not yet under the current KEK. Safe to re-run
    (and to interrupt): done rows are skipped. Returns rows re-sealed per column."""
    counts: dict[str, int] = {}
    for app_label, model_name, field, context in KEK_SEALED:
        model = apps.get_model(app_label, model_name)
        done = 0
        last_pk = 0
        while True:
            rows = list(model.objects.filter(pk__gt=last_pk).exclude(**{field: ""})
                        .order_by("pk").values_list("pk", field)[:batch])
            if not rows:
                break
            last_pk = rows[-1][0]
            stale = [(pk, value) for pk, value in rows if not sealed_under_current(value)]
            with transaction.atomic():
                for pk, value in stale:
                    # Conditional on the old value: a row changed meanwhile is already
                    # sealed under the current key by whoever changed it.
                    done += model.objects.filter(pk=pk, **{field: value}).update(
                        **{field: seal(unseal(value, context=context), context=context)})
        counts[f"{model_name}.{field}"] = done
    return counts
