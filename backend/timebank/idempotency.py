"""Idempotency keys: the same request returns the first outcome; a different one is refused.

A successful request is remembered by its transfer (idempotency_key is unique there). A
failed one is remembered in ledger_failures. Because one request is one transaction and a
failure rolls it back, the failure is written afterwards in a fresh transaction by whoever
owns the transaction (the API layer does it in `remember_failures`): a DomainError raised
here carries `.idempotency = (key, fingerprint)` for that purpose.
"""
from __future__ import annotations

import hashlib
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.errors import DomainError, error
from backend.timebank.chain import insert_ignore, lock_ledger
from backend.timebank.errors import IdempotencyMismatch
from backend.timebank.models import LedgerFailure, Transfer


def fingerprint(request: dict) -> str:
    """A stable digest of what a request asks for."""
    return hashlib.sha256(json.dumps(request, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def tag(exc: DomainError, key: str, fp: str) -> DomainError:
    """Mark a failure as one to remember for this key."""
    exc.idempotency = (key, fp)
    return exc


def replay_failure(session: Session, key: str, fp: str) -> None:
    """Raise the remembered failure for this key (or a mismatch); nothing when none."""
    failure = session.get(LedgerFailure, key, populate_existing=True)
    if failure is None:
        return
    if failure.fingerprint != fp:
        raise IdempotencyMismatch(details={"idempotency_key": key})
    exc = error(failure.status, failure.code, failure.message)()
    exc.replayed = True
    raise exc


def find_transfer(session: Session, key: str) -> Transfer | None:
    return session.scalar(select(Transfer).where(Transfer.idempotency_key == key)
                          .execution_options(populate_existing=True))


def record_failure(session: Session, key: str, fp: str, exc: DomainError) -> bool:
    """Remember that the request under `key` failed with `exc` (call in a fresh transaction,
    after the failed one rolled back). False when the key meanwhile succeeded or failed."""
    lock_ledger(session)
    if find_transfer(session, key) is not None:
        return False
    insert_ignore(session, LedgerFailure.__table__, [{
        "idempotency_key": key, "fingerprint": fp, "status": exc.status, "code": exc.code,
        "message": exc.message[:200], "created_at": utcnow(),
    }], ["idempotency_key"])
    return True
