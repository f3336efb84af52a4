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

from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.errors import DomainError, error
from backend.timebank.chain import insert_ignore, lock_key
from backend.timebank.errors import IdempotencyMismatch
from backend.timebank.models import LedgerFailure, Transfer


_REQUEST_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str)  # made once, not per call


def fingerprint(request: dict) -> str:
    """A stable digest of what a request asks for."""
    return hashlib.sha256(_REQUEST_JSON.encode(request).encode()).hexdigest()


def tag(exc: DomainError, key: str, fp: str) -> DomainError:
    """Mark a failure as one to remember for this key."""
    exc.idempotency = (key, fp)
    return exc


def replay_failure(session: Session, key: str, fp: str, failure=False) -> None:
    """Raise the remembered failure for this key (or a mismatch); nothing when none.
    `failure`: the LedgerFailure (or a row with its columns) when already read, None when known absent."""
    if failure is False:
        failure = session.get(LedgerFailure, key, populate_existing=True)
    if failure is None:
        return
    if failure.fingerprint != fp:
        raise IdempotencyMismatch(details={"idempotency_key": key})
    exc = error(failure.status, failure.code, failure.message)()
    exc.replayed = True
    raise exc


def replay(session: Session, key: str, fp: str) -> Transfer | None:
    """The earlier outcome under this key (call with the key locked): its transfer when it
    succeeded with this request; raises the remembered failure or a mismatch; None when new.
    One statement when the key is new."""
    k = select(literal(key).label("k")).subquery()
    f, t = LedgerFailure.__table__.c, Transfer.__table__.c
    row = session.execute(
        select(t.id, t.fingerprint.label("t_fp"), f.fingerprint, f.status, f.code, f.message).select_from(k)
        .outerjoin(Transfer.__table__, t.idempotency_key == k.c.k)
        .outerjoin(LedgerFailure.__table__, f.idempotency_key == k.c.k)).one()
    if row.id is not None:
        if row.t_fp != fp:
            raise IdempotencyMismatch(details={"idempotency_key": key})
        return session.get(Transfer, row.id)
    replay_failure(session, key, fp, row if row.fingerprint is not None else None)
    return None


def find_transfer(session: Session, key: str) -> Transfer | None:
    return session.scalar(select(Transfer).where(Transfer.idempotency_key == key)
                          .execution_options(populate_existing=True))


def record_failure(session: Session, key: str, fp: str, exc: DomainError) -> bool:
    """Remember that the request under `key` failed with `exc` (call in a fresh transaction,
    after the failed one rolled back). False when the key meanwhile succeeded or failed."""
    lock_key(session, key)
    if find_transfer(session, key) is not None:
        return False
    insert_ignore(session, LedgerFailure.__table__, [{
        "idempotency_key": key, "fingerprint": fp, "status": exc.status, "code": exc.code,
        "message": exc.message[:200], "created_at": utcnow(),
    }], ["idempotency_key"])
    return True
