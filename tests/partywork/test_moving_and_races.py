"""Party work beyond tasks: a member who moved to another community, concurrent
meeting scans by a walk-in, and the edges around them."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from backend.attendance import services as attendance
from backend.attendance.services import issue_code
from backend.auth.models import User
from backend.extensions import db
from backend.partywork import duty, meetings
from backend.partywork.models_meetings import MeetingAttendee
from tests.helpers import error_code, needs_pg, run_threads
from tests.partywork.test_concurrency import _race

NOW = datetime(2026, 11, 10, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai


def _report(client, headers, community_id, unit_id):
    body = {"community_id": community_id, "unit_id": unit_id, "name": "张三", "phone": "13900001111", "skills": []}
    r = client.post("/api/v1/member-reports", json=body, headers=headers)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def _decide(client, headers, report_id):
    r = client.post(f"/api/v1/member-reports/{report_id}/decision", json={"approve": True}, headers=headers)
    assert r.status_code == 200 and r.get_json()["status"] == "approved", r.get_json()


def test_member_who_moved_away_loses_household_details_visits_and_duty_logs(client, login, city):
    """A member approved in c1 who moves house (a new report approved by c2) stops being c1's
    member: c1's households, their phones and addresses, visits and c1's duty posts are no
    longer theirs, although nobody in c1 ended the link or the tenure by hand."""
    with time_machine.travel(NOW, tick=False):
        mover, staff1, staff2 = login("mover"), login("staff1"), login("staff2")
        _decide(client, staff1, _report(client, mover, city.c1.id, city.u1.id))
        mover_id = client.get("/api/v1/me", headers=mover).get_json()["id"]
        h = client.post(f"/api/v1/communities/{city.c1.id}/households", headers=staff1, json={
            "address": "幸福里小区3栋2单元501室", "head_name": "刘奶奶", "phone": "13812345678", "tags": []}).get_json()
        assert client.post(f"/api/v1/households/{h['id']}/links", json={"user_id": mover_id},
                           headers=staff1).status_code == 201
        post = client.post(f"/api/v1/communities/{city.c1.id}/duty-posts", headers=staff1,
                           json={"name": "楼栋长", "seats": 1, "points_per_month": 30}).get_json()
        assert client.post(f"/api/v1/duty-posts/{post['id']}/holders", json={"user_id": mover_id},
                           headers=staff1).status_code == 201
        meeting = meetings.create_meeting(city.staff1, city.c1.id, kind="党课", title="党课",
                                          starts_at=NOW + timedelta(days=3), ends_at=NOW + timedelta(days=3, hours=1),
                                          member_ids=[mover_id])
        db.session.commit()
        # while a member of c1, all of it works
        assert client.get(f"/api/v1/households/{h['id']}", headers=mover).get_json()["phone"] == "13812345678"

        _decide(client, staff2, _report(client, mover, city.c2.id, city.u1.id))
        roles = client.get("/api/v1/me", headers=mover).get_json()["roles"]
        assert {"role": "member", "community_id": city.c1.id} not in [
            {k: r.get(k) for k in ("role", "community_id")} for r in roles]

        r = client.get(f"/api/v1/households/{h['id']}", headers=mover)
        assert r.status_code == 403, r.get_json()
        mine = client.get("/api/v1/me/households", headers=mover).get_json()["items"]
        assert all(i.get("phone") != "13812345678" for i in mine), mine
        visit = client.post(f"/api/v1/households/{h['id']}/visits", headers=mover,
                            json={"visited_at": "2026-11-10T09:00:00+08:00", "minutes": 60, "note": "走访"})
        assert visit.status_code == 403 and error_code(visit) == "FORBIDDEN"
        log = client.post(f"/api/v1/duty-posts/{post['id']}/logs", headers=mover,
                          json={"date": "2026-11-10", "minutes": 60, "note": "巡查"})
        assert log.status_code == 403 and error_code(log) == "FORBIDDEN"
        # moving ended the link, the tenure and the invitation: c1's staff see the household
        # with nobody looking after it, the one seat is free again, the meeting no longer expects them
        seen = client.get(f"/api/v1/households/{h['id']}", headers=staff1).get_json()
        assert (seen["phone"], seen["members"]) == ("13812345678", [])
        posts = client.get(f"/api/v1/communities/{city.c1.id}/duty-posts", headers=staff1).get_json()["items"]
        assert [(p["id"], p["holders"], p["free_seats"]) for p in posts] == [(post["id"], [], 1)]
        assert client.post(f"/api/v1/duty-posts/{post['id']}/holders", json={"user_id": city.member.id},
                           headers=staff1).status_code == 201
        assert db.session.query(MeetingAttendee).filter_by(meeting_id=meeting.id, user_id=mover_id).count() == 0
        closed = client.get("/api/v1/admin/audit", query_string={"action": "member_report.close"},
                            headers=login("admin")).get_json()["items"]
        assert [a["changes"]["after"]["ended"] for a in closed] == [
            {"duty_holders": 1, "household_links": 1, "meeting_invitations": 1}]


def test_member_still_in_the_community_keeps_access(client, login, city):
    """The guard above does not take anything from a member who stays (same community, renewed report)."""
    with time_machine.travel(NOW, tick=False):
        staff1, member = login("staff1"), login("member")
        h = client.post(f"/api/v1/communities/{city.c1.id}/households", headers=staff1, json={
            "address": "幸福里小区1栋101室", "head_name": "王爷爷", "phone": "13812349999", "tags": []}).get_json()
        client.post(f"/api/v1/households/{h['id']}/links", json={"user_id": city.member.id}, headers=staff1)
        mine = client.get("/api/v1/me/households", headers=member).get_json()["items"]
        assert [(i["id"], i["phone"], i["private"]) for i in mine] == [(h["id"], "13812349999", True)]
        post = duty.create_post(city.staff1, city.c1.id, name="党员示范岗", seats=1)
        duty.apply_or_appoint(city.staff1, post.id, city.member.id)
        db.session.commit()
        assert client.post(f"/api/v1/duty-posts/{post.id}/logs", headers=member,
                           json={"date": "2026-11-10", "minutes": 30}).status_code == 201
        assert client.post(f"/api/v1/households/{h['id']}/visits", headers=member,
                           json={"visited_at": "2026-11-10T09:00:00+08:00", "minutes": 30}).status_code == 201


@needs_pg
def test_concurrent_scans_by_a_walk_in_member_are_one_attendance(app, city):
    """A member not on the list scans twice at once (a double tap, or an offline upload racing the
    online scan): one 201, one 200, one attendee row, never an IntegrityError (a 500)."""
    start = NOW + timedelta(hours=1)
    with time_machine.travel(NOW, tick=False):
        m = meetings.create_meeting(city.staff1, city.c1.id, kind="党课", title="党课", starts_at=start,
                                    ends_at=start + timedelta(hours=1), member_ids=[city.member.id])
        db.session.commit()
        meeting_id, walk_in = m.id, city.member2.id
    with time_machine.travel(start, tick=False):
        code = issue_code("M", meeting_id, "in")["code"]
        results, barrier = [], threading.Barrier(4)

        def scan():
            with app.app_context():
                barrier.wait()
                try:
                    _, created = attendance.checkin(db.session.get(User, walk_in), code)
                    db.session.commit()
                    results.append(created)
                except Exception as exc:  # noqa: BLE001  (the outcome is what we count)
                    db.session.rollback()
                    results.append(type(exc).__name__)
                finally:
                    db.session.remove()

        run_threads(*[scan] * 4)
    assert sorted(results, key=str) == [False, False, False, True], results
    rows = db.session.query(MeetingAttendee).filter_by(meeting_id=meeting_id, user_id=walk_in).all()
    assert [(r.status, r.expected) for r in rows] == [("present", False)]


def test_walk_in_row_added_between_read_and_insert_makes_a_repeat_scan(city, monkeypatch):
    """The race above without threads (any database): the attendee row appears after this
    request looked for it (the first look is made to miss it), so the insert hits the unique
    constraint; the scan answers as a repeat (200) with the first scan's time, not an error."""
    start = NOW + timedelta(hours=1)
    with time_machine.travel(NOW, tick=False):
        m = meetings.create_meeting(city.staff1, city.c1.id, kind="党课", title="党课", starts_at=start,
                                    ends_at=start + timedelta(hours=1), member_ids=[city.member.id])
        db.session.commit()
    with time_machine.travel(start, tick=False):
        code = issue_code("M", m.id, "in")["code"]
        first, created = attendance.checkin(city.member2, code)
        assert created
        db.session.commit()
        real, misses = meetings._attendee, []

        def stale(meeting_id, user_id, lock=False):
            if not misses:
                misses.append(user_id)
                return None
            return real(meeting_id, user_id, lock)

        monkeypatch.setattr(meetings, "_attendee", stale)
        body, created = attendance.checkin(city.member2, code)
        db.session.commit()
    assert misses == [city.member2.id] and not created and body["at"] == first["at"]
    rows = db.session.query(MeetingAttendee).filter_by(meeting_id=m.id, user_id=city.member2.id).all()
    assert [(r.status, r.expected) for r in rows] == [("present", False)]


def test_leave_then_scan_then_leave_again(client, login, city):
    """请假 then the member comes after all: present, the leave reason cleared; staff cannot put
    them back on leave (409), and the report counts them present."""
    start = NOW + timedelta(hours=1)
    with time_machine.travel(NOW, tick=False):
        staff = login("staff1")
        m = client.post(f"/api/v1/communities/{city.c1.id}/meetings", headers=staff, json={
            "kind": "主题党日", "title": "主题党日", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(), "member_ids": [city.member.id]}).get_json()
        leave = client.post(f"/api/v1/meetings/{m['id']}/leaves", json={"user_id": city.member.id, "reason": "出差"},
                            headers=staff)
        assert leave.status_code == 201 and leave.get_json()["status"] == "leave"
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        staff, member = login("staff1"), login("member")
        code = client.get(f"/api/v1/meetings/{m['id']}/checkin-code", headers=staff).get_json()["code"]
        r = client.post("/api/v1/checkins", json={"code": code}, headers=member)
        assert r.status_code == 201
        detail = client.get(f"/api/v1/meetings/{m['id']}", headers=staff).get_json()
        assert [(a["status"], a["leave_reason"]) for a in detail["attendees"]] == [("present", None)]
        again = client.post(f"/api/v1/meetings/{m['id']}/leaves", json={"user_id": city.member.id, "reason": "x"},
                            headers=staff)
        assert again.status_code == 409
    with time_machine.travel(start + timedelta(days=1), tick=False):
        report = client.get(f"/api/v1/communities/{city.c1.id}/meeting-attendance?period=2026-11",
                            headers=login("staff1")).get_json()
        assert (report["present"], report["expected"]) == (1, 1)


def test_other_communitys_staff_cannot_touch_visits_links_or_leaves(client, login, city):
    """Staff of c2 (same street) can neither confirm c1's visits, end c1's links, mark 请假 at
    c1's meetings, nor read c1's households; the street admin reads them masked but cannot act."""
    with time_machine.travel(NOW, tick=False):
        staff1, staff2, street = login("staff1"), login("staff2"), login("streetadm")
        h = client.post(f"/api/v1/communities/{city.c1.id}/households", headers=staff1, json={
            "address": "幸福里小区3栋2单元501室", "head_name": "刘奶奶", "phone": "13812345678", "tags": []}).get_json()
        client.post(f"/api/v1/households/{h['id']}/links", json={"user_id": city.member.id}, headers=staff1)
        v = client.post(f"/api/v1/households/{h['id']}/visits", headers=login("member"),
                        json={"visited_at": "2026-11-10T09:00:00+08:00", "minutes": 60}).get_json()
        for who in (staff2, street):
            assert client.post(f"/api/v1/communities/{city.c1.id}/visits/confirm", json={"visit_ids": [v["id"]]},
                               headers=who).status_code == 403
            assert client.delete(f"/api/v1/households/{h['id']}/links/{city.member.id}",
                                 headers=who).status_code == 403
        # c2's staff naming c1's visit under their own community: refused, nothing confirmed
        r = client.post(f"/api/v1/communities/{city.c2.id}/visits/confirm", json={"visit_ids": [v["id"]]},
                        headers=staff2)
        assert r.status_code == 422 and "visit_ids" in r.get_json()["error"]["details"]
        assert client.get(f"/api/v1/households/{h['id']}", headers=staff2).status_code == 403
        masked = client.get(f"/api/v1/households/{h['id']}", headers=street).get_json()
        assert masked["phone"] == "138****5678" and masked["private"] is False
        m = client.post(f"/api/v1/communities/{city.c1.id}/meetings", headers=staff1, json={
            "kind": "党课", "title": "党课", "starts_at": "2026-11-11T14:00:00+08:00",
            "ends_at": "2026-11-11T15:00:00+08:00"}).get_json()
        assert client.post(f"/api/v1/meetings/{m['id']}/leaves", json={"user_id": city.member.id, "reason": "病假"},
                           headers=staff2).status_code == 403
        assert client.get(f"/api/v1/meetings/{m['id']}/checkin-code", headers=staff2).status_code == 403
        visits = client.get(f"/api/v1/households/{h['id']}/visits", headers=staff1).get_json()["items"]
        assert [x["status"] for x in visits] == ["pending"]


@needs_pg
def test_concurrent_identical_links_are_one_link(app, city):
    """Staff press 联系 twice (or two staff at once) for the same member and household: the same
    link again is returned as is, so every request succeeds and one link (one audit row) exists."""
    from backend.partywork import households
    from backend.partywork.models_households import HouseholdLink
    from tests.partywork.conftest import audit_actions

    h = households.create_household(city.staff1, city.c1.id, address="幸福路1号", head_name="户主")
    staff_id, member_id, hid = city.staff1.id, city.member.id, h.id
    db.session.commit()
    results = _race(app, lambda: households.link(db.session.get(User, staff_id), hid, member_id), [()] * 4)
    assert results == ["ok"] * 4, results
    links = db.session.query(HouseholdLink).filter_by(household_id=hid, user_id=member_id).all()
    assert [l.status for l in links] == ["active"]
    assert audit_actions("household").count("household.link") == 1


def test_link_made_between_read_and_insert_is_returned_as_is(city, monkeypatch):
    """The race above without threads (any database): the link appears after this request looked
    for it, so the insert hits the unique index; the existing link is returned, the session usable."""
    from backend.partywork import households
    from backend.partywork.models_households import HouseholdLink

    h = households.create_household(city.staff1, city.c1.id, address="幸福路1号", head_name="户主")
    first = households.link(city.staff1, h.id, city.member.id)
    db.session.commit()
    real, misses = households._active_link, []

    def stale(household_id, user_id):
        if not misses:
            misses.append(user_id)
            return None
        return real(household_id, user_id)

    monkeypatch.setattr(households, "_active_link", stale)
    again = households.link(city.staff1, h.id, city.member.id)
    db.session.commit()
    assert misses == [city.member.id] and again.id == first.id
    assert db.session.query(HouseholdLink).filter_by(household_id=h.id).count() == 1


def test_application_racing_an_appointment_is_409_and_leaves_the_session_usable(city, monkeypatch):
    """A member's application whose live row appeared after the check (a concurrent appointment)
    is 409 ALREADY_APPLIED, and only the nested insert is undone: the rest of the request's work
    in the same transaction (here a duty post created before) survives."""
    post = duty.create_post(city.staff1, city.c1.id, name="楼栋长", seats=2)
    duty.apply_or_appoint(city.staff1, post.id, city.member.id)
    db.session.commit()
    other = duty.create_post(city.staff1, city.c1.id, name="党员示范岗", seats=1)  # pending in this transaction
    monkeypatch.setattr(duty, "_live", lambda post_id, user_id: None)
    with pytest.raises(duty.AlreadyHolding):
        duty.apply_or_appoint(city.member, post.id)
    db.session.commit()
    assert db.session.get(duty.DutyPost, other.id) is not None


@needs_pg
def test_withdrawal_racing_an_approval_is_not_undone(app, city, monkeypatch):
    """A member withdraws (DELETE holders/me) while staff approve the same application: the approval
    must not overwrite the withdrawal and leave someone who left holding the seat (active, with an
    ended_at). Either order is fine as long as the row ends consistent."""
    post = duty.create_post(city.staff1, city.c1.id, name="楼栋长", seats=1)
    duty.apply_or_appoint(city.member, post.id)
    staff_id, member_id, post_id = city.staff1.id, city.member.id, post.id
    db.session.commit()
    holder_read, withdrawn = threading.Event(), threading.Event()
    real_take_seat = duty._take_seat

    def slow_take_seat(p):  # the approval has read the pending row; let the withdrawal run now
        holder_read.set()
        withdrawn.wait(timeout=3)
        real_take_seat(p)

    monkeypatch.setattr(duty, "_take_seat", slow_take_seat)
    outcomes = {}

    def approve():
        with app.app_context():
            try:
                duty.decide(db.session.get(User, staff_id), post_id, member_id, True)
                db.session.commit()
                outcomes["approve"] = "ok"
            except Exception as exc:  # noqa: BLE001
                db.session.rollback()
                outcomes["approve"] = getattr(exc, "code", type(exc).__name__)
            finally:
                db.session.remove()

    def withdraw():
        with app.app_context():
            holder_read.wait(timeout=3)
            try:
                duty.step_down(db.session.get(User, member_id), post_id)
                db.session.commit()
                outcomes["withdraw"] = "ok"
            except Exception as exc:  # noqa: BLE001
                db.session.rollback()
                outcomes["withdraw"] = getattr(exc, "code", type(exc).__name__)
            finally:
                withdrawn.set()
                db.session.remove()

    run_threads(approve, withdraw)
    db.session.expire_all()
    rows = db.session.query(duty.DutyHolder).filter_by(post_id=post_id, user_id=member_id).all()
    assert [r.status for r in rows] == ["ended"], (outcomes, [(r.status, r.ended_at) for r in rows])
    assert duty.active_count(post_id) == 0


@pytest.mark.parametrize("phone", ["13812345678\n", "1381234５678"])
def test_a_household_phone_is_ascii_digits_without_a_trailing_newline(client, login, city, phone):
    """`$` let a trailing newline through and `[0-9]` is what the pattern means: 422, nothing stored."""
    r = client.post(f"/api/v1/communities/{city.c1.id}/households", headers=login("staff1"), json={
        "address": "幸福里小区1栋101室", "head_name": "王爷爷", "phone": phone, "tags": []})
    assert r.status_code == 422 and error_code(r) == "VALIDATION_ERROR" and "phone" in r.get_json()["error"]["details"]
    listed = client.get(f"/api/v1/communities/{city.c1.id}/households", headers=login("staff1")).get_json()
    assert listed["items"] == []
