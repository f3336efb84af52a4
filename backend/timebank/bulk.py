"""Set-based writes for batches (award of a whole task, opening many wallets).

On PostgreSQL a batch is one statement whose rows arrive as one JSON document
(`json_to_recordset`) or a few arrays (`unnest(...)`): compiling and binding it costs the same
for 1 row or 10,000, unlike a multi-row VALUES with one bind parameter per cell (SQLAlchemy
compiles each one) or an executemany (one round trip per row). JSON rather than text arrays
for rows with strings: psycopg quotes every element of a text array through a regular
expression (50 ms for a batch of 1,000 transfers), json.dumps is C. SQLite runs in process,
so an executemany is fine there.
"""
from __future__ import annotations

import json

from sqlalchemy import any_, bindparam, insert, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from backend.timebank.models import Transfer

# (column, PostgreSQL type) of a transfer row, in insert order.
TRANSFER_COLUMNS = (
    ("debit_account_id", "int"), ("credit_account_id", "int"), ("amount", "bigint"),
    ("kind", "text"), ("ref_type", "text"), ("ref_id", "int"), ("actor_id", "int"), ("memo", "text"),
    ("idempotency_key", "text"), ("fingerprint", "text"), ("reverses_id", "int"),
    ("debit_balance_after", "bigint"), ("credit_balance_after", "bigint"), ("created_at", "timestamptz"),
    ("debit_prev_hash", "text"), ("credit_prev_hash", "text"), ("hash", "text"),
)


_COLS = ", ".join(c for c, _ in TRANSFER_COLUMNS)
_INSERT_TRANSFERS = text(
    f"INSERT INTO transfers ({_COLS}) SELECT {_COLS} FROM ROWS FROM (json_to_recordset(CAST(:rows AS json)) "
    f"AS ({', '.join(f'{c} {t}' for c, t in TRANSFER_COLUMNS)})) WITH ORDINALITY AS r({_COLS}, n) ORDER BY n")


def to_json(rows: list[dict]) -> str:
    """Rows as one JSON document for json_to_recordset (datetimes as ISO text)."""
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=lambda v: v.isoformat())


def is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def insert_transfers(session: Session, rows: list[dict]) -> None:
    """Insert transfer rows (dicts with every TRANSFER_COLUMNS key), ids ascending in list order
    (the order their hashes chain in)."""
    if is_pg(session):
        session.execute(_INSERT_TRANSFERS, {"rows": to_json([{c: r[c] for c, _ in TRANSFER_COLUMNS} for r in rows])})
    else:
        session.execute(insert(Transfer.__table__), rows)


def open_wallets_pg(session: Session, user_ids: list[int], now) -> None:
    """INSERT the missing wallets of these people in one statement (PostgreSQL)."""
    session.execute(text(
        "INSERT INTO ledger_accounts (kind, user_id, no_negative, debits_posted, credits_posted, earned_posted, "
        "spent_posted, created_at) SELECT 'wallet', u, true, 0, 0, 0, 0, :now FROM unnest(CAST(:ids AS int[])) u "
        "ON CONFLICT (user_id) WHERE kind = 'wallet' DO NOTHING"), {"ids": list(user_ids), "now": now})


def add_to_accounts_pg(session: Session, rows: list[tuple], counters: tuple[str, ...], heads: list[str]) -> None:
    """UPDATE ledger_accounts adding per-account deltas and setting the chain heads, one
    statement (PostgreSQL). rows: (account_id, delta of counters[0], ...); heads: one per row."""
    sets = ", ".join(f"{c} = a.{c} + d.{c}" for c in counters)
    types = ", ".join(f"{c} bigint" for c in counters)
    doc = to_json([{"id": r[0], "head_hash": h, **{c: r[i + 1] for i, c in enumerate(counters)}}
                   for r, h in zip(rows, heads)])
    session.execute(text(f"UPDATE ledger_accounts AS a SET {sets}, head_hash = d.head_hash "
                         f"FROM json_to_recordset(CAST(:rows AS json)) AS d(id int, {types}, head_hash text) "
                         f"WHERE a.id = d.id"), {"rows": doc})


def among(session: Session, column, values) -> object:
    """`column IN values`; on PostgreSQL `column = ANY(:array)` (one parameter, not one per value)."""
    values = list(values)
    if is_pg(session):
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)
