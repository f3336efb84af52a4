"""The ceiling: a bare Flask app doing only the essential SQL with psycopg.

POST /checkin  {"task_id", "user_id"}        one INSERT (ON CONFLICT DO NOTHING, like a repeat scan)
POST /transfer {"from", "to", "amount"}      two locked account UPDATEs (in id order) + one INSERT
Served by gunicorn with the same settings as the product: `gunicorn bench.ceiling:app`.
`raw_transfer(conn, a, b, amount)` is the same transaction for the in-process ceiling.
"""
from __future__ import annotations

import os
import threading

import psycopg
from flask import Flask, jsonify, request

SCHEMA = """
CREATE TABLE IF NOT EXISTS ceiling_checkins (
    id bigserial PRIMARY KEY, task_id int NOT NULL, user_id int NOT NULL,
    at timestamptz NOT NULL DEFAULT now(), UNIQUE (task_id, user_id));
CREATE TABLE IF NOT EXISTS ceiling_accounts (id int PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0));
CREATE TABLE IF NOT EXISTS ceiling_transfers (
    id bigserial PRIMARY KEY, debit_id int NOT NULL, credit_id int NOT NULL, amount int NOT NULL,
    memo text, created_at timestamptz NOT NULL DEFAULT now());
"""

app = Flask(__name__)
_local = threading.local()


def conn() -> psycopg.Connection:
    """One connection per worker thread (a pool of THREADS per process)."""
    c = getattr(_local, "conn", None)
    if c is None or c.closed:
        c = _local.conn = psycopg.connect(os.environ["CEILING_DATABASE_URL"])
    return c


def raw_transfer(c: psycopg.Connection, debit: int, credit: int, amount: int, memo: str = "") -> int | None:
    """Lock two accounts, move `amount`, record it; None when the debit lacks the balance."""
    with c.transaction():
        first, second = sorted((debit, credit))
        c.execute("SELECT id FROM ceiling_accounts WHERE id IN (%s, %s) ORDER BY id FOR UPDATE", (first, second))
        cur = c.execute("UPDATE ceiling_accounts SET balance = balance - %s WHERE id = %s AND balance >= %s",
                        (amount, debit, amount))
        if cur.rowcount != 1:
            return None
        c.execute("UPDATE ceiling_accounts SET balance = balance + %s WHERE id = %s", (amount, credit))
        return c.execute("INSERT INTO ceiling_transfers (debit_id, credit_id, amount, memo) VALUES (%s, %s, %s, %s) "
                         "RETURNING id", (debit, credit, amount, memo)).fetchone()[0]


@app.post("/checkin")
def checkin():
    body = request.get_json()
    with conn().transaction():
        row = conn().execute(
            "INSERT INTO ceiling_checkins (task_id, user_id) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING id, at",
            (body["task_id"], body["user_id"])).fetchone()
    if row is None:
        return jsonify({"task_id": body["task_id"], "action": "in"}), 200
    return jsonify({"task_id": body["task_id"], "action": "in", "at": row[1].isoformat()}), 201


@app.post("/transfer")
def transfer():
    body = request.get_json()
    tid = raw_transfer(conn(), int(body["from"]), int(body["to"]), int(body["amount"]), body.get("memo", ""))
    if tid is None:
        return jsonify({"error": {"code": "INSUFFICIENT_BALANCE"}}), 409
    return jsonify({"id": tid}), 201


def setup(url: str, accounts: int = 0, balance: int = 0) -> None:
    """Create the ceiling's tables (empty) and `accounts` funded accounts."""
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(SCHEMA)
        c.execute("TRUNCATE ceiling_checkins, ceiling_accounts, ceiling_transfers RESTART IDENTITY")
        if accounts:
            c.execute("INSERT INTO ceiling_accounts SELECT g, %s FROM generate_series(1, %s) g", (balance, accounts))
