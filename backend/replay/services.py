"""Look up, lock and store the first answer under a key (no Flask here)."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.errors import ValidationFailed
from backend.replay.models import StoredAnswer
from backend.timebank.chain import lock_key
from backend.timebank.errors import IdempotencyMismatch

MAX_KEY = 100
# A key answers retries for a day (a retry comes within seconds or minutes); later the same key
# is a new request. Answers can hold what a create wrote (a household's phone): they go then.
KEPT = timedelta(hours=24)
LOCK_SPACE = 0x485441  # "HTA": HTTP answers (the ledger's keys lock in their own space)
_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def full_key(user_id: int, endpoint: str, client_key: str) -> str:
    if not client_key or len(client_key) > MAX_KEY:
        raise ValidationFailed(details={"Idempotency-Key": [f"幂等键须为 1 至 {MAX_KEY} 个字符"]})
    return f"{user_id}:{endpoint}:{client_key}"


def fingerprint(method: str, path: str, query: str, body) -> str:
    """A digest of what the request asks for: the same key with another request is refused."""
    return hashlib.sha256(_JSON.encode([method, path, query, body]).encode()).hexdigest()


def lock(session: Session, key: str) -> None:
    """Queue behind any other transaction working under the same key (held to commit)."""
    lock_key(session, key, space=LOCK_SPACE)


def earlier(session: Session, key: str, fp: str, now: datetime | None = None) -> StoredAnswer | None:
    """The first answer under this key (call with the key locked); a mismatch when the key was
    used for another request; None when the key is new or its answer is older than KEPT."""
    answer = session.get(StoredAnswer, key, populate_existing=True)
    if answer is not None and answer.created_at <= (now or utcnow()) - KEPT:
        session.delete(answer)
        session.flush()
        return None
    if answer is not None and answer.fingerprint != fp:
        raise IdempotencyMismatch(details={"idempotency_key": key.split(":", 2)[2]})
    return answer


def store(session: Session, key: str, user_id: int, endpoint: str, fp: str, status: int, body: str) -> None:
    """Remember a successful answer, in the transaction of the write it answers."""
    session.add(StoredAnswer(key=key, user_id=user_id, endpoint=endpoint[:100], fingerprint=fp, status=status,
                             body=body))
    session.flush()


def purge(session: Session, now: datetime | None = None) -> int:
    """Delete the answers older than KEPT; how many went."""
    return session.execute(delete(StoredAnswer).where(StoredAnswer.created_at <= (now or utcnow()) - KEPT)).rowcount
