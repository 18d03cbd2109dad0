"""Per-record data keys: create, seal and open under one, destroy (crypto-shredding).

A value sealed under data key 9f2c… is stored as ``k9f2c….<base64(nonce + AES-GCM box)>``,
so it names its key and opens without knowing which row it came from. Once the key is
destroyed the value opens to nothing: readers get "" (or None), never an error, so a
purged record still renders.
"""

from __future__ import annotations

import base64
import os
import secrets
import threading
import time
from datetime import datetime

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from spotline.privacy.crypto import SealError, seal, unseal
from spotline.privacy.models import DataKey

_CONTEXT = "datakey"
# Unwrapped keys are cached briefly per process, so a page listing 50 incidents does
# not unwrap 50 keys per field. Destroying a key evicts it here at once; another
# process forgets it within _TTL seconds (and can no longer load it from the database).
_TTL = 30.0
_cache: dict[str, tuple[float, AESGCM]] = {}
_lock = threading.Lock()


class Shredded(Exception):
    """The value's data key was destroyed: the value is gone for good."""


def key_create(*, now: datetime) -> str:
    """A new data key; returns its name (``kid``)."""
    raw = AESGCM.generate_key(bit_length=256)
    kid = secrets.token_hex(12)
    DataKey.objects.create(kid=kid, created_at=now,
                           wrapped=seal(base64.b64encode(raw).decode(), context=_CONTEXT))
    with _lock:
        _cache[kid] = (time.monotonic() + _TTL, AESGCM(raw))
    return kid


def _aead(key_id: str) -> AESGCM:
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key_id)
        if hit and hit[0] > now:
            return hit[1]
    wrapped = DataKey.objects.filter(kid=key_id).values_list("wrapped", flat=True).first()
    if not wrapped:
        raise Shredded(f"data key {key_id} was destroyed")
    aead = AESGCM(base64.b64decode(unseal(wrapped, context=_CONTEXT)))
    with _lock:
        _cache[key_id] = (now + _TTL, aead)
    return aead


_HEX = frozenset("0123456789abcdef")


def is_sealed(value: str) -> bool:
    head, dot, _ = value.partition(".")
    return bool(dot) and head[:1] == "k" and len(head) == 25 and set(head[1:]) <= _HEX


def seal_under(key_id: str, plain: str, *, context: str) -> str:
    if plain == "":
        return ""
    nonce = os.urandom(12)
    box = _aead(key_id).encrypt(nonce, plain.encode(), context.encode())
    return f"k{key_id}." + base64.urlsafe_b64encode(nonce + box).decode()


def unseal_under(sealed: str, *, context: str) -> str:
    """Open a value; raises Shredded once its key is destroyed."""
    if sealed == "":
        return ""
    head, _, payload = sealed.partition(".")
    if not is_sealed(sealed):
        raise SealError("not a value sealed under a data key")
    raw = base64.urlsafe_b64decode(payload)
    try:
        return _aead(head[1:]).decrypt(raw[:12], raw[12:], context.encode()).decode()
    except Shredded:
        raise
    except Exception as exc:  # InvalidTag: wrong key or context, or tampering
        raise SealError("cannot open sealed value") from exc


def key_destroy(key_id: str | int | None, *, now: datetime) -> bool:
    """Destroy a data key: everything sealed under it is unreadable from now on."""
    if key_id is None:
        return False
    key_id = str(key_id)  # the kid (typing sees a foreign key's id as an int)
    with _lock:
        _cache.pop(key_id, None)
    return bool(DataKey.objects.filter(kid=key_id, destroyed_at__isnull=True)
                .update(wrapped="", destroyed_at=now))
