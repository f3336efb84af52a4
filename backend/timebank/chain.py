"""The hash chain and the ledger lock.

Every posting first locks the single chain-head row. That one lock makes the chain linear
(each transfer's hash covers the previous one's), serialises idempotency checks, and, being
taken before any account lock, rules out lock-order cycles between postings that touch
several accounts in one transaction. Account rows are then locked in ascending id order.
"""
from __future__ import annotations

import hashlib
import json
from datetime import timezone

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.timebank.models import GENESIS, ChainHead

HEAD_ID = 1
HASHED = ("seq", "debit_account_id", "credit_account_id", "amount", "kind", "ref_type", "ref_id",
          "actor_id", "memo", "idempotency_key", "reverses_id", "debit_balance_after",
          "credit_balance_after", "created_at")


def _insert(session: Session):
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)


def insert_ignore(session: Session, table, rows: list[dict], index_elements: list[str], where=None) -> None:
    """INSERT ... ON CONFLICT DO NOTHING (safe against a concurrent insert of the same key)."""
    if rows:
        stmt = _insert(session)(table).on_conflict_do_nothing(index_elements=index_elements, index_where=where)
        session.execute(stmt, rows)


def lock_ledger(session: Session) -> ChainHead:
    """Lock the chain head for the rest of the transaction; returns it, fresh."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite ignores FOR UPDATE: a (no-op) write takes the database's write lock instead,
        # so everything read from here on is current until commit.
        session.execute(update(ChainHead).where(ChainHead.id == HEAD_ID).values(seq=ChainHead.seq))
    q = select(ChainHead).where(ChainHead.id == HEAD_ID).with_for_update().execution_options(populate_existing=True)
    head = session.scalar(q)
    if head is None:
        insert_ignore(session, ChainHead.__table__, [{"id": HEAD_ID, "seq": 0, "hash": GENESIS}], ["id"])
        return lock_ledger(session)
    return head


def _canonical(value):
    if hasattr(value, "astimezone"):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def transfer_hash(fields: dict, prev_hash: str) -> str:
    """sha256 over the transfer's content and the previous transfer's hash."""
    body = json.dumps([prev_hash] + [_canonical(fields.get(k)) for k in HASHED],
                      ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def row_fields(row) -> dict:
    """The hashed fields of a Transfer (object or Row)."""
    return {k: getattr(row, k) for k in HASHED}
