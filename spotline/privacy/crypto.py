"""Encrypting personal fields, and keyed hashes to find them without decrypting.

Values are sealed with AES-256-GCM under the key-encryption key from the settings
(``SPOTLINE_KEK`` / ``SPOTLINE_KEK_FILE``, 32 bytes, base64). Phone numbers are also
stored as an HMAC-SHA256 digest under a separate key, so "do we know this number?" is
a look-up that never decrypts anything. Per-incident data keys and crypto-shredding
build on this (ARCHITECTURE.md, non-negotiable 2).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

VERSION = b"v1"


class SealError(Exception):
    pass


@lru_cache(maxsize=4)
def _aead(kek: bytes) -> AESGCM:
    return AESGCM(kek)


def seal(plain: str, *, context: str) -> str:
    """Encrypt ``plain``; ``context`` (e.g. "message.body") binds it to its use."""
    if plain == "":
        return ""
    nonce = os.urandom(12)
    box = _aead(settings.SPOTLINE_KEK).encrypt(nonce, plain.encode(), context.encode())
    return (VERSION + b"." + base64.urlsafe_b64encode(nonce + box)).decode()


def unseal(sealed: str, *, context: str) -> str:
    if sealed == "":
        return ""
    version, _, payload = sealed.encode().partition(b".")
    if version != VERSION:
        raise SealError("unknown sealed-value version")
    raw = base64.urlsafe_b64decode(payload)
    try:
        return _aead(settings.SPOTLINE_KEK).decrypt(raw[:12], raw[12:], context.encode()).decode()
    except Exception as exc:  # InvalidTag: wrong key, context or tampering
        raise SealError("cannot open sealed value") from exc


def normalize_phone(raw: str) -> str:
    """E.164-ish: keep a leading + and the digits."""
    digits = re.sub(r"\D", "", raw)
    return ("+" if raw.strip().startswith("+") else "") + digits


def phone_digest(raw: str) -> str:
    number = normalize_phone(raw)
    return hmac.new(settings.SPOTLINE_HASH_KEY, number.encode(), hashlib.sha256).hexdigest()
