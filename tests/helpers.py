"""Test helpers importable from any test module."""
import os
import re
from contextlib import contextmanager

import pytest
from psycopg import sql as psql
from sqlalchemy import event

from backend.extensions import db

ON_PG = bool(os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"))
needs_pg = pytest.mark.skipif(not ON_PG, reason="needs PostgreSQL (set TEST_DATABASE_URL)")


def error_code(resp) -> str:
    """The contract's error code of a response."""
    return resp.get_json()["error"]["code"]


def rows_read_in_generic_plans(call, analyze: tuple[str, ...] = ()) -> list[tuple[str, dict[str, int]]]:
    """Run call(), then plan each SELECT it sent as a prepared statement under a forced generic
    plan (psycopg prepares a statement after five executions, and PostgreSQL may then keep the
    generic plan) and run it with EXPLAIN ANALYZE: [(sql, {table: rows read})], rows read being
    the rows a scan returned plus those its filter removed, over all its loops. The tables in
    `analyze` are analyzed first; the others keep whatever statistics they have (none after a
    test's TRUNCATE and inserts, as after a bulk load). PostgreSQL only; the data must be committed."""
    sent = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            sent.append((statement, parameters or {}))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
        db.session.rollback()

    def scans(node):
        return [node] + [n for child in node.get("Plans", []) for n in scans(child)]

    out = []
    with db.engine.connect() as conn:
        cur = conn.connection.driver_connection.cursor()
        for table in analyze:
            cur.execute(psql.SQL("ANALYZE {}").format(psql.Identifier(table)))
        cur.execute("SET plan_cache_mode = force_generic_plan")
        for statement, params in sent:
            names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", statement)))
            prepared = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", statement)
            cur.execute(f"PREPARE generic_probe AS {prepared.replace('%%', '%')}")
            args = psql.SQL("({})").format(psql.SQL(", ").join(psql.Literal(params[n]) for n in names))
            cur.execute(psql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE generic_probe{}").format(
                args if names else psql.SQL("")))
            plan = cur.fetchone()[0][0]["Plan"]
            cur.execute("DEALLOCATE generic_probe")
            read: dict[str, int] = {}
            for n in scans(plan):
                if "Relation Name" in n:
                    rows = (n["Actual Rows"] + n.get("Rows Removed by Filter", 0)) * n.get("Actual Loops", 1)
                    read[n["Relation Name"]] = read.get(n["Relation Name"], 0) + rows
            out.append((statement, read))
        conn.rollback()
    return out


def run_threads(*targets) -> None:
    """Run each target in a thread of its own, all started before any is awaited: the
    participants of a race (they usually meet at a threading.Barrier first)."""
    import threading

    threads = [threading.Thread(target=t) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def walk_pages(client, url: str, headers: dict, first: dict) -> list[int]:
    """The ids of every item from a first page on, following next_cursor to the end (url: the
    list with its query, without cursor)."""
    seen, cursor = [i["id"] for i in first["items"]], first["next_cursor"]
    while cursor:
        body = client.get(f"{url}{'&' if '?' in url else '?'}cursor={cursor}", headers=headers).get_json()
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
    return seen


@contextmanager
def statements():
    """What the block costs the database: the SQL statements it sends (seen, BEGIN/COMMIT
    excluded), and its round trips (seen.trips: statements, connection pings, BEGIN, COMMIT)."""
    seen = _Seen()
    engine, dialect = db.engine, db.engine.dialect

    def note(conn, cursor, statement, params, context, executemany):
        seen.append(statement.split()[0].upper())
        seen.sql.append(statement)

    def ping(dbapi_conn):
        seen.pings += 1
        return real_ping(dbapi_conn)

    def begin(conn):
        seen.begins += _in_transaction(conn)

    def commit(conn):
        seen.commits += _in_transaction(conn)

    real_ping = dialect.do_ping
    dialect.do_ping = ping
    listeners = (("before_cursor_execute", note), ("begin", begin), ("commit", commit))
    for name, fn in listeners:
        event.listen(engine, name, fn)
    try:
        yield seen
    finally:
        for name, fn in listeners:
            event.remove(engine, name, fn)
        del dialect.do_ping


def _in_transaction(conn) -> int:
    """1 when BEGIN/COMMIT reach the database: not on a connection in autocommit."""
    return 0 if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT" else 1


class _Seen(list):
    """The first word of each statement; .sql: the statements whole."""

    pings = begins = commits = 0

    def __init__(self):
        super().__init__()
        self.sql: list[str] = []

    @property
    def trips(self) -> int:
        return len(self) + self.pings + self.begins + self.commits
