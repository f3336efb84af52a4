"""The short path of a scan: statements per scan, and the answers when a write loses a race."""
import re
from datetime import timedelta

import pytest
from psycopg import sql as psql

from backend.attendance import checkin_tasks, services
from backend.attendance.models import ABSENT, CHECKED_IN, SOURCE_MANUAL, SOURCE_SCAN, Attendance
from backend.errors import InvalidState
from backend.extensions import db
from tests.attendance.conftest import NEAR, T0
from backend.auth.models import User
from tests.helpers import ON_PG, error_code, needs_pg, statements


def _fresh_request():
    """As between two requests: nothing of the test's in the session, no transaction open."""
    db.session.commit()
    db.session.expunge_all()


def test_a_scan_is_two_round_trips_and_a_repeat_one(city, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member)
    member = login("member")
    clock(T0 + timedelta(minutes=1))
    code_in, task_id = code_for(task, "in"), task.id
    # PostgreSQL: no transaction (each statement is atomic alone); SQLite keeps BEGIN/COMMIT
    tx = 0 if ON_PG else 2
    _fresh_request()
    with statements() as first:
        assert scan(member, code_in, lat=NEAR[0], lng=NEAR[1]).status_code == 201
    # task+claim+attendance with the caller's login check as one of its columns, then the row;
    # no ping of a busy connection (pool_pre_ping was one more round trip on every request)
    assert first == ["SELECT", "INSERT"]
    assert (first.pings, first.begins + first.commits, first.trips) == (0, tx, 2 + tx)
    _fresh_request()
    with statements() as again:
        assert scan(member, code_in).status_code == 200
    assert again == ["SELECT"] and again.trips == 1 + tx
    clock(T0 + timedelta(minutes=61))
    code_out = code_for(task_id, "out")
    _fresh_request()
    with statements() as out:
        resp = scan(member, code_out)
    assert resp.status_code == 201 and resp.get_json()["minutes"] == 60
    assert out == ["SELECT", "UPDATE"] and out.trips == 2 + tx


def test_policies_still_see_roles_loaded_on_demand(city, client, login, make_task):
    task = make_task()
    resp = client.get(f"/api/v1/tasks/{task.id}/checkin-code?action=in", headers=login("staff1"))
    assert resp.status_code == 200
    assert client.get(f"/api/v1/tasks/{task.id}/checkin-code?action=in", headers=login("member")).status_code == 403


def test_a_real_scan_outweighs_an_absence(city, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member)
    db.session.add(Attendance(task_id=task.id, user_id=city.member.id, community_id=task.community_id,
                              status=ABSENT, source=SOURCE_SCAN))
    db.session.commit()
    clock(T0 + timedelta(minutes=3))
    resp = scan(login("member"), code_for(task, "in"))
    assert resp.status_code == 201 and resp.get_json()["at"].startswith("2026-11-14T09:03:00")
    db.session.expire_all()
    row = db.session.query(Attendance).one()
    assert (row.status, row.claim_id is not None) == (CHECKED_IN, True)


def _lost_race(app, task, user, clock, code_for, written: Attendance):
    """Read the scan's view, let `written` land first, then let the stale view write."""
    clock(T0 + timedelta(minutes=2))
    cfg = services.settings()
    scan = services.verify_scan(code_for(task, "in"), T0 + timedelta(minutes=2), cfg=cfg)
    conn = db.session.connection()
    view = checkin_tasks._SCAN.first(conn, {"task_id": task.id, "user_id": user.id, "version": None})
    assert view.a_id is None  # nothing stored yet when the scan read
    db.session.add(written)
    db.session.flush()
    return checkin_tasks._check_in(conn, user.id, view, None, scan, None, None, cfg)


def test_losing_the_insert_to_an_identical_scan_answers_with_its_row(app, city, clock, make_task, claim, code_for):
    task = make_task()
    claim(task, city.member)
    first_at = T0 + timedelta(minutes=1)
    body, created = _lost_race(app, task, city.member, clock, code_for, Attendance(
        task_id=task.id, user_id=city.member.id, community_id=task.community_id, status=CHECKED_IN,
        source=SOURCE_SCAN, checkin_at=first_at, checkin_received_at=first_at))
    assert created is False and body["at"] == first_at
    assert db.session.query(Attendance).count() == 1


def test_losing_the_insert_to_an_absence_still_checks_in(app, city, clock, make_task, claim, code_for):
    task = make_task()
    claim(task, city.member)
    body, created = _lost_race(app, task, city.member, clock, code_for, Attendance(
        task_id=task.id, user_id=city.member.id, community_id=task.community_id, status=ABSENT, source=SOURCE_SCAN))
    assert created is True and body["at"] == T0 + timedelta(minutes=2)
    db.session.expire_all()
    assert db.session.query(Attendance).one().status == CHECKED_IN


def test_losing_the_insert_to_a_staff_entry_is_invalid_state(app, city, clock, make_task, claim, code_for):
    task = make_task()
    claim(task, city.member)
    with pytest.raises(InvalidState):
        _lost_race(app, task, city.member, clock, code_for, Attendance(
            task_id=task.id, user_id=city.member.id, community_id=task.community_id, status="checked_out",
            source=SOURCE_MANUAL, minutes=90, manual_reason="补录"))


def test_a_staff_entry_is_not_overwritten_by_a_scan(city, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member)
    db.session.add(Attendance(task_id=task.id, user_id=city.member.id, community_id=task.community_id,
                              status="checked_out", source=SOURCE_MANUAL, minutes=90, manual_reason="补录"))
    db.session.commit()
    clock(T0 + timedelta(minutes=3))
    assert error_code(scan(login("member"), code_for(task, "in"))) == "INVALID_STATE"
    db.session.expire_all()
    assert db.session.query(Attendance).one().minutes == 90


def test_the_driver_path_reads_what_sqlalchemy_reads(city, clock, make_task, claim, code_for, scan, login):
    """On PostgreSQL the scan's statements skip SQLAlchemy's execution: same row, same values."""
    task = make_task()
    claim(task, city.member)
    headers = login("member")
    clock(T0 + timedelta(minutes=1))
    assert scan(headers, code_for(task, "in"), lat=NEAR[0], lng=NEAR[1]).status_code == 201
    conn = db.session.connection()
    params = {"task_id": task.id, "user_id": city.member.id, "version": city.member.token_version}
    fast, slow = checkin_tasks._SCAN.first(conn, params), conn.execute(checkin_tasks._SCAN.stmt, params).first()
    assert fast._fields == tuple(slow._fields) and tuple(fast) == tuple(slow)
    assert fast.a_checkin_at == T0 + timedelta(minutes=1) and fast.a_checkin_distance_m > 100
    assert fast.caller_live is True
    with pytest.raises(TypeError):  # Core DML gets Python-side defaults only through SQLAlchemy
        checkin_tasks.DriverStatement(checkin_tasks._SCAN_OUT)


@needs_pg
def test_the_claim_look_up_is_one_probe_in_a_prepared_plan(city, make_task, claim):
    """psycopg prepares a statement after five executions and PostgreSQL may then keep a generic
    plan, in which `status = $n` cannot pick the partial unique index on active claims: the
    look-up must still read one claim, not every claim of the task (a burst went quadratic)."""
    task = make_task(capacity=200)
    people = [User(nickname=f"党员{i}") for i in range(120)]
    db.session.add_all(people)
    db.session.commit()
    claim(task, *people)
    compiled = checkin_tasks._SCAN.stmt.compile(dialect=db.engine.dialect)
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", str(compiled))))
    sql = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", str(compiled))
    params = {**compiled.params, "task_id": task.id, "user_id": people[60].id}
    with db.engine.connect() as conn:
        cur = conn.connection.driver_connection.cursor()
        cur.execute("SET plan_cache_mode = force_generic_plan")
        types = ", ".join("int" if n.endswith("_id") else "text" for n in names)
        cur.execute(f"PREPARE scan_probe ({types}) AS {sql}")
        cur.execute(psql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE scan_probe({})").format(
            psql.SQL(", ").join(psql.Literal(params[n]) for n in names)))
        plan = cur.fetchone()[0]
        conn.rollback()

    def nodes(node):
        return [node] + [n for child in node.get("Plans", []) for n in nodes(child)]

    claims = [n for n in nodes(plan[0]["Plan"]) if n.get("Relation Name") == "task_claims"]
    assert claims and all(n["Actual Rows"] + n.get("Rows Removed by Filter", 0) <= 1 for n in claims), claims
