"""Writing one transfer: look up the key's earlier outcome, lock both accounts, check, insert,
update balances and chain heads.

On PostgreSQL this is ONE statement (a data-modifying CTE), run with the key's advisory lock
already held (so its snapshot sees whatever an earlier holder of the key committed): the
earlier transfer or failure under the key, the account rows locked in ascending id order,
the balance and closed checks, the balances after, the chained hash (chain.LINK_SQL), the
INSERT and both account UPDATEs happen in one round trip, so the row locks are held for that
statement and the commit only. On SQLite (one writer at a time) the same steps run as plain
statements with the hash computed in Python.
"""
from __future__ import annotations

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.session import make_transient_to_detached

from backend.errors import NotFound
from backend.timebank.accounts import add_to_accounts, counter_deltas, lock_account_rows
from backend.timebank.bulk import is_pg
from backend.timebank.chain import LINK_SQL, content_digest, link_hash
from backend.timebank.errors import AccountClosed, IdempotencyMismatch, InsufficientBalance
from backend.timebank.idempotency import replay, replay_failure
from backend.timebank.models import Transfer

FIELDS = ("debit_account_id", "credit_account_id", "amount", "kind", "ref_type", "ref_id", "actor_id", "memo",
          "idempotency_key", "fingerprint", "reverses_id", "created_at")
_COLS = ", ".join(FIELDS) + ", debit_balance_after, credit_balance_after, debit_prev_hash, credit_prev_hash, hash"
_TYPES = {"debit_account_id": "int", "credit_account_id": "int", "amount": "bigint", "ref_id": "int",
          "actor_id": "int", "reverses_id": "int", "created_at": "timestamptz"}
_VALUES = ", ".join(f"CAST(:{f} AS {_TYPES.get(f, 'text')})" for f in FIELDS)

POST_PG = text(f"""
WITH prior AS (SELECT id, fingerprint FROM transfers WHERE idempotency_key = :idempotency_key),
failed AS (SELECT fingerprint, status, code, message FROM ledger_failures WHERE idempotency_key = :idempotency_key),
a AS MATERIALIZED (
  SELECT id, debits_posted, credits_posted, no_negative, closed_at, head_hash FROM ledger_accounts
  WHERE id IN (:debit_account_id, :credit_account_id) AND NOT EXISTS (SELECT FROM prior)
    AND NOT EXISTS (SELECT FROM failed) ORDER BY id FOR UPDATE),
p AS (
  SELECT d.credits_posted - d.debits_posted AS dbal, c.credits_posted - c.debits_posted AS cbal,
         d.no_negative AS dneg, (d.closed_at IS NOT NULL OR c.closed_at IS NOT NULL) AS closed,
         d.head_hash AS dprev, c.head_hash AS cprev
  FROM a AS d JOIN a AS c ON d.id = :debit_account_id AND c.id = :credit_account_id),
h AS (
  SELECT dbal - :amount AS dba, cbal + :amount AS cba, dprev, cprev,
         {LINK_SQL.format(digest="CAST(:digest AS text)", dba="dbal - :amount", cba="cbal + :amount",
                          dprev="dprev", cprev="cprev")} AS hash
  FROM p WHERE NOT closed AND (NOT dneg OR dbal >= :amount)),
t AS (
  INSERT INTO transfers ({_COLS}) SELECT {_VALUES}, dba, cba, dprev, cprev, hash FROM h RETURNING id, hash),
u AS (
  UPDATE ledger_accounts AS x SET
    debits_posted = x.debits_posted + CASE WHEN x.id = :debit_account_id THEN :amount ELSE 0 END,
    credits_posted = x.credits_posted + CASE WHEN x.id = :credit_account_id THEN :amount ELSE 0 END,
    earned_posted = x.earned_posted + CASE WHEN x.id = :debit_account_id THEN :d_earned ELSE :c_earned END,
    spent_posted = x.spent_posted + CASE WHEN x.id = :debit_account_id THEN :d_spent ELSE :c_spent END,
    head_hash = t.hash
  FROM t WHERE x.id IN (:debit_account_id, :credit_account_id))
SELECT prior.id AS prior_id, prior.fingerprint AS prior_fp, f.fingerprint, f.status, f.code, f.message,
       p.dbal, p.closed, h.dba, h.cba, h.dprev, h.cprev, t.id, t.hash
FROM (SELECT) AS one LEFT JOIN prior ON true LEFT JOIN failed AS f ON true LEFT JOIN p ON true
LEFT JOIN h ON true LEFT JOIN t ON true""")


def post(session: Session, fields: dict, reversed_kind: str | None = None) -> Transfer:
    """The outcome under fields["idempotency_key"] (call with the key locked): the earlier
    transfer of this request, or the remembered failure, or a new posting (fields: FIELDS).
    Raises IdempotencyMismatch, a remembered failure, NotFound, AccountClosed or
    InsufficientBalance (nothing written then). Returns the Transfer, persistent in the session."""
    amount, key, fp = fields["amount"], fields["idempotency_key"], fields["fingerprint"]
    debit_delta, credit_delta = counter_deltas(fields["kind"], amount, reversed_kind)
    digest = content_digest(fields)
    if not is_pg(session):
        earlier = replay(session, key, fp)
        if earlier is not None:
            return earlier
        return _attach(session, fields, _post_sqlite(session, fields, digest, debit_delta, credit_delta))
    params = {**fields, "digest": digest, "d_earned": debit_delta.get("earned_posted", 0),
              "c_earned": credit_delta.get("earned_posted", 0), "d_spent": debit_delta.get("spent_posted", 0),
              "c_spent": credit_delta.get("spent_posted", 0)}
    r = session.execute(POST_PG, params).one()
    if r.prior_id is not None:
        if r.prior_fp != fp:
            raise IdempotencyMismatch(details={"idempotency_key": key})
        return session.get(Transfer, r.prior_id)
    replay_failure(session, key, fp, r if r.fingerprint is not None else None)
    if r.dbal is None:
        raise NotFound("积分账户不存在")
    if r.id is None:
        _refuse(r.closed, r.dbal, amount)
    return _attach(session, fields, {"id": r.id, "debit_balance_after": r.dba, "credit_balance_after": r.cba,
                                     "debit_prev_hash": r.dprev, "credit_prev_hash": r.cprev, "hash": r.hash})


def _attach(session: Session, fields: dict, written: dict) -> Transfer:
    t = Transfer(**fields, **written)
    make_transient_to_detached(t)  # its row is written: attach it as persistent, no INSERT, no SELECT
    session.add(t)
    return t


def _refuse(closed: bool, balance: int, amount: int):
    if closed:
        raise AccountClosed()
    raise InsufficientBalance(details={"balance": balance, "amount": amount})


def _post_sqlite(session: Session, fields: dict, digest: str, debit_delta: dict, credit_delta: dict) -> dict:
    d_id, c_id, amount = fields["debit_account_id"], fields["credit_account_id"], fields["amount"]
    accounts = lock_account_rows(session, [d_id, c_id])
    if len(accounts) != 2:
        raise NotFound("积分账户不存在")
    d, c = accounts[d_id], accounts[c_id]
    dbal = d.credits_posted - d.debits_posted
    if d.closed_at is not None or c.closed_at is not None or (d.no_negative and dbal < amount):
        _refuse(d.closed_at is not None or c.closed_at is not None, dbal, amount)
    dba, cba = dbal - amount, c.credits_posted - c.debits_posted + amount
    h = link_hash(digest, dba, cba, d.head_hash, c.head_hash)
    written = {"debit_balance_after": dba, "credit_balance_after": cba, "debit_prev_hash": d.head_hash,
               "credit_prev_hash": c.head_hash, "hash": h}
    written["id"] = session.execute(insert(Transfer.__table__).values(**fields, **written)).inserted_primary_key[0]
    add_to_accounts(session, {d_id: debit_delta, c_id: credit_delta}, heads={d_id: h, c_id: h})
    return written


def reversed_kind_of(session: Session, transfer_id: int | None) -> str | None:
    return session.scalar(select(Transfer.kind).where(Transfer.id == transfer_id)) if transfer_id else None
