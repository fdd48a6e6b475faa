"""How a webhook's body is signed: HMAC-SHA256 over the timestamp, a dot and the body, in two headers.

    X-Governance-Timestamp: 1764136800            (Unix seconds when this attempt was sent)
    X-Governance-Signature: v1=<hex HMAC-SHA256(secret, b"1764136800." + body)>

A new timestamp and signature for every attempt (the body stays the same), so a receiver refuses
old timestamps (replays) without refusing retries. docs/notifications.md has the receiver's side.
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Governance-Timestamp"
SIGNATURE_HEADER = "X-Governance-Signature"
SCHEME = "v1"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body)}
