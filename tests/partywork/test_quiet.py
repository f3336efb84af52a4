"""Quiet members: who counts as quiet, last activity, follow-ups with history."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import time_machine

from backend.attendance.models import CHECKED_OUT, Attendance
from backend.auth.services import grant_role
from backend.extensions import db
from backend.partywork import duty, quiet
from backend.partywork.models_households import Household, Visit
from backend.partywork.models_meetings import PRESENT, Meeting, MeetingAttendee
from backend.seed import user_for
from backend.tasks.models import Task
from tests.partywork.conftest import audit_actions

NOW = datetime(2026, 11, 10, 2, 0, tzinfo=timezone.utc)
LONG_AGO = NOW - timedelta(days=400)


def _members(city):
    """Five members of c1 approved long ago: each with a different last activity."""
    people = {}
    with time_machine.travel(LONG_AGO, tick=False):
        for code in ("silent", "visitor", "scanner", "meeter", "duty"):
            u = user_for(code, name=code)
            grant_role(None, u.id, "member", community_id=city.c1.id)
            people[code] = u
        db.session.commit()
    h = Household(community_id=city.c1.id, address="甲", head_name="甲")
    task = Task(community_id=city.c1.id, title="t", starts_at=NOW - timedelta(days=40),
                ends_at=NOW - timedelta(days=40, hours=-1), capacity=5)
    m = Meeting(community_id=city.c1.id, kind="党课", title="m", starts_at=NOW - timedelta(days=10),
                ends_at=NOW - timedelta(days=10, hours=-1))
    db.session.add_all([h, task, m])
    db.session.flush()
    db.session.add_all([
        Visit(household_id=h.id, user_id=people["visitor"].id, community_id=city.c1.id,
              visited_at=NOW - timedelta(days=250), minutes=30),
        Attendance(task_id=task.id, user_id=people["scanner"].id, community_id=city.c1.id, status=CHECKED_OUT,
                   checkin_at=NOW - timedelta(days=40), minutes=60),
        MeetingAttendee(meeting_id=m.id, user_id=people["meeter"].id, status=PRESENT,
                        checkin_at=NOW - timedelta(days=10)),
    ])
    db.session.commit()
    with time_machine.travel(LONG_AGO, tick=False):
        post = duty.create_post(city.staff1, city.c1.id, name="楼栋长", seats=1)
        duty.apply_or_appoint(city.staff1, post.id, people["duty"].id)
    with time_machine.travel(NOW - timedelta(days=200), tick=False):
        duty.add_log(people["duty"], post.id, date_=date(2026, 4, 20), minutes=30)
    db.session.commit()
    return people


def test_quiet_members_with_last_activity(client, login, city):
    people = _members(city)
    with time_machine.travel(NOW, tick=False):
        r = client.get(f"/api/v1/communities/{city.c1.id}/quiet-members?months=6", headers=login("staff1"))
        assert r.status_code == 200
        items = {i["user_id"]: i for i in r.get_json()["items"]}
        # member and member2 of the city fixture became members just now: not quiet yet
        assert set(items) == {people["silent"].id, people["visitor"].id, people["duty"].id}
        assert items[people["silent"].id]["last_activity_at"] is None
        assert items[people["visitor"].id]["last_activity_kind"] == "visit"
        assert items[people["visitor"].id]["last_activity_at"].startswith("2026-03-")
        assert items[people["duty"].id]["last_activity_kind"] == "duty_log"
        # over 9 months the visitor (250 days ago) and the duty log (about 204 days) are recent enough
        longer = client.get(f"/api/v1/communities/{city.c1.id}/quiet-members?months=9",
                            headers=login("staff1")).get_json()["items"]
        assert {i["user_id"] for i in longer} == {people["silent"].id}
        shorter = quiet.find_quiet(city.c1.id, 1)
        assert people["meeter"].id not in {i["user_id"] for i in shorter}
        assert people["scanner"].id in {i["user_id"] for i in shorter}
        assert {i["last_activity_kind"] for i in shorter if i["user_id"] == people["scanner"].id} == {"checkin"}
        for bad in ("0", "121", "x"):
            assert client.get(f"/api/v1/communities/{city.c1.id}/quiet-members?months={bad}",
                              headers=login("staff1")).status_code == 422
        assert client.get(f"/api/v1/communities/{city.c1.id}/quiet-members",
                          headers=login("staff2")).status_code == 403


def test_follow_ups_history_and_latest_on_list(client, login, city):
    people = _members(city)
    with time_machine.travel(NOW, tick=False):
        staff = login("staff1")
        url = f"/api/v1/communities/{city.c1.id}/follow-ups"
        silent = people["silent"].id
        assert client.post(url, json={"user_id": silent, "status": "失联", "note": "电话未接"},
                           headers=staff).status_code == 201
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        staff = login("staff1")
        assert client.post(url, json={"user_id": silent, "status": "外出务工", "note": "在深圳"},
                           headers=staff).status_code == 201
        bad = client.post(url, json={"user_id": silent, "status": "不知道"}, headers=staff)
        assert bad.status_code == 422 and "status" in bad.get_json()["error"]["details"]
        stranger = client.post(url, json={"user_id": city.resident.id, "status": "失联"}, headers=staff)
        assert stranger.status_code == 422
        assert client.post(url, json={"user_id": silent, "status": "失联"}, headers=login("staff2")).status_code == 403
        items = client.get(f"/api/v1/communities/{city.c1.id}/quiet-members", headers=staff).get_json()["items"]
        row = next(i for i in items if i["user_id"] == silent)
        assert row["follow_up"]["status"] == "外出务工" and row["follow_up"]["note"] == "在深圳"
        history = client.get(f"{url}?user_id={silent}", headers=staff).get_json()["items"]
        assert [h["status"] for h in history] == ["外出务工", "失联"]
    assert audit_actions("user").count("member.follow_up") == 2
