"""Listing tasks: filters, paging, the staff view and recommendations."""
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import time_machine

from backend.db import utcnow
from backend.tasks import queries, services
from tests.helpers import error_code

TZ = ZoneInfo("Asia/Shanghai")


def test_open_list_excludes_cancelled_and_ended(client, city, login, make_task):
    soon = make_task(title="明天", starts_in=timedelta(days=1))
    later = make_task(title="后天", starts_in=timedelta(days=2))
    ongoing = make_task(title="进行中", starts_in=timedelta(hours=1), hours=5)
    gone = make_task(title="取消", starts_in=timedelta(days=3))
    services.cancel_task(city.staff1, gone.id, "取消")
    from backend.extensions import db

    db.session.commit()
    h = login("resident")
    with time_machine.travel(utcnow() + timedelta(hours=2)):
        items = client.get("/api/v1/tasks", headers=h).get_json()["items"]
        assert [t["id"] for t in items] == [ongoing.id, soon.id, later.id]  # soonest first
        assert items[0]["phase"] == "ongoing" and items[1]["phase"] == "upcoming"
        cancelled = client.get("/api/v1/tasks?status=cancelled", headers=h).get_json()["items"]
        assert [t["id"] for t in cancelled] == [gone.id] and cancelled[0]["status"] == "cancelled"
    with time_machine.travel(utcnow() + timedelta(hours=7)):
        items = client.get("/api/v1/tasks?status=open", headers=h).get_json()["items"]
        assert ongoing.id not in [t["id"] for t in items]
        ended = client.get("/api/v1/tasks?status=ended", headers=h).get_json()["items"]
        assert [t["id"] for t in ended] == [ongoing.id] and ended[0]["status"] == "ended"


def test_filters_by_community_skill_and_date(client, city, login, make_task):
    a = make_task(community=city.c1, skills=["医疗", "陪伴"], starts_in=timedelta(days=1))
    b = make_task(community=city.c2, skills=["维修"], starts_in=timedelta(days=1))
    c = make_task(community=city.c1, skills=["维修"], starts_in=timedelta(days=4))
    h = login("resident")

    def ids(qs):
        resp = client.get("/api/v1/tasks" + qs, headers=h)
        assert resp.status_code == 200, resp.get_json()
        return [t["id"] for t in resp.get_json()["items"]]

    assert ids(f"?community_id={city.c1.id}") == [a.id, c.id]
    assert ids(f"?community_id={city.c2.id}") == [b.id]
    assert ids("?skill=维修") == [b.id, c.id]
    assert ids("?skill=医疗") == [a.id]
    assert ids("?skill=不存在") == []
    day = c.starts_at.astimezone(TZ).date().isoformat()
    assert ids(f"?date={day}") == [c.id]
    assert ids(f"?date={day}&skill=医疗") == []


def test_date_is_the_local_day(client, city, login):
    """A task at 07:00 Beijing time on the 10th is 23:00 UTC on the 9th: it belongs to the 10th."""
    from backend.extensions import db

    with time_machine.travel(datetime(2026, 12, 1, tzinfo=timezone.utc)):
        start = datetime(2026, 12, 10, 7, 0, tzinfo=TZ)
        task = services.create_task(city.staff1, city.c1.id, title="晨跑", starts_at=start,
                                    ends_at=start + timedelta(hours=1), capacity=3)
        db.session.commit()
        h = login("resident")
        assert [t["id"] for t in client.get("/api/v1/tasks?date=2026-12-10", headers=h).get_json()["items"]] == [task.id]
        assert client.get("/api/v1/tasks?date=2026-12-09", headers=h).get_json()["items"] == []


def test_bad_list_args_are_422(client, city, login):
    h = login("resident")
    for qs in ("?status=whatever", "?date=2026-13-40", "?limit=0", "?limit=101", "?cursor=%%%", "?recommended=maybe"):
        resp = client.get("/api/v1/tasks" + qs, headers=h)
        assert resp.status_code == 422, qs
        assert error_code(resp) == "VALIDATION_ERROR"
    assert client.get("/api/v1/tasks").status_code == 401


def test_keyset_paging(client, city, login, make_task):
    made = [make_task(starts_in=timedelta(days=1 + i % 3, minutes=i)) for i in range(7)]
    expected = [t.id for t in sorted(made, key=lambda t: (t.starts_at, t.id))]
    h = login("resident")
    seen, cursor = [], None
    while True:
        url = "/api/v1/tasks?limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=h).get_json()
        seen += [t["id"] for t in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == expected


def test_my_claim_in_list(client, city, login, make_task):
    a, b = make_task(), make_task(starts_in=timedelta(days=2))
    h = login("member")
    client.post(f"/api/v1/tasks/{b.id}/claims", headers=h)
    items = {t["id"]: t for t in client.get("/api/v1/tasks", headers=h).get_json()["items"]}
    assert items[a.id]["my_claim"] is None
    assert items[b.id]["my_claim"]["status"] == "active" and items[b.id]["claimed_count"] == 1


def test_staff_list_has_all_statuses(client, city, login, make_task):
    a = make_task()
    b = make_task(starts_in=timedelta(hours=1), hours=1)
    c = make_task()
    make_task(community=city.c2)
    services.cancel_task(city.staff1, c.id, "x")
    from backend.extensions import db

    db.session.commit()
    with time_machine.travel(utcnow() + timedelta(hours=3)):
        body = client.get(f"/api/v1/communities/{city.c1.id}/tasks", headers=login("staff1")).get_json()
        assert [t["id"] for t in body["items"]] == [c.id, b.id, a.id]
        assert [t["status"] for t in body["items"]] == ["cancelled", "ended", "open"]
        only = client.get(f"/api/v1/communities/{city.c1.id}/tasks?status=cancelled", headers=login("staff1"))
        assert [t["id"] for t in only.get_json()["items"]] == [c.id]
        assert client.get(f"/api/v1/communities/{city.c1.id}/tasks", headers=login("streetadm")).status_code == 200
        for who in ("staff2", "member", "resident"):
            resp = client.get(f"/api/v1/communities/{city.c1.id}/tasks", headers=login(who))
            assert resp.status_code == 403, who


def test_recommended_orders_by_skill_match_then_start(client, city, login, make_task, monkeypatch):
    none = make_task(title="无", skills=["书法"], starts_in=timedelta(hours=5))
    one = make_task(title="一", skills=["维修", "书法"], starts_in=timedelta(days=2))
    two = make_task(title="二", skills=["医疗", "维修"], starts_in=timedelta(days=3))
    one_early = make_task(title="一早", skills=["医疗"], starts_in=timedelta(days=1))
    gone = make_task(title="取消", skills=["医疗", "维修"], starts_in=timedelta(days=1))
    services.cancel_task(city.staff1, gone.id, "x")
    # under way: still open (it has not ended) but closed to claims, so not recommended
    running = make_task(title="进行中", skills=["医疗", "维修"], starts_in=timedelta(minutes=-30))
    from backend.extensions import db

    db.session.commit()
    monkeypatch.setattr(queries, "skills_of", lambda uid: ["医疗", " 维修 "] if uid == city.member.id else [])
    body = client.get("/api/v1/tasks?recommended=1", headers=login("member")).get_json()
    assert [t["id"] for t in body["items"]] == [two.id, one_early.id, one.id, none.id]
    assert [t["skill_match"] for t in body["items"]] == [2, 1, 1, 0]
    listed = client.get("/api/v1/tasks", headers=login("member")).get_json()["items"]
    assert running.id in [t["id"] for t in listed]  # the plain list still shows it
    # without skills the order is simply by start time
    plain = client.get("/api/v1/tasks?recommended=1", headers=login("resident")).get_json()
    assert [t["id"] for t in plain["items"]] == [none.id, one_early.id, one.id, two.id]
    # paging through the recommendation keeps the order
    first = client.get("/api/v1/tasks?recommended=1&limit=3", headers=login("member")).get_json()
    rest = client.get(f"/api/v1/tasks?recommended=1&limit=3&cursor={first['next_cursor']}",
                      headers=login("member")).get_json()
    assert [t["id"] for t in first["items"] + rest["items"]] == [two.id, one_early.id, one.id, none.id]
    assert rest["next_cursor"] is None


def test_recommendations_use_reported_skills_or_fall_back(city, make_task, monkeypatch):
    make_task(skills=["医疗"])
    monkeypatch.setitem(sys.modules, "backend.reports.services", None)  # import fails
    assert queries.skills_of(city.member.id) == []
    page = queries.list_tasks(city.member.id, recommended_only=True)
    assert [t.skill_match for t in page["items"]] == [0]


def test_recommendations_follow_the_approved_report_skills(client, city, login, make_task):
    """No stub: the skills come from the member's approved 双报到 report, through the API."""
    me = login("resident")
    rid = client.post("/api/v1/member-reports", json={
        "community_id": city.c1.id, "unit_id": city.u1.id, "name": "王五", "phone": "13912345678",
        "skills": ["医疗护理", "驾驶"]}, headers=me).get_json()["id"]
    soon = make_task(title="清扫", skills=["治安巡逻"], starts_in=timedelta(hours=3))
    one = make_task(title="送药", skills=["驾驶", "助老助残"], starts_in=timedelta(days=2))
    two = make_task(title="义诊接送", skills=["医疗护理", "驾驶"], starts_in=timedelta(days=3))
    elsewhere = make_task(title="别处义诊", skills=["医疗护理"], starts_in=timedelta(days=1), community=city.c2)
    # pending report: no skills count yet, so the order is by start time only
    pending = client.get("/api/v1/tasks?recommended=1", headers=me).get_json()["items"]
    assert [t["id"] for t in pending] == [soon.id, elsewhere.id, one.id, two.id]
    assert client.post(f"/api/v1/member-reports/{rid}/decision", json={"approve": True},
                       headers=login("staff1")).status_code == 200
    items = client.get("/api/v1/tasks?recommended=1", headers=me).get_json()["items"]
    assert [(t["id"], t["skill_match"]) for t in items] == [(two.id, 2), (elsewhere.id, 1), (one.id, 1), (soon.id, 0)]
    mine = client.get(f"/api/v1/tasks?recommended=1&community_id={city.c1.id}", headers=me).get_json()["items"]
    assert [t["id"] for t in mine] == [two.id, one.id, soon.id]
