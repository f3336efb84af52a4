"""Writing one transfer: look up the key's earlier outcome, lock both accounts, check, insert,
update balances and chain heads. Call with the key's lock held (chain.lock_key).

On PostgreSQL two statements:
1. the accounts `SELECT ... ORDER BY id FOR UPDATE OF a` (ascending id order), joined with
   the earlier transfer and the remembered failure under the key (the key's lock is held, so
   this statement's snapshot sees whatever an earlier holder of the key committed);
2. one data-modifying CTE: the INSERT and the UPDATE of both (locked) accounts' counters
   and chain heads, with the balances after and the hash computed in Python.
The lock is deliberately its own statement: a `FOR UPDATE` inside a CTE that also updates
those rows returned a stale row version under concurrency (a wallet overdrawn past its check
in tests/timebank/test_concurrency.py), a standalone locking SELECT does not.
Both go straight to the driver's cursor (backend.db.DriverStatement): a donation is CPU-bound
in Python, and SQLAlchemy's per-statement work was a third of it.
On SQLite (one writer at a time) the same steps run as plain statements.
"""
from __future__ import annotations

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from backend.db import DriverStatement, attach_written
from backend.errors import NotFound
from backend.timebank.accounts import add_to_accounts, counter_deltas, lock_account_rows
from backend.timebank.chain import content_digest, link_hash
from backend.timebank.errors import AccountClosed, IdempotencyMismatch, InsufficientBalance
from backend.timebank.idempotency import replay, replay_failure
from backend.timebank.models import Transfer

FIELDS = ("debit_account_id", "credit_account_id", "amount", "kind", "ref_type", "ref_id", "actor_id", "memo",
          "idempotency_key", "fingerprint", "reverses_id", "created_at")
WRITTEN = ("debit_balance_after", "credit_balance_after", "debit_prev_hash", "credit_prev_hash", "hash")
_TYPES = {"debit_account_id": "int", "credit_account_id": "int", "amount": "bigint", "ref_id": "int",
          "actor_id": "int", "reverses_id": "int", "created_at": "timestamptz", "debit_balance_after": "bigint",
          "credit_balance_after": "bigint"}

LOCK_PG = DriverStatement(text("""
SELECT a.id, a.debits_posted, a.credits_posted, a.no_negative, a.closed_at, a.head_hash,
       pr.id AS prior_id, pr.fingerprint AS prior_fp, f.fingerprint, f.status, f.code, f.message
FROM ledger_accounts AS a
LEFT JOIN transfers AS pr ON pr.idempotency_key = :key
LEFT JOIN ledger_failures AS f ON f.idempotency_key = :key
WHERE a.id IN (:d, :c) ORDER BY a.id FOR UPDATE OF a"""))

WRITE_PG = DriverStatement(text(f"""
WITH t AS (
  INSERT INTO transfers ({", ".join(FIELDS + WRITTEN)})
  VALUES ({", ".join(f"CAST(:{f} AS {_TYPES.get(f, 'text')})" for f in FIELDS + WRITTEN)}) RETURNING id),
u AS (
  UPDATE ledger_accounts AS x SET
    debits_posted = x.debits_posted + CASE WHEN x.id = :debit_account_id THEN :amount ELSE 0 END,
    credits_posted = x.credits_posted + CASE WHEN x.id = :credit_account_id THEN :amount ELSE 0 END,
    earned_posted = x.earned_posted + CASE WHEN x.id = :debit_account_id THEN :d_earned ELSE :c_earned END,
    spent_posted = x.spent_posted + CASE WHEN x.id = :debit_account_id THEN :d_spent ELSE :c_spent END,
    head_hash = :hash
  WHERE x.id IN (:debit_account_id, :credit_account_id))
SELECT id FROM t"""))


def post(session: Session, fields: dict, reversed_kind: str | None = None) -> Transfer:
    """The outcome under fields["idempotency_key"] (call with the key locked): the earlier
    transfer of this request, or the remembered failure, or a new posting (fields: FIELDS).
    Raises IdempotencyMismatch, a remembered failure, NotFound, AccountClosed or
    InsufficientBalance (nothing written then). Returns the Transfer, persistent in the session."""
    d_id, c_id, amount = fields["debit_account_id"], fields["credit_account_id"], fields["amount"]
    key, fp = fields["idempotency_key"], fields["fingerprint"]
    conn = session.connection()
    pg = conn.dialect.name == "postgresql"
    if pg:
        rows = LOCK_PG.all(conn, {"key": key, "d": d_id, "c": c_id})
        if rows and rows[0].prior_id is not None:
            if rows[0].prior_fp != fp:
                raise IdempotencyMismatch(details={"idempotency_key": key})
            return session.get(Transfer, rows[0].prior_id)
        replay_failure(session, key, fp, rows[0] if rows and rows[0].fingerprint is not None else None)
        accounts = {r.id: r for r in rows}
    else:
        earlier = replay(session, key, fp)
        if earlier is not None:
            return earlier
        accounts = lock_account_rows(session, [d_id, c_id])
    if len(accounts) != 2:
        raise NotFound("积分账户不存在")
    d, c = accounts[d_id], accounts[c_id]
    dbal = d.credits_posted - d.debits_posted
    if d.closed_at is not None or c.closed_at is not None:
        raise AccountClosed()
    if d.no_negative and dbal < amount:
        raise InsufficientBalance(details={"balance": dbal, "amount": amount})
    dba, cba = dbal - amount, c.credits_posted - c.debits_posted + amount
    written = {"debit_balance_after": dba, "credit_balance_after": cba, "debit_prev_hash": d.head_hash,
               "credit_prev_hash": c.head_hash,
               "hash": link_hash(content_digest(fields), dba, cba, d.head_hash, c.head_hash)}
    debit_delta, credit_delta = counter_deltas(fields["kind"], amount, reversed_kind)
    if pg:
        written["id"] = WRITE_PG.first(conn, {
            **fields, **written, "d_earned": debit_delta.get("earned_posted", 0),
            "c_earned": credit_delta.get("earned_posted", 0), "d_spent": debit_delta.get("spent_posted", 0),
            "c_spent": credit_delta.get("spent_posted", 0)}).id
    else:
        written["id"] = session.execute(insert(Transfer.__table__).values(**fields, **written)).inserted_primary_key[0]
        add_to_accounts(session, {d_id: debit_delta, c_id: credit_delta}, heads={d_id: written["hash"],
                                                                                  c_id: written["hash"]})
    return attach_written(session, Transfer, {**fields, **written})  # no INSERT, no SELECT


def reversed_kind_of(session: Session, transfer_id: int | None) -> str | None:
    return session.scalar(select(Transfer.kind).where(Transfer.id == transfer_id)) if transfer_id else None
