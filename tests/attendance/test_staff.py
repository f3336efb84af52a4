"""Staff tools: roster, bulk check-out, absence, manual minutes, confirmation, audit rows."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.attendance.models import Attendance
from backend.attendance.services import service_minutes
from backend.audit.models import AuditLog
from backend.extensions import db
from tests.attendance.conftest import T0
from tests.helpers import error_code


@pytest.fixture
def scanned(city, login, clock, make_task, claim, scan, code_for):
    """A task with member checked in at 09:00 and member2 in at 09:30 and out at 10:30."""
    task = make_task(points_per_hour=30)
    claim(task, city.member, city.member2)
    m1, m2 = login("member"), login("member2")
    clock(T0)
    assert scan(m1, code_for(task, "in")).status_code == 201
    clock(T0 + timedelta(minutes=30))
    assert scan(m2, code_for(task, "in")).status_code == 201
    clock(T0 + timedelta(minutes=90))
    assert scan(m2, code_for(task, "out")).status_code == 201
    return task


def _audits(action):
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


def test_roster_lists_every_claimer_with_names_for_staff_only(city, client, login, clock, make_task, claim, scan, code_for):
    task = make_task()
    claim(task, city.member, city.member2)
    clock(T0)
    scan(login("member"), code_for(task, "in"))
    resp = client.get(f"/api/v1/tasks/{task.id}/attendances", headers=login("staff1"))
    assert resp.status_code == 200
    items = {i["user_id"]: i for i in resp.get_json()["items"]}
    assert items[city.member.id]["status"] == "checked_in" and items[city.member.id]["name"] == "member"
    assert items[city.member.id]["checkin_at"].startswith("2026-11-14T09:00:00")
    assert items[city.member2.id]["status"] == "claimed" and items[city.member2.id]["claimed"] is True
    assert client.get(f"/api/v1/tasks/{task.id}/attendances", headers=login("staff2")).status_code == 403
    assert client.get(f"/api/v1/tasks/{task.id}/attendances", headers=login("member")).status_code == 403
    assert client.get("/api/v1/tasks/4242/attendances", headers=login("staff1")).status_code == 404


def test_checkout_all_only_after_the_end_at_the_end(city, client, login, clock, scanned):
    clock(T0 + timedelta(hours=1))
    staff = login("staff1")
    resp = client.post(f"/api/v1/tasks/{scanned.id}/checkout-all", headers=staff)
    assert resp.status_code == 409 and error_code(resp) == "INVALID_STATE"
    clock(T0 + timedelta(hours=6))
    resp = client.post(f"/api/v1/tasks/{scanned.id}/checkout-all", headers=staff)
    assert resp.status_code == 200 and resp.get_json()["checked_out"] == 1
    rows = {a.user_id: a for a in db.session.scalars(select(Attendance))}
    assert rows[city.member.id].checkout_at == T0 + timedelta(hours=2) and rows[city.member.id].minutes == 120
    assert rows[city.member2.id].minutes == 60  # the own check-out is kept
    [audit] = _audits("attendance.checkout_all")
    assert audit.actor_id == city.staff1.id and audit.object_id == scanned.id
    assert audit.changes["after"]["user_ids"] == [city.member.id]
    assert client.post(f"/api/v1/tasks/{scanned.id}/checkout-all", headers=login("staff2")).status_code == 403


def test_absent_is_audited_and_blocks_check_out(city, client, login, clock, scanned, scan, code_for):
    resp = client.post(f"/api/v1/tasks/{scanned.id}/attendances/{city.member.id}/absent", headers=login("staff1"))
    assert resp.status_code == 200 and resp.get_json()["status"] == "absent" and resp.get_json()["minutes"] == 0
    assert len(_audits("attendance.absent")) == 1
    resp = scan(login("member"), code_for(scanned, "out"))
    assert resp.status_code == 409
    resp = client.post(f"/api/v1/tasks/{scanned.id}/attendances/{city.resident.id}/absent", headers=login("staff1"))
    assert resp.status_code == 409 and error_code(resp) == "NOT_CLAIMED"
    assert client.post(f"/api/v1/tasks/{scanned.id}/attendances/{city.member.id}/absent",
                       headers=login("staff2")).status_code == 403


def test_manual_minutes_need_a_reason_are_kept_apart_and_audited(city, client, login, clock, scanned):
    staff = login("staff1")
    url = f"/api/v1/tasks/{scanned.id}/attendances/{city.member.id}/manual"
    for body in ({"minutes": 90}, {"minutes": 90, "reason": "  "}, {"minutes": 0, "reason": "x"},
                 {"minutes": "lots", "reason": "x"}):
        resp = client.post(url, json=body, headers=staff)
        assert resp.status_code == 422 and error_code(resp) == "VALIDATION_ERROR", body
    resp = client.post(url, json={"minutes": 150, "reason": "手机没电，现场负责人证明"}, headers=staff)
    assert resp.status_code == 200
    item = resp.get_json()
    assert (item["source"], item["status"], item["minutes"]) == ("manual", "checked_out", 150)
    assert item["manual_reason"] == "手机没电，现场负责人证明"
    [audit] = _audits("attendance.manual")
    assert audit.changes["before"]["status"] == "checked_in" and audit.changes["after"]["minutes"] == 150
    assert service_minutes(city.member.id, confirmed_only=False) == {"scanned": 0, "manual": 150}
    assert service_minutes(city.member2.id, confirmed_only=False) == {"scanned": 60, "manual": 0}
    assert service_minutes(city.member.id) == {"scanned": 0, "manual": 0}  # not confirmed yet


def test_confirm_awards_once_and_freezes_the_attendance(city, client, login, clock, scanned):
    staff = login("staff1")
    clock(T0 + timedelta(hours=6))
    client.post(f"/api/v1/tasks/{scanned.id}/checkout-all", headers=staff)
    assert client.post(f"/api/v1/tasks/{scanned.id}/confirm", headers=login("staff2")).status_code == 403
    resp = client.post(f"/api/v1/tasks/{scanned.id}/confirm", headers=staff)
    assert resp.status_code == 200
    assert resp.get_json() == {"awarded": 2, "points": 60 + 30, "confirmed": 2}  # 120 and 60 minutes at 30/h
    again = client.post(f"/api/v1/tasks/{scanned.id}/confirm", headers=staff)
    assert again.get_json() == {"awarded": 0, "points": 0, "confirmed": 0}
    rows = {a.user_id: a for a in db.session.scalars(select(Attendance))}
    assert rows[city.member.id].points == 60 and rows[city.member.id].awarded_at is not None
    assert len(_audits("task.confirm_attendance")) == 1
    resp = client.post(f"/api/v1/tasks/{scanned.id}/attendances/{city.member.id}/manual",
                       json={"minutes": 999, "reason": "改"}, headers=staff)
    assert resp.status_code == 409 and error_code(resp) == "INVALID_STATE"
    assert service_minutes(city.member.id) == {"scanned": 120, "manual": 0}
    from backend.timebank.models import Transfer

    transfers = list(db.session.scalars(select(Transfer).where(Transfer.ref_type == "attendance")))
    assert sorted((t.ref_id, t.amount) for t in transfers) == sorted(
        [(rows[city.member.id].id, 60), (rows[city.member2.id].id, 30)])


def test_zero_point_attendances_are_confirmed_but_post_nothing(city, client, login, clock, make_task, claim, scan, code_for):
    task = make_task(points_per_hour=0)
    claim(task, city.member)
    member = login("member")
    clock(T0)
    scan(member, code_for(task, "in"))
    clock(T0 + timedelta(minutes=45))
    scan(member, code_for(task, "out"))
    resp = client.post(f"/api/v1/tasks/{task.id}/confirm", headers=login("staff1"))
    assert resp.get_json() == {"awarded": 0, "points": 0, "confirmed": 1}
    row = db.session.scalar(select(Attendance))
    assert row.awarded_at is not None and row.points == 0
    assert service_minutes(city.member.id) == {"scanned": 45, "manual": 0}
    from backend.timebank.models import Transfer

    assert db.session.query(Transfer).count() == 0


def test_an_unfinished_attendance_is_not_confirmed(city, client, login, clock, scanned):
    resp = client.post(f"/api/v1/tasks/{scanned.id}/confirm", headers=login("staff1"))
    assert resp.get_json()["confirmed"] == 1  # member2 only; member is still checked in
    rows = {a.user_id: a for a in db.session.scalars(select(Attendance))}
    assert rows[city.member.id].awarded_at is None and rows[city.member2.id].awarded_at is not None


def test_points_are_minutes_times_rate_rounded_down(city, client, login, clock, make_task, claim, scan, code_for):
    task = make_task(points_per_hour=25)
    claim(task, city.member, city.member2)
    clock(T0)
    scan(login("member"), code_for(task, "in"))
    scan(login("member2"), code_for(task, "in"))
    clock(T0 + timedelta(minutes=50))
    assert scan(login("member"), code_for(task, "out")).get_json()["minutes"] == 50  # 50 × 25 / 60 = 20.83
    resp = client.post(f"/api/v1/tasks/{task.id}/attendances/{city.member2.id}/manual",
                       json={"minutes": 2, "reason": "只来了两分钟"}, headers=login("staff1"))
    assert resp.status_code == 200  # 2 × 25 / 60 = 0.83: confirmed, no points
    resp = client.post(f"/api/v1/tasks/{task.id}/confirm", headers=login("staff1"))
    assert resp.get_json() == {"awarded": 1, "points": 20, "confirmed": 2}
    rows = {a.user_id: a.points for a in db.session.scalars(select(Attendance))}
    assert rows == {city.member.id: 20, city.member2.id: 0}


def test_the_daily_cap_is_what_the_attendance_says_and_a_capped_out_one_waits(
        city, client, login, clock, make_task, claim, scan, code_for):
    from backend.timebank.service import wallet_summary
    from backend.timebank.verify import verify

    staff, member = login("staff1"), login("member")
    assert client.put(f"/api/v1/communities/{city.c1.id}/timebank-policy", json={"daily_cap": 50},
                      headers=staff).status_code == 200
    first, second = make_task(points_per_hour=60), make_task(title="第二个", points_per_hour=60)
    claim(first, city.member)
    claim(second, city.member)
    clock(T0)
    for task in (first, second):
        scan(member, code_for(task, "in"))
    clock(T0 + timedelta(minutes=60))
    scan(member, code_for(first, "out"))
    clock(T0 + timedelta(minutes=30))
    assert scan(member, code_for(second, "out")).status_code == 201
    clock(T0 + timedelta(hours=3))
    resp = client.post(f"/api/v1/tasks/{first.id}/confirm", headers=staff)
    assert resp.get_json() == {"awarded": 1, "points": 50, "confirmed": 1}  # 60 asked, the cap allows 50
    resp = client.post(f"/api/v1/tasks/{second.id}/confirm", headers=staff)
    assert resp.get_json() == {"awarded": 0, "points": 0, "confirmed": 0}  # nothing left today: it waits
    rows = {a.task_id: a for a in db.session.scalars(select(Attendance))}
    assert (rows[first.id].points, rows[first.id].awarded_at is not None) == (50, True)
    assert (rows[second.id].points, rows[second.id].awarded_at) == (0, None)
    clock(T0 + timedelta(days=1))  # the next day, the same confirmation posts it
    resp = client.post(f"/api/v1/tasks/{second.id}/confirm", headers=staff)
    assert resp.get_json() == {"awarded": 1, "points": 30, "confirmed": 1}
    db.session.expire_all()
    assert db.session.get(Attendance, rows[second.id].id).points == 30
    assert wallet_summary(db.session, city.member.id)["balance"] == 80
    assert verify(db.session)["ok"]


def test_the_roster_pages_by_user_id(city, client, login, make_task, claim):
    from backend.auth.models import User

    task = make_task()
    people = [User(openid=f"r-{i}", nickname=f"志愿者{i}") for i in range(5)]
    db.session.add_all(people)
    db.session.commit()
    claim(task, *people)
    db.session.add(Attendance(task_id=task.id, user_id=city.member.id, community_id=task.community_id,
                              status="checked_out", source="manual", minutes=30, manual_reason="未认领的补录"))
    db.session.commit()
    staff, url, seen, cursor = login("staff1"), f"/api/v1/tasks/{task.id}/attendances", [], None
    while True:
        page = client.get(url, query_string={"limit": 2, **({"cursor": cursor} if cursor else {})},
                          headers=staff).get_json()
        assert len(page["items"]) <= 2
        seen += [i["user_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted([u.id for u in people] + [city.member.id])  # claimers and the unclaimed manual row
    for bad in ({"limit": 0}, {"limit": 101}, {"cursor": "!!"}, {"cursor": "Ingi"}, {"cursor": "dHJ1ZQ"}):
        resp = client.get(url, query_string=bad, headers=staff)
        assert resp.status_code == 422 and error_code(resp) == "VALIDATION_ERROR", bad
