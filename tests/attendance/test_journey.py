"""The whole journey through the API: staff show a code, the member scans in and out, staff
confirm, and the minutes and points appear on the member's account."""
from datetime import timedelta

from tests.attendance.conftest import NEAR, PLACE, T0


def test_full_journey(city, client, login, clock):
    staff, member = login("staff1"), login("member")
    clock(T0 - timedelta(days=1))
    resp = client.post(f"/api/v1/communities/{city.c1.id}/tasks", headers=staff, json={
        "title": "社区环境整治", "description": "清理楼道杂物", "category": "环境",
        "starts_at": T0.isoformat(), "ends_at": (T0 + timedelta(hours=2)).isoformat(),
        "location": {"name": "幸福里小区广场", "lat": PLACE[0], "lng": PLACE[1]},
        "capacity": 10, "points_per_hour": 20, "skills": []})
    assert resp.status_code == 201, resp.get_json()
    task_id = resp.get_json()["id"]
    assert client.post(f"/api/v1/tasks/{task_id}/claims", headers=member).status_code == 201

    clock(T0 + timedelta(minutes=2, seconds=11))
    code = client.get(f"/api/v1/tasks/{task_id}/checkin-code?action=in", headers=staff).get_json()
    resp = client.post("/api/v1/checkins", headers=member, json={"code": code["code"], "lat": NEAR[0], "lng": NEAR[1]})
    assert resp.status_code == 201 and resp.get_json()["action"] == "in"

    clock(T0 + timedelta(minutes=92, seconds=40))
    code = client.get(f"/api/v1/tasks/{task_id}/checkin-code?action=out", headers=staff).get_json()
    resp = client.post("/api/v1/checkins", headers=member, json={"code": code["code"], "lat": NEAR[0], "lng": NEAR[1]})
    assert resp.status_code == 201 and resp.get_json()["minutes"] == 90

    clock(T0 + timedelta(hours=3))
    resp = client.post(f"/api/v1/tasks/{task_id}/confirm", headers=staff)
    assert resp.status_code == 200 and resp.get_json()["awarded"] == 1 and resp.get_json()["points"] == 30
    assert client.post(f"/api/v1/tasks/{task_id}/confirm", headers=staff).get_json()["points"] == 0

    roster = client.get(f"/api/v1/tasks/{task_id}/attendances", headers=staff).get_json()["items"]
    assert [(i["user_id"], i["minutes"], i["points"]) for i in roster] == [(city.member.id, 90, 30)]

    account = client.get("/api/v1/me/account", headers=member)
    assert account.status_code == 200
    assert account.get_json() == {"balance": 30, "earned_total": 30, "spent_total": 0, "service_minutes": 90}
    [item] = client.get("/api/v1/me/transfers", headers=member).get_json()["items"]
    assert (item["kind"], item["amount"], item["balance_after"]) == ("earn", 30, 30)
