"""Signed, expiring bearer tokens (itsdangerous), valid on every app process."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from backend.errors import AuthRequired


_KEYS: dict[tuple, bytes] = {}


class _Signer(TimestampSigner):
    """itsdangerous derives the signing key (an HMAC of the secret) on every call, and the
    serializer makes a signer per call: the key is the same each time, so derive it once."""

    def derive_key(self, secret_key=None) -> bytes:
        k = (secret_key if secret_key is not None else self.secret_keys[-1], self.salt)
        key = _KEYS.get(k)
        if key is None:
            key = _KEYS[k] = super().derive_key(secret_key)
        return key


@lru_cache(maxsize=4)  # one per secret: built once per process, not on every request
def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="auth-token", signer=_Signer)


def issue(secret: str, ttl: int, user_id: int, version: int) -> tuple[str, datetime]:
    """A token for user_id and the moment it expires."""
    token = _serializer(secret).dumps({"uid": user_id, "v": version})
    return token, datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=ttl)


def read(secret: str, ttl: int, token: str) -> tuple[int, int]:
    """(user_id, token_version) or AuthRequired for a bad, tampered or expired token."""
    try:
        data = _serializer(secret).loads(token, max_age=ttl)
    except SignatureExpired:
        raise AuthRequired("登录已过期，请重新登录", details={"reason": "expired"})
    except BadSignature:
        raise AuthRequired("登录凭证无效", details={"reason": "invalid"})
    return int(data["uid"]), int(data.get("v", 0))
