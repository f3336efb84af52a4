"""Set-based writes for batches (award of a whole task, opening many wallets).

On PostgreSQL a batch is one statement whatever its size, unlike a multi-row VALUES with one
bind parameter per cell (SQLAlchemy compiles each one) or an executemany (one round trip per
row). Transfers, the widest rows, go in by COPY: psycopg formats the rows in C and the server
reads them without parsing a document (json_to_recordset took ≈ 10 ms of server time for 1,000
transfers, their JSON encoding 5-8 ms more in Python). Narrow batches of numbers arrive as a few
arrays (`unnest(...)`), integers as one array literal each (see int_array). SQLite runs in
process, so an executemany is fine there.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import any_, bindparam, cast, insert, text
from sqlalchemy.engine import Connection
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from backend.db import driver_cursor
from backend.timebank.models import Transfer

# (column, PostgreSQL type) of a transfer row, in insert order.
TRANSFER_COLUMNS = (
    ("debit_account_id", "int"), ("credit_account_id", "int"), ("amount", "bigint"),
    ("kind", "text"), ("ref_type", "text"), ("ref_id", "int"), ("actor_id", "int"), ("memo", "text"),
    ("idempotency_key", "text"), ("fingerprint", "text"), ("reverses_id", "int"),
    ("debit_balance_after", "bigint"), ("credit_balance_after", "bigint"), ("created_at", "timestamptz"),
    ("debit_prev_hash", "text"), ("credit_prev_hash", "text"), ("hash", "text"),
)


_NAMES = tuple(c for c, _ in TRANSFER_COLUMNS)
_COLS = ", ".join(_NAMES)
_COPY_TRANSFERS = f"COPY transfers ({_COLS}) FROM STDIN"


def is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def insert_transfers(session: Session, rows: Iterable[dict]) -> list[dict]:
    """Insert transfer rows (dicts with every TRANSFER_COLUMNS key), ids ascending in their order
    (the order their hashes chain in: COPY reads its rows, and draws their ids, one after another).
    Returns the rows inserted, as a list.

    `rows` may be a generator: on PostgreSQL each row goes to the COPY as it is made (psycopg
    sends every 32 KiB), so the server inserts the first rows, checks their keys and writes
    their index entries while Python makes and hashes the next ones (on two cores the hashing
    of a 1,000-row batch is mostly hidden behind the insert)."""
    made: list[dict] = []
    it = iter(rows)
    first = next(it, None)
    if first is None:
        return made
    made.append(first)
    if is_pg(session) and session.get_bind().dialect.driver == "psycopg":
        def tuples():
            yield tuple(first[c] for c in _NAMES)
            for r in it:
                made.append(r)
                yield tuple(r[c] for c in _NAMES)

        copy_rows(session.connection(), _COPY_TRANSFERS, tuples())
    else:
        made.extend(it)
        session.execute(insert(Transfer.__table__), made)
    return made


def copy_rows(conn: Connection, sql: str, rows: Iterable[tuple]) -> None:
    """COPY ... FROM STDIN these rows (any iterable, consumed as they are sent) on the connection's
    psycopg cursor, in its transaction (backend.db.driver_cursor: listeners see it, errors are
    SQLAlchemy's)."""
    with driver_cursor(conn, sql, {}) as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def open_wallets_pg(session: Session, user_ids: list[int], now) -> dict[int, int]:
    """INSERT the missing wallets of these people in one statement (PostgreSQL): {user_id:
    wallet_id} of those it opened (one that a concurrent transaction opened first is not in it)."""
    return dict(session.execute(text(
        "INSERT INTO ledger_accounts (kind, user_id, no_negative, debits_posted, credits_posted, earned_posted, "
        "spent_posted, created_at) SELECT 'wallet', u, true, 0, 0, 0, 0, :now FROM unnest(CAST(:ids AS int[])) u "
        "ON CONFLICT (user_id) WHERE kind = 'wallet' DO NOTHING RETURNING user_id, id"),
        {"ids": int_array(user_ids), "now": now}).all())


def int_array(values) -> str:
    """A PostgreSQL array literal of integers ('{1,2,3}'), to bind as one text parameter and CAST:
    str.join is C, where psycopg dumps a list element by element in Python (≈ 0.5 ms per 1,000)."""
    return "{" + ",".join(str(int(v)) for v in values) + "}"


def add_to_accounts_pg(session: Session, rows: list[tuple], counters: tuple[str, ...], heads: list[str]) -> None:
    """UPDATE ledger_accounts adding per-account deltas and setting the chain heads, one
    statement (PostgreSQL). rows: (account_id, delta of counters[0], ...); heads: one per row.
    The columns arrive as arrays (unnest): cheaper on both sides than a JSON document of rows."""
    sets = ", ".join(f"{c} = a.{c} + d.{c}" for c in counters)
    arrays = ", ".join(f"CAST(:{c} AS bigint[])" for c in counters)
    params = {c: int_array(r[i + 1] for r in rows) for i, c in enumerate(counters)}
    session.execute(text(f"UPDATE ledger_accounts AS a SET {sets}, head_hash = d.head_hash "
                         f"FROM unnest(CAST(:ids AS int[]), {arrays}, CAST(:heads AS text[])) "
                         f"AS d(id, {', '.join(counters)}, head_hash) WHERE a.id = d.id"),
                    {"ids": int_array(r[0] for r in rows), "heads": list(heads), **params})


def among(session: Session, column, values) -> object:
    """`column IN values`; on PostgreSQL `column = ANY(:array)` (one parameter, not one per value;
    integers as an array literal, see int_array)."""
    values = list(values)
    if is_pg(session):
        if all(type(v) is int for v in values):
            # untyped, so the server reads the literal as the array constant itself (a text-typed
            # parameter cast to int[] would be parsed again for every row compared)
            return column == any_(cast(bindparam(None, int_array(values), type_=NullType()), ARRAY(column.type)))
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)
