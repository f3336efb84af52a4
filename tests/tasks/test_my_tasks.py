"""GET /me/tasks: the tasks one claimed (and still holds) or attended, with one's attendance."""
from datetime import timedelta

from backend.attendance.models import Attendance
from backend.db import utcnow
from backend.extensions import db
from backend.tasks.models import TaskClaim


def test_my_tasks_open_and_ended_with_my_attendance(client, city, login, make_task):
    member = login("member")
    soon, later = make_task(title="明天", starts_in=timedelta(days=1)), make_task(title="后天", starts_in=timedelta(days=3))
    dropped, other = make_task(title="取消了", starts_in=timedelta(days=2)), make_task(title="没报名")
    past = make_task(title="上周", starts_in=timedelta(hours=-5), hours=2)
    manual = make_task(title="补录", starts_in=timedelta(hours=-30), hours=2)
    for t in (soon, later, dropped):
        assert client.post(f"/api/v1/tasks/{t.id}/claims", headers=member).status_code == 201
    assert client.delete(f"/api/v1/tasks/{dropped.id}/claims/me", headers=member).status_code == 204
    claim = TaskClaim(task_id=past.id, user_id=city.member.id, status="active")
    db.session.add(claim)
    db.session.flush()
    now = utcnow()
    db.session.add_all([
        Attendance(task_id=past.id, user_id=city.member.id, claim_id=claim.id, community_id=city.c1.id,
                   status="checked_out", checkin_at=past.starts_at, checkout_at=past.ends_at, minutes=120,
                   points=20, awarded_at=now),
        Attendance(task_id=manual.id, user_id=city.member.id, community_id=city.c1.id, status="checked_out",
                   source="manual", manual_reason="手机没电", minutes=90),
    ])
    db.session.commit()

    def mine(qs="", who=member):
        resp = client.get(f"/api/v1/me/tasks{qs}", headers=who)
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    upcoming = mine()["items"]
    assert [t["title"] for t in upcoming] == ["明天", "后天"]
    assert all(t["my_claim"]["status"] == "active" and t["my_attendance"] is None for t in upcoming)
    ended = mine("?status=ended")["items"]
    assert [t["title"] for t in ended] == ["上周", "补录"]  # the latest first
    done = ended[0]["my_attendance"]
    assert (done["status"], done["minutes"], done["points"]) == ("checked_out", 120, 20) and done["awarded_at"]
    assert ended[0]["my_claim"] is not None and ended[1]["my_claim"] is None  # a manual entry without a claim
    assert (ended[1]["my_attendance"]["minutes"], ended[1]["my_attendance"]["points"]) == (90, 0)
    assert [t["title"] for t in mine("?status=all")["items"]] == ["后天", "明天", "上周", "补录"]
    assert mine(who=login("member2"))["items"] == []
    first = mine("?status=all&limit=3")
    rest = mine(f"?status=all&limit=3&cursor={first['next_cursor']}")
    assert [t["title"] for t in first["items"] + rest["items"]] == ["后天", "明天", "上周", "补录"]
    assert rest["next_cursor"] is None
    assert client.get("/api/v1/me/tasks?status=mine", headers=member).status_code == 422
    assert client.get("/api/v1/me/tasks?cursor=bad", headers=member).status_code == 422
    assert client.get("/api/v1/me/tasks").status_code == 401
    assert other.id not in [t["id"] for t in mine("?status=all")["items"]]
