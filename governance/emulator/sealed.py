"""`encrypted_content` for reasoning items: an opaque, tamper-evident token the emulator can read back.

The real API returns reasoning as an encrypted blob the client must replay verbatim when it stores
nothing server-side (store=false + include=["reasoning.encrypted_content"]). Here the blob is signed
(HMAC-SHA256) with a fixed key, not secret-encrypted: any emulator in any process can verify a blob
another one issued, which is what lets a paused run resume in another worker. A blob that was
edited or invented is rejected with the real API's `invalid_encrypted_content` error.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import zlib
from typing import Any

_KEY = b"governance-dashboard/responses-emulator/reasoning/v1"
_VERSION = b"\x80"
_MAC_BYTES = 16


def seal(payload: dict[str, Any]) -> str:
    body = zlib.compress(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode())
    mac = hmac.new(_KEY, body, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(_VERSION + mac + body).decode()


def unseal(token: Any) -> dict[str, Any] | None:
    """The payload of a token `seal` produced, or None for anything else."""
    if not isinstance(token, str):
        return None
    try:
        raw = base64.urlsafe_b64decode(token.encode())
    except (binascii.Error, ValueError):
        return None
    if len(raw) <= 1 + _MAC_BYTES or raw[:1] != _VERSION:
        return None
    mac, body = raw[1 : 1 + _MAC_BYTES], raw[1 + _MAC_BYTES :]
    if not hmac.compare_digest(mac, hmac.new(_KEY, body, hashlib.sha256).digest()[:_MAC_BYTES]):
        return None
    try:
        payload = json.loads(zlib.decompress(body))
    except (zlib.error, ValueError):
        return None
    return payload if isinstance(payload, dict) else None
