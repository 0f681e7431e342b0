"""The vendor's webhook signature: X-Linkup-Signature: v1=<hex hmac_sha256(secret, "<ts>.<body>")>
over the raw body, with X-Linkup-Timestamp the real unix seconds it was signed at."""

from __future__ import annotations

import hashlib
import hmac

SCHEME = "v1"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"{SCHEME}={digest.hexdigest()}"


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver checks (the pytest plugin's receiver does); skew is the caller's part."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
