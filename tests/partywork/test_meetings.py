"""Meetings: scheduling, QR check-in through POST /checkins, 请假, attendance per period, no points."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from backend.attendance.services import issue_code
from backend.extensions import db
from backend.tasks.models import Task
from tests.helpers import error_code
from tests.partywork.conftest import audit_actions, balance

START = datetime(2026, 11, 10, 6, 0, tzinfo=timezone.utc)  # 14:00 in Shanghai


def _meeting(client, headers, community_id, **kw):
    body = {"kind": "支部党员大会", "title": "学习全会精神", "starts_at": "2026-11-10T14:00:00+08:00",
            "ends_at": "2026-11-10T16:00:00+08:00", "location": "党群服务中心", **kw}
    return client.post(f"/api/v1/communities/{community_id}/meetings", json=body, headers=headers)


def _scan(client, headers, code):
    return client.post("/api/v1/checkins", json={"code": code}, headers=headers)


def test_checkin_leave_and_attendance(client, login, city):
    with time_machine.travel(START - timedelta(days=1), tick=False):
        staff = login("staff1")
        r = _meeting(client, staff, city.c1.id)
        assert r.status_code == 201, r.get_json()
        meeting = r.get_json()
        assert {a["user_id"] for a in meeting["attendees"]} == {city.member.id, city.member2.id}
        second = _meeting(client, staff, city.c1.id, kind="党课", title="党课", member_ids=[city.member.id],
                          starts_at="2026-11-12T14:00:00+08:00", ends_at="2026-11-12T15:00:00+08:00").get_json()
    with time_machine.travel(START + timedelta(minutes=5), tick=False):
        staff, member = login("staff1"), login("member")
        code = client.get(f"/api/v1/meetings/{meeting['id']}/checkin-code", headers=staff).get_json()
        assert code["code"].startswith("M") and code["image_url"]
        assert client.get(f"/api/v1/meetings/{meeting['id']}/checkin-code", headers=member).status_code == 403
        first = _scan(client, member, code["code"])
        assert first.status_code == 201 and first.get_json()["meeting_id"] == meeting["id"]
        assert _scan(client, member, code["code"]).status_code == 200
        leave = client.post(f"/api/v1/meetings/{meeting['id']}/leaves",
                            json={"user_id": city.member2.id, "reason": "出差"}, headers=staff)
        assert leave.status_code == 201 and leave.get_json()["status"] == "leave"
        present = client.post(f"/api/v1/meetings/{meeting['id']}/leaves",
                              json={"user_id": city.member.id, "reason": "x"}, headers=staff)
        assert present.status_code == 409
        assert client.post(f"/api/v1/meetings/{meeting['id']}/leaves", json={"user_id": city.member.id},
                           headers=staff).status_code == 422
    with time_machine.travel(START + timedelta(days=3), tick=False):
        staff = login("staff1")
        report = client.get(f"/api/v1/communities/{city.c1.id}/meeting-attendance?period=2026-Q4",
                            headers=staff).get_json()
        per_meeting = {m["id"]: m for m in report["meetings"]}
        assert per_meeting[meeting["id"]]["present"] == 1 and per_meeting[meeting["id"]]["leave"] == 1
        assert per_meeting[meeting["id"]]["rate"] == 0.5
        assert per_meeting[second["id"]]["absent"] == 1 and per_meeting[second["id"]]["rate"] == 0
        members = {m["user_id"]: m for m in report["members"]}
        assert (members[city.member.id]["present"], members[city.member.id]["expected"]) == (1, 2)
        assert members[city.member2.id]["leave"] == 1 and members[city.member2.id]["rate"] == 0
        assert report["rate"] == pytest.approx(1 / 3, abs=1e-4) and report["by_kind"] == {"支部党员大会": 1, "党课": 1}
        assert client.get(f"/api/v1/communities/{city.c1.id}/meeting-attendance?period=2026-Q3",
                          headers=staff).get_json()["meetings"] == []
        for period in ("2026-Q5", "9999", "0000-01", "2026-1"):  # years whose bounds are no date: 422, not 500
            bad = client.get(f"/api/v1/communities/{city.c1.id}/meeting-attendance?period={period}", headers=staff)
            assert bad.status_code == 422 and "period" in bad.get_json()["error"]["details"], period
        whole_year = client.get(f"/api/v1/communities/{city.c1.id}/meeting-attendance?period=2026", headers=staff)
        assert len(whole_year.get_json()["meetings"]) == 2
        assert client.get(f"/api/v1/communities/{city.c1.id}/meeting-attendance?period=2026-Q4",
                          headers=login("member")).status_code == 403
        mine = client.get("/api/v1/me/meetings", headers=login("member")).get_json()["items"]
        assert {m["my_status"] for m in mine} == {"present", "expected"}
    assert balance(city.member.id) == 0  # meetings earn no points
    assert {"meeting.create", "meeting.leave"} <= set(audit_actions("meeting"))


def test_meeting_and_task_codes_do_not_cross(client, login, city, other_member):
    with time_machine.travel(START - timedelta(hours=1), tick=False):
        meeting = _meeting(client, login("staff1"), city.c1.id).get_json()
        task = Task(community_id=city.c1.id, title="清扫", starts_at=START, ends_at=START + timedelta(hours=2),
                    capacity=5)
        db.session.add(task)
        db.session.commit()
    with time_machine.travel(START + timedelta(minutes=1), tick=False):
        member = login("member")
        m_code = client.get(f"/api/v1/meetings/{meeting['id']}/checkin-code", headers=login("staff1")).get_json()["code"]
        t_code = issue_code("T", task.id, "in")["code"]
        as_task = "T" + m_code[1:]  # the meeting's code presented as a task's
        as_meeting = "M" + t_code[1:]
        for forged in (as_task, as_meeting):
            r = _scan(client, member, forged)
            assert r.status_code == 422 and error_code(r) == "CODE_INVALID", forged
        # a code of a meeting that does not exist
        ghost = issue_code("M", meeting["id"] + 99, "in")["code"]
        assert error_code(_scan(client, member, ghost)) == "CODE_INVALID"
        # a member of another community is not invited
        r = _scan(client, login("member-c2"), m_code)
        assert r.status_code == 409 and error_code(r) == "NOT_INVITED"


def test_scan_outside_meeting_time_and_bad_input(client, login, city, other_member):
    with time_machine.travel(START - timedelta(days=1), tick=False):
        staff = login("staff1")
        meeting = _meeting(client, staff, city.c1.id).get_json()
        code = client.get(f"/api/v1/meetings/{meeting['id']}/checkin-code", headers=staff).get_json()["code"]
        r = _scan(client, login("member"), code)
        assert r.status_code == 409 and error_code(r) == "MEETING_CLOSED"
        assert _meeting(client, staff, city.c1.id, kind="读书会").status_code == 422
        assert _meeting(client, staff, city.c1.id, ends_at="2026-11-10T13:00:00+08:00").status_code == 422
        r = _meeting(client, staff, city.c1.id, member_ids=[other_member.id])
        assert r.status_code == 422 and "member_ids" in r.get_json()["error"]["details"]
        assert _meeting(client, login("staff2"), city.c1.id).status_code == 403


def test_walk_in_member_counts_present_but_not_expected(client, login, city):
    with time_machine.travel(START - timedelta(hours=1), tick=False):
        meeting = _meeting(client, login("staff1"), city.c1.id, member_ids=[city.member.id]).get_json()
    with time_machine.travel(START, tick=False):
        code = client.get(f"/api/v1/meetings/{meeting['id']}/checkin-code", headers=login("staff1")).get_json()["code"]
        assert _scan(client, login("member2"), code).status_code == 201
    with time_machine.travel(START + timedelta(days=1), tick=False):
        report = client.get(f"/api/v1/communities/{city.c1.id}/meeting-attendance?period=2026-11",
                            headers=login("staff1")).get_json()
        row = report["meetings"][0]
        assert (row["expected"], row["present"], row["walk_in"], row["absent"]) == (1, 0, 1, 1)
