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

# v1: sealed under the one KEK. v2: names the KEK it was sealed under (a short hash
# of it), so values sealed before a rotation still open while `spotline rotate-kek`
# re-seals them.
VERSION = b"v2"


class SealError(Exception):
    pass


@lru_cache(maxsize=4)
def _aead(kek: bytes) -> AESGCM:
    return AESGCM(kek)


def kek_id(kek: bytes) -> str:
    return hashlib.sha256(b"spotline-kek-id:" + kek).hexdigest()[:8]


def _keks() -> dict[str, bytes]:
    keys = {kek_id(settings.SPOTLINE_KEK): settings.SPOTLINE_KEK}
    previous = getattr(settings, "SPOTLINE_KEK_PREVIOUS", None)
    if previous:
        keys.setdefault(kek_id(previous), previous)
    return keys


def seal(plain: str, *, context: str) -> str:
    """Encrypt ``plain``; ``context`` (e.g. "message.body") binds it to its use."""
    if plain == "":
        return ""
    nonce = os.urandom(12)
    box = _aead(settings.SPOTLINE_KEK).encrypt(nonce, plain.encode(), context.encode())
    return (VERSION + b"." + kek_id(settings.SPOTLINE_KEK).encode() + b"."
            + base64.urlsafe_b64encode(nonce + box)).decode()


def sealed_under_current(sealed: str) -> bool:
    return sealed == "" or sealed.startswith(f"v2.{kek_id(settings.SPOTLINE_KEK)}.")


def unseal(sealed: str, *, context: str) -> str:
    if sealed == "":
        return ""
    version, _, rest = sealed.encode().partition(b".")
    if version == b"v2":
        kid, _, payload = rest.partition(b".")
        candidates = [k for i, k in _keks().items() if i.encode() == kid]
    elif version == b"v1":
        payload, candidates = rest, list(_keks().values())
    else:
        raise SealError("unknown sealed-value version")
    if not candidates:
        raise SealError("sealed under a key-encryption key that is not configured")
    raw = base64.urlsafe_b64decode(payload)
    for kek in candidates:
        try:
            return _aead(kek).decrypt(raw[:12], raw[12:], context.encode()).decode()
        except Exception:  # noqa: S112 - InvalidTag: try the next key, then fail below
            continue
    raise SealError("cannot open sealed value")


def token_digest(token: str) -> str:
    """SHA-256 of a bearer secret (a tracking, check-in or plan token, an API token).

    The database keeps only this, so a copy of it opens nothing. No key: tokens are
    random and long, unlike phone numbers, which need the keyed ``phone_digest``.
    """
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_phone(raw: str) -> str:
    """E.164-ish: keep a leading + and the digits."""
    digits = re.sub(r"\D", "", raw)
    return ("+" if raw.strip().startswith("+") else "") + digits


def phone_digest(raw: str) -> str:
    number = normalize_phone(raw)
    return hmac.new(settings.SPOTLINE_HASH_KEY, number.encode(), hashlib.sha256).hexdigest()
