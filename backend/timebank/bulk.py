"""Set-based writes for batches (award of a whole task, opening many wallets).

On PostgreSQL a batch is one statement whose rows arrive as one JSON document
(`json_to_recordset`) or a few arrays (`unnest(...)`): compiling and binding it costs the same
for 1 row or 10,000, unlike a multi-row VALUES with one bind parameter per cell (SQLAlchemy
compiles each one) or an executemany (one round trip per row). JSON rather than text arrays
for rows with strings: psycopg quotes every element of a text array through a regular
expression (50 ms for a batch of 1,000 transfers), json.dumps is C. Transfers, the biggest
batch, go in by COPY instead: psycopg formats the rows in C and the server reads them
without parsing a document (json_to_recordset took ≈ 10 ms of server time for 1,000 rows,
the JSON encoding 5-8 ms more in Python). SQLite runs in process, so an executemany is fine there.
"""
from __future__ import annotations

import json

from sqlalchemy import any_, bindparam, insert, text
from sqlalchemy.engine import Connection
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
_COPY_TRANSFERS = f"COPY transfers ({_COLS}) FROM STDIN"


def to_json(rows: list[dict]) -> str:
    """Rows as one JSON document for json_to_recordset (datetimes as ISO text)."""
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=lambda v: v.isoformat())


def is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def insert_transfers(session: Session, rows: list[dict]) -> None:
    """Insert transfer rows (dicts with every TRANSFER_COLUMNS key), ids ascending in list order
    (the order their hashes chain in: COPY reads its rows, and draws their ids, one after another)."""
    if not rows:
        return
    if is_pg(session) and session.get_bind().dialect.driver == "psycopg":
        copy_rows(session.connection(), _COPY_TRANSFERS, [tuple(r[c] for c, _ in TRANSFER_COLUMNS) for r in rows])
    else:
        session.execute(insert(Transfer.__table__), rows)


def copy_rows(conn: Connection, sql: str, rows: list[tuple]) -> None:
    """COPY ... FROM STDIN these rows on the connection's psycopg cursor, in its transaction.
    Statement listeners (before_cursor_execute) see it as any other statement; a driver error is
    wrapped and handled by SQLAlchemy (IntegrityError and so on, a dropped connection invalidated)."""
    cursor = conn.connection.driver_connection.cursor()
    try:
        for listener in conn.dispatch.before_cursor_execute:
            listener(conn, cursor, sql, {}, None, False)
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
        for listener in conn.dispatch.after_cursor_execute:
            listener(conn, cursor, sql, {}, None, False)
    except conn.dialect.loaded_dbapi.Error as exc:
        conn._handle_dbapi_exception(exc, sql, {}, cursor, None)  # raises SQLAlchemy's error
    finally:
        cursor.close()


def open_wallets_pg(session: Session, user_ids: list[int], now) -> dict[int, int]:
    """INSERT the missing wallets of these people in one statement (PostgreSQL): {user_id:
    wallet_id} of those it opened (one that a concurrent transaction opened first is not in it)."""
    return dict(session.execute(text(
        "INSERT INTO ledger_accounts (kind, user_id, no_negative, debits_posted, credits_posted, earned_posted, "
        "spent_posted, created_at) SELECT 'wallet', u, true, 0, 0, 0, 0, :now FROM unnest(CAST(:ids AS int[])) u "
        "ON CONFLICT (user_id) WHERE kind = 'wallet' DO NOTHING RETURNING user_id, id"),
        {"ids": list(user_ids), "now": now}).all())


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
