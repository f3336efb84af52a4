"""Declarative base and column types shared by every model (no Flask import)."""
from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import datetime, timezone
from collections import namedtuple
from typing import Any, Callable, TypeVar

from sqlalchemy import DateTime, MetaData, TypeDecorator, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.orm.session import make_transient_to_detached

T = TypeVar("T")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stores UTC, always returns aware datetimes (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


def ping_after_idle(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection with one round trip only when it sat idle `idle_seconds` or more.

    pool_pre_ping pays that round trip on every checkout, i.e. on every request under load,
    where connections go straight back into use. Connections that are busy are alive; one
    that waited (a quiet night, a worker between jobs) may have been cut by a restart or an
    idle timeout, and is replaced here before anyone uses it. A connection that dies while
    busy fails its statement instead: see `retry_first_statement`, and the 503 mapping; an error
    saying the server ended the session counts as a dropped connection (`server_ended_session`)."""
    if engine.dialect.name == "sqlite":
        return  # a file, not a server: nothing to lose

    @event.listens_for(engine, "handle_error")
    def _ended_is_dropped(ctx):
        if server_ended_session(ctx.original_exception):
            ctx.is_disconnect = True  # SQLAlchemy then invalidates it and every older pooled one

    @event.listens_for(engine, "checkin")
    def _idle_from(dbapi_conn, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn, record, proxy):
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)  # psycopg: in autocommit, so no BEGIN is left open
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, dbapi_conn, None) or server_ended_session(exc):
                raise DisconnectionError() from exc  # the pool replaces it and checks out again
            raise


# SQLSTATEs of a session the server ended or cannot hold: a connection exception (class 08), or an
# operator's intervention (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now).
_ENDED = ("08", "57P01", "57P02", "57P03")


def server_ended_session(exc: BaseException | None) -> bool:
    """Whether a driver error says the server ended this connection's session. psycopg marks the
    connection broken only once it has seen the socket close, which may come after it read the
    FATAL error: SQLAlchemy's own check (connection closed or broken) then misses a connection
    killed by pg_terminate_backend or a restart, and the request failed instead of being retried."""
    state = getattr(exc, "sqlstate", None)
    return bool(state) and state.startswith(_ENDED)


def retry_first_statement(session: Session, run: Callable[[], T]) -> T:
    """Run a transaction's first statement; if its connection turns out to be dead (the
    database restarted, a proxy cut it), run it once more on a fresh one.

    Only for the first statement: nothing has been done in the transaction yet, so starting
    it again loses nothing. SQLAlchemy has already invalidated the dead connection and every
    older one in the pool when the error reaches here."""
    return _once_more_if_dropped(run, session.rollback)


def _once_more_if_dropped(run: Callable[[], T], reset: Callable[[], None]) -> T:
    """run(); when its connection turned out dead, reset() (let go of it) and run() again."""
    try:
        return run()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        reset()
        return run()


@contextmanager
def autocommit_connection(engine: Engine, first: Callable[[Connection], T]):
    """A pooled connection in autocommit, outside any session, for a path whose statements are
    each atomic alone: yields (connection, first(connection)). The first statement runs once
    more on a fresh connection when the pooled one turns out dead (as retry_first_statement)."""
    held = [engine.connect().execution_options(isolation_level="AUTOCOMMIT")]

    def fresh() -> None:
        held[0].close()
        held[0] = engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    try:
        result = _once_more_if_dropped(lambda: first(held[0]), fresh)
        yield held[0], result
    finally:
        held[0].close()


class DriverStatement:
    """A Core statement of a hot path, run on the driver's cursor of the session's connection.

    SQLAlchemy's per-execution work (execution context, result object, cache lookups) costs
    ≈ 0.08 ms a statement, four to five times psycopg's own. On PostgreSQL (psycopg, which
    takes and returns Python values as they are: aware datetimes, bools, floats) the SQL is
    compiled once and sent straight to the cursor; on any other database the statement runs
    through SQLAlchemy as usual. Either way it belongs to the session's transaction, statement
    listeners see it, and a driver error is wrapped and handled by SQLAlchemy (`driver_cursor`)."""

    def __init__(self, stmt):
        if getattr(stmt, "is_dml", False):  # a text() INSERT is fine: it names every value itself
            raise TypeError("SQLAlchemy adds Python-side defaults (onupdate) to Core DML when it runs it")
        self.stmt = stmt
        self._compiled: tuple[str, dict, Any] | None = None

    def first(self, conn: Connection, params: dict):
        """The first row (attributes named as the statement's columns), or None."""
        rows = self._run(conn, params, one=True)
        return rows[0] if rows else None

    def all(self, conn: Connection, params: dict) -> list:
        """Every row (attributes named as the statement's columns)."""
        return self._run(conn, params, one=False)

    def _run(self, conn: Connection, params: dict, one: bool) -> list:
        if conn.dialect.driver != "psycopg":
            result = conn.execute(self.stmt, params)
            return [r for r in [result.first()] if r is not None] if one else list(result)
        if self._compiled is None:
            compiled = self.stmt.compile(dialect=conn.dialect)
            if "POSTCOMPILE" in str(compiled):  # IN (...) lists are rendered per execution
                raise TypeError("a statement with expanding parameters needs SQLAlchemy's execution")
            fixed = {k: v for k, v in compiled.params.items() if k not in params}  # literals
            self._compiled = (str(compiled), fixed, None)
        sql, fixed, row_type = self._compiled
        args = {**fixed, **params}
        with driver_cursor(conn, sql, args) as cursor:
            cursor.execute(sql, args)
            rows = ([] if (row := cursor.fetchone()) is None else [row]) if one else cursor.fetchall()
            if row_type is None:
                row_type = namedtuple("Row", [d.name for d in cursor.description])
                self._compiled = (sql, fixed, row_type)
        return [row_type._make(r) for r in rows]


def attach_written(session: Session, cls: type[T], values: dict) -> T:
    """An object of mapped class `cls` for a row the caller has just written itself (`values`:
    every column, the primary key included), attached to the session as persistent: no INSERT,
    no SELECT. The attributes go straight into the instance's dict; the constructor would pass
    each through the ORM's set events and history, a tenth of a donation's CPU."""
    mapper = cls.__mapper__
    mapper.registry.configure()  # a no-op once done; the constructor would, new_instance() does not
    obj = mapper.class_manager.new_instance()
    obj.__dict__.update(values)
    make_transient_to_detached(obj)  # identity key from the primary key; the values are its committed state
    session.add(obj)
    return obj


@contextmanager
def savepoint(session: Session):
    """session.begin_nested(), also on SQLite: pysqlite opens its transaction only at the first
    write, and a SAVEPOINT issued before one is released as a COMMIT, so what the block wrote
    would outlive a later rollback of the request. A write that changes nothing opens it first."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("UPDATE users SET id = id WHERE 0"))
    with session.begin_nested() as nested:
        yield nested


@contextmanager
def driver_cursor(conn: Connection, sql: str, params: dict):
    """psycopg's own cursor of a SQLAlchemy connection, for running `sql` on it in the connection's
    transaction: statement listeners (before/after_cursor_execute) see it as any other statement,
    and a driver error is wrapped and handled by SQLAlchemy (IntegrityError and so on, a dropped
    connection invalidated). The cursor is the connection's kept one, made once per driver
    connection and used again by the next statement (a new cursor and its closing were a fifth
    of a short statement's Python)."""
    cursor = _kept_cursor(conn)
    try:
        for listener in conn.dispatch.before_cursor_execute:
            listener(conn, cursor, sql, params, None, False)
        yield cursor
        for listener in conn.dispatch.after_cursor_execute:
            listener(conn, cursor, sql, params, None, False)
    except conn.dialect.loaded_dbapi.Error as exc:
        conn._handle_dbapi_exception(exc, sql, params, cursor, None)  # raises SQLAlchemy's error


def _kept_cursor(conn: Connection):
    """A cursor kept in the pooled connection's info (it lives as long as the driver connection;
    a replaced connection gets a new one). A connection serves one thread at a time."""
    driver = conn.connection.driver_connection
    info = conn.connection.info
    cursor = info.get("driver_cursor")
    if cursor is None or cursor.connection is not driver or cursor.closed:
        cursor = info["driver_cursor"] = driver.cursor()
    return cursor
