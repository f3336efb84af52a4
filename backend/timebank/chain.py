"""Per-account hash chains and the idempotency-key lock.

There is no global lock. Each account row keeps the hash of the last transfer that touched it
(`head_hash`, GENESIS at first). A transfer stores the heads of its debit and credit accounts
as they were before it (`debit_prev_hash`, `credit_prev_hash`) and

    hash = sha256(content_digest | debit_balance_after | credit_balance_after | debit_prev | credit_prev)

where content_digest is the sha256 of its canonical content. The posting holds both account
rows locked (ascending id order) while it reads the heads and writes the new ones, so each
account's chain is linear and, ids being drawn under those locks, in id order. verify() walks
every account's chain in id order and names the first transfer whose link is broken.

Lock order everywhere: the idempotency key's advisory lock, then a reward row (redemptions),
then account rows in ascending id order. On SQLite a write takes the database's write lock,
which serialises everything anyway.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.timebank.models import GENESIS  # noqa: F401  (re-exported)

CONTENT = ("debit_account_id", "credit_account_id", "amount", "kind", "ref_type", "ref_id", "actor_id", "memo",
           "idempotency_key", "reverses_id", "created_at")
HASHED = CONTENT + ("debit_balance_after", "credit_balance_after", "debit_prev_hash", "credit_prev_hash")
KEY_LOCK_SPACE = 0x54424B  # "TBK": the first half of the advisory lock tag of idempotency keys
# The key's lock as an SQL expression (PostgreSQL; parameters from key_lock_params): lock_key
# selects it alone, a caller may select it in its own first statement to save a round trip.
KEY_LOCK_SQL = "pg_advisory_xact_lock(:space, hashtext(:key))"


def _insert(session: Session):
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)


def insert_ignore(session: Session, table, rows: list[dict], index_elements: list[str], where=None) -> None:
    """INSERT ... ON CONFLICT DO NOTHING (safe against a concurrent insert of the same key)."""
    if rows:
        stmt = _insert(session)(table).on_conflict_do_nothing(index_elements=index_elements, index_where=where)
        session.execute(stmt, rows)


def sqlite_write_lock(session: Session) -> None:
    """On SQLite (which ignores FOR UPDATE) take the database's write lock with a no-op write,
    so everything read from here on stays current until commit. Nothing on PostgreSQL."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("UPDATE ledger_accounts SET id = id WHERE 0"))


def lock_key(session: Session, key: str, space: int = KEY_LOCK_SPACE) -> None:
    """Queue behind any other transaction working under the same idempotency key (held to
    commit; re-entrant). PostgreSQL: a transaction-level advisory lock on the key's hash, in
    `space` (another kind of key locks in a space of its own)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT {KEY_LOCK_SQL}"), {**key_lock_params(key), "space": space})
    else:
        sqlite_write_lock(session)


# One encoder, made once: json.dumps with options builds a new one on every call.
_CONTENT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def key_lock_params(key: str) -> dict:
    """The parameters of KEY_LOCK_SQL for this idempotency key."""
    return {"space": KEY_LOCK_SPACE, "key": key}


def _canonical(value):
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def content_digest(fields: dict) -> str:
    """sha256 of the transfer's content (what it moves, between whom, why, when)."""
    body = _CONTENT_JSON.encode([_canonical(fields.get(k)) for k in CONTENT])
    return hashlib.sha256(body.encode()).hexdigest()


def link_hash(digest: str, debit_balance_after: int, credit_balance_after: int, debit_prev: str,
              credit_prev: str) -> str:
    """The chained hash of a transfer's content digest, balances after and previous heads."""
    body = f"{digest}|{debit_balance_after}|{credit_balance_after}|{debit_prev}|{credit_prev}"
    return hashlib.sha256(body.encode()).hexdigest()


def transfer_hash(fields: dict) -> str:
    """The hash of a transfer given all HASHED fields (its content, balances after, previous heads)."""
    return link_hash(content_digest(fields), fields["debit_balance_after"], fields["credit_balance_after"],
                     fields["debit_prev_hash"], fields["credit_prev_hash"])


def row_fields(row) -> dict:
    """The hashed fields of a Transfer (object or Row)."""
    return {k: getattr(row, k) for k in HASHED}
