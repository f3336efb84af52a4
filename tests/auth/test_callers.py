"""The caller check on every request: the light path of a scan refuses what current_user refuses,
and a connection the database dropped is replaced instead of failing the request."""
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from backend.attendance.models import Attendance
from backend.auth import tokens
from backend.db import ping_after_idle, retry_first_statement, utcnow
from backend.extensions import db
from tests.attendance.conftest import T0, claim, clock, code_for, make_task, scan  # noqa: F401 (fixtures)
from tests.helpers import ON_PG, error_code, needs_pg, statements


@pytest.fixture
def ready(city, clock, make_task, claim, code_for):
    """A running task the member claimed, the clock inside it, and a live check-in code."""
    task = make_task()
    claim(task, city.member)
    return task


def _scan_now(scan, headers, task, code_for, **extra):
    return scan(headers, code_for(task, "in"), **extra)


def _attendances() -> int:
    return db.session.scalar(select(func.count()).select_from(Attendance))


def test_a_scan_by_a_closed_account_is_401(app, city, ready, login, clock, scan, code_for):
    headers = login("member")
    clock(T0 + timedelta(minutes=1))
    city.member.closed_at = utcnow()
    db.session.commit()
    resp = _scan_now(scan, headers, ready, code_for)
    assert resp.status_code == 401 and error_code(resp) == "AUTH_REQUIRED"
    assert _attendances() == 0


def test_a_scan_with_a_token_of_an_older_version_is_401(app, city, ready, login, clock, scan, code_for):
    headers = login("member")
    clock(T0 + timedelta(minutes=1))
    city.member.token_version += 1  # what logging out everywhere and closing the account do
    db.session.commit()
    assert _scan_now(scan, headers, ready, code_for).status_code == 401
    fresh = tokens.issue(app.config["SECRET_KEY"], 3600, city.member.id, city.member.token_version)[0]
    assert _scan_now(scan, {"Authorization": "Bearer " + fresh}, ready, code_for).status_code == 201
    assert _attendances() == 1


def test_a_scan_with_a_token_of_no_user_is_401(app, ready, clock, scan, code_for):
    clock(T0 + timedelta(minutes=1))
    ghost = tokens.issue(app.config["SECRET_KEY"], 3600, 987654, 0)[0]
    resp = _scan_now(scan, {"Authorization": "Bearer " + ghost}, ready, code_for)
    assert resp.status_code == 401 and error_code(resp) == "AUTH_REQUIRED"


def test_a_bad_scan_body_is_401_without_a_login_and_422_with_one(app, city, ready, login, clock, client):
    headers = login("member")
    clock(T0 + timedelta(minutes=1))
    bad = {"code": "", "lat": 91}
    assert client.post("/api/v1/checkins", json=bad).status_code == 401
    closed = dict(headers)
    resp = client.post("/api/v1/checkins", json=bad, headers=headers)
    assert resp.status_code == 422 and set(resp.get_json()["error"]["details"]) >= {"code", "lat"}
    city.member.closed_at = utcnow()
    db.session.commit()
    assert client.post("/api/v1/checkins", json=bad, headers=closed).status_code == 401


def test_the_caller_of_a_scan_is_not_loaded_as_a_user(app, city, ready, login, clock, scan, code_for):
    from backend.auth.models import User

    headers = login("member")
    clock(T0 + timedelta(minutes=1))
    code = code_for(ready, "in")
    db.session.expunge_all()
    assert scan(headers, code).status_code == 201
    assert not [o for o in db.session.identity_map.values() if isinstance(o, User)]


def test_serializer_is_built_once_per_secret():
    a, _ = tokens.issue("secret-a" * 4, 60, 1, 0)
    assert tokens._serializer("secret-a" * 4) is tokens._serializer("secret-a" * 4)
    assert tokens.read("secret-a" * 4, 60, a) == (1, 0)
    from backend.errors import AuthRequired

    with pytest.raises(AuthRequired):
        tokens.read("secret-b" * 4, 60, a)


# --- connections the database dropped (PostgreSQL: a restart, an idle timeout, pg_terminate_backend)


def _pg_url() -> str:
    return db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _kill_others(url: str) -> int:
    """Terminate every other backend of this database (the app's pooled connections)."""
    with psycopg.connect(url, autocommit=True) as admin:
        return len(admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall())


@needs_pg
def test_a_request_on_a_dropped_connection_is_served_on_a_fresh_one(app, city, make_task, claim, login, scan,
                                                                     code_for, client):
    # Real time here, not a frozen clock: the pool tells old connections from new by time.time().
    task = make_task(starts=utcnow() - timedelta(minutes=5))
    claim(task, city.member)
    headers, staff = login("member"), login("staff1")
    code = code_for(task, "in")
    db.session.commit()  # the test's connection goes back to the pool too
    assert _kill_others(_pg_url()) >= 1
    resp = scan(headers, code)
    assert resp.status_code == 201, resp.get_json()
    assert _kill_others(_pg_url()) >= 1
    assert client.get("/api/v1/me", headers=staff).status_code == 200  # the ORM path as well
    # the test's own read is no request (no retry): the kill also took whatever other connections
    # earlier tests left idle in the pool, so it reads on a fresh one
    db.session.remove()
    db.engine.dispose()
    assert _attendances() == 1


@needs_pg
@pytest.mark.parametrize("idle_seconds,survives", [(0, True), (3600, False)])
def test_an_idle_connection_is_pinged_before_use(idle_seconds, survives):
    engine = create_engine(db.engine.url, pool_size=1, max_overflow=0)
    ping_after_idle(engine, idle_seconds)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        _kill_others(_pg_url())
        with engine.connect() as conn:
            if survives:  # idle long enough: pinged, found dead, replaced before use
                assert conn.execute(text("SELECT 2")).scalar() == 2
            else:  # busy connections are not pinged: the statement meets the dead one
                with pytest.raises(DBAPIError) as err:
                    conn.execute(text("SELECT 2"))
                assert err.value.connection_invalidated
    finally:
        engine.dispose()
        db.engine.dispose()  # the app's pooled connections were killed too: not the next test's problem


@needs_pg
def test_the_first_statement_is_retried_once_on_a_fresh_connection():
    engine = create_engine(db.engine.url, pool_size=1, max_overflow=0)
    try:
        with Session(engine) as session:
            session.execute(text("SELECT 1"))
            session.commit()
            _kill_others(_pg_url())
            tries = []

            def first():
                tries.append(1)
                return session.execute(text("SELECT 3")).scalar()

            assert retry_first_statement(session, first) == 3
            assert len(tries) == 2
            with pytest.raises(ZeroDivisionError):  # anything but a dropped connection is not retried
                retry_first_statement(session, lambda: 1 / 0)
    finally:
        engine.dispose()
        db.engine.dispose()  # the app's pooled connections were killed too: not the next test's problem


def test_what_counts_as_a_session_the_server_ended():
    from backend.db import server_ended_session

    for state in ("57P01", "57P02", "57P03", "08006", "08003"):
        assert server_ended_session(psycopg.errors.lookup(state)()), state
    for exc in (psycopg.errors.UniqueViolation(), psycopg.errors.QueryCanceled(), ValueError(), None):
        assert not server_ended_session(exc)


@needs_pg
def test_a_connection_the_server_ends_mid_statement_is_invalidated_every_time():
    """pg_terminate_backend answers the statement with FATAL 57P01; whether psycopg has also seen
    the socket close by then is a race, which left SQLAlchemy's own check (closed or broken) false
    now and then: the request then failed (503) instead of being served on a fresh connection."""
    engine = create_engine(db.engine.url, pool_size=1, max_overflow=0)
    ping_after_idle(engine, 3600)
    try:
        for _ in range(10):
            with engine.connect() as conn:
                with pytest.raises(DBAPIError) as err:
                    conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
                assert err.value.connection_invalidated
            with engine.connect() as conn:  # the pool's next connection is a live one
                assert conn.execute(text("SELECT 4")).scalar() == 4
    finally:
        engine.dispose()


# --- the login check inside the handler's own statement (a scan, a donation: auth.callers.Claimed)


def _close(user) -> None:
    user.closed_at = utcnow()
    db.session.commit()


def test_every_answer_of_a_scan_by_a_closed_account_is_401(app, city, ready, login, clock, scan, code_for, make_task):
    """Whatever the scan would have answered (a meeting's code, a task not claimed, no such
    task, an expired code, a bad body), a closed account hears 401 and nothing is written."""
    headers = login("member")
    clock(T0 + timedelta(minutes=1))
    unclaimed = make_task(title="没认领的任务")
    codes = [code_for(ready, "in"), code_for(unclaimed, "in"), code_for(987654, "in"), code_for(ready.id, "in", kind="M"),
             code_for(ready, "in", at=T0 - timedelta(days=1)), "forged"]
    open_answers = [scan(headers, c).status_code for c in codes[1:]]
    assert 401 not in open_answers and all(s >= 400 for s in open_answers), open_answers
    _close(city.member)
    for c in codes:
        resp = scan(headers, c)
        assert resp.status_code == 401 and error_code(resp) == "AUTH_REQUIRED", (c, resp.get_json())
    assert scan(headers, codes[0], lat=91).status_code == 401
    assert _attendances() == 0


def _donate(client, headers, to, amount, key="k1"):
    return client.post("/api/v1/transfers", json={"to_user_id": to, "amount": amount},
                       headers={**headers, "Idempotency-Key": key})


def test_a_donation_checks_the_donor_in_its_own_statement(app, city, login, client):
    from tests.timebank.conftest import balance, give

    give(city.c1.id, city.member.id, 50)
    headers = login("member")
    to = city.member2.id
    db.session.commit()
    with statements() as seen:
        assert _donate(client, headers, to, 5, key="live").status_code == 201
    if ON_PG:  # no statement of its own for the login check: the donors' statement carries it
        assert not [q for q in seen.sql if q.lstrip().upper().startswith("SELECT USERS.ID")], seen.sql
        assert seen[0] == "SELECT" and "token_version" in seen.sql[0]
    city.member.token_version += 1  # logged out everywhere: the old token stops at once
    db.session.commit()
    for body_to, amount in ((city.member2.id, 5), (city.member.id, 5), (987654, 5), (city.member2.id, 0)):
        resp = _donate(client, headers, body_to, amount, key=f"old-{body_to}-{amount}")
        assert resp.status_code == 401 and error_code(resp) == "AUTH_REQUIRED", resp.get_json()
    assert client.post("/api/v1/transfers", json={"to_user_id": city.member2.id, "amount": 5},
                       headers=headers).status_code == 401  # no key: 401 before the missing header's 422
    fresh = {"Authorization": "Bearer " + tokens.issue(app.config["SECRET_KEY"], 3600, city.member.id,
                                                        city.member.token_version)[0]}
    _close(city.member)
    assert _donate(client, fresh, city.member2.id, 5, key="closed").status_code == 401
    assert (balance(city.member.id), balance(city.member2.id)) == (45, 5)
