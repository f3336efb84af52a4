"""Every listed kind of changing action writes its audit row through the API, in the same
request: approvals, role grants, task edits and cancellations, manual minutes, confirmations,
reversals, reward stock, evaluations, exports, follow-ups. Each row names the actor, the object,
what changed, the request id and the IP."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.extensions import db
from backend.tasks.models import Task, TaskClaim
from backend.timebank.models import Transfer

T0 = datetime(2026, 11, 14, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai


class Api:
    """client calls as a person, each with its own X-Request-Id; .ids maps request id -> action."""

    def __init__(self, client, login):
        self.client, self.login, self.n = client, login, 0

    def call(self, method, who, url, json=None, status=None):
        self.n += 1
        rid = f"req-{self.n}"
        resp = self.client.open("/api/v1" + url, method=method, json=json,
                                headers={**self.login(who), "X-Request-Id": rid})
        assert resp.status_code < 300 if status is None else resp.status_code == status, resp.get_json()
        return resp.get_json(), rid


@pytest.fixture
def api(client, login):
    return Api(client, login)


def _row(client, login, action, rid):
    """The one audit row of `action` written by request `rid`, as GET /admin/audit lists it."""
    items = client.get("/api/v1/admin/audit", query_string={"action": action, "limit": 100},
                       headers=login("admin")).get_json()["items"]
    mine = [i for i in items if i["request_id"] == rid]
    assert len(mine) == 1, (action, items)
    return mine[0]


def test_every_listed_action_is_audited(client, login, city, api, time_machine):
    time_machine.move_to(T0 - timedelta(days=2), tick=False)
    c1 = city.c1.id
    expected = []  # (action, request id, actor, object_type, object_id, a key of changes["after"])

    # approvals: a member report and a unit report
    report, _ = api.call("POST", "resident", "/member-reports", json={
        "community_id": c1, "unit_id": city.u1.id, "name": "李明", "phone": "13812345678", "skills": []})
    _, rid = api.call("POST", "staff1", f"/member-reports/{report['id']}/decision", json={"approve": True})
    expected.append(("member_report.approve", rid, city.staff1.id, "member_report", report["id"], "status"))
    unit_report, _ = api.call("POST", "unit1", "/unit-reports", json={
        "unit_id": city.u1.id, "community_id": c1, "resources": ["场地"], "needs": []})
    _, rid = api.call("POST", "staff1", f"/unit-reports/{unit_report['id']}/decision", json={"approve": False,
                                                                                              "reason": "资料不全"})
    expected.append(("unit_report.reject", rid, city.staff1.id, "unit_report", unit_report["id"], "status"))

    # a role grant
    grant, rid = api.call("POST", "admin", "/roles", json={"user_id": city.resident.id, "role": "staff",
                                                           "community_id": city.c2.id})
    expected.append(("role.grant", rid, city.admin.id, "role_grant", grant["id"], "role"))

    # a task created, edited and cancelled
    task, rid = api.call("POST", "staff1", f"/communities/{c1}/tasks", json={
        "title": "清扫楼道", "description": "", "category": "环境", "starts_at": T0.isoformat(),
        "ends_at": (T0 + timedelta(hours=2)).isoformat(), "location": {"name": "广场"}, "capacity": 5,
        "points_per_hour": 60, "skills": []})
    expected.append(("task.create", rid, city.staff1.id, "task", task["id"], "title"))
    _, rid = api.call("PATCH", "staff1", f"/tasks/{task['id']}", json={"title": "清扫楼道（改）"})
    expected.append(("task.update", rid, city.staff1.id, "task", task["id"], "title"))
    _, rid = api.call("POST", "staff1", f"/tasks/{task['id']}/cancel", json={"reason": "暴雨"})
    expected.append(("task.cancel", rid, city.staff1.id, "task", task["id"], "status"))

    # manual minutes, the confirmation, then a reversal of the points it posted
    other = Task(community_id=c1, title="义诊", starts_at=T0, ends_at=T0 + timedelta(hours=2), capacity=5,
                 claimed_count=1, points_per_hour=60)
    db.session.add(other)
    db.session.flush()
    db.session.add(TaskClaim(task_id=other.id, user_id=city.member.id))
    db.session.commit()
    time_machine.move_to(T0 + timedelta(hours=3), tick=False)
    item, rid = api.call("POST", "staff1", f"/tasks/{other.id}/attendances/{city.member.id}/manual",
                         json={"minutes": 90, "reason": "手机没电"})
    from backend.attendance.models import Attendance

    attendance_id = db.session.scalar(select(Attendance.id).where(Attendance.task_id == other.id))
    expected.append(("attendance.manual", rid, city.staff1.id, "attendance", attendance_id, "minutes"))
    _, rid = api.call("POST", "staff1", f"/tasks/{other.id}/confirm")
    expected.append(("task.confirm_attendance", rid, city.staff1.id, "task", other.id, "points"))
    earn = db.session.scalar(select(Transfer).where(Transfer.kind == "earn"))
    _, rid = api.call("POST", "staff1", f"/transfers/{earn.id}/reversal", json={"reason": "重复登记"})
    expected.append(("transfer.reverse", rid, city.staff1.id, "transfer", earn.id, "reason"))

    # reward stock
    reward, _ = api.call("POST", "staff1", f"/communities/{c1}/rewards", json={"name": "毛巾", "points": 10,
                                                                               "stock": 3})
    _, rid = api.call("PATCH", "staff1", f"/rewards/{reward['id']}", json={"stock": 8})
    expected.append(("reward.update", rid, city.staff1.id, "reward", reward["id"], "stock"))

    # an evaluation (of the resident, approved above), an export, a follow-up
    evaluation, rid = api.call("POST", "staff1", f"/communities/{c1}/evaluations", json={
        "user_id": city.resident.id, "period": "2026-Q4", "rating": "优秀", "comment": "积极"})
    expected.append(("evaluation.create", rid, city.staff1.id, "evaluation", evaluation["id"], "rating"))
    _, rid = api.call("POST", "staff1", f"/communities/{c1}/exports", json={"kind": "members", "format": "csv"})
    expected.append(("export", rid, city.staff1.id, "community", c1, "params"))
    _, rid = api.call("POST", "staff1", f"/communities/{c1}/follow-ups", json={
        "user_id": city.member.id, "status": "已联系", "note": "电话联系"})
    expected.append(("member.follow_up", rid, city.staff1.id, "user", city.member.id, "status"))

    for action, rid, actor, object_type, object_id, key in expected:
        row = _row(client, login, action, rid)
        assert (row["actor_id"], row["object_type"], row["object_id"]) == (actor, object_type, object_id), action
        assert key in row["changes"]["after"], (action, row["changes"])
        assert row["ip"] == "127.0.0.1" and row["at"].endswith("+08:00"), action
    rids = {action: rid for action, rid, *_ in expected}
    reward_row = _row(client, login, "reward.update", rids["reward.update"])
    assert (reward_row["changes"]["before"]["stock"], reward_row["changes"]["after"]["stock"]) == (3, 8)
    update_row = _row(client, login, "task.update", rids["task.update"])
    assert update_row["changes"]["before"]["title"] == "清扫楼道"

    # the street admin of c1's street reads them all; the grant in c2 (same street) too
    seen = {i["request_id"] for i in client.get("/api/v1/admin/audit?limit=100",
                                                 headers=login("streetadm")).get_json()["items"]}
    assert {rid for _, rid, *_ in expected} <= seen


def test_role_grants_are_placed_in_their_street(client, login, city, api):
    _, in_street = api.call("POST", "admin", "/roles", json={"user_id": city.resident.id, "role": "unit_admin",
                                                             "unit_id": city.u1.id})
    _, elsewhere = api.call("POST", "admin", "/roles", json={"user_id": city.resident.id, "role": "staff",
                                                             "community_id": city.c3.id})
    again, rid = api.call("POST", "admin", "/roles", json={"user_id": city.resident.id, "role": "staff",
                                                           "community_id": city.c3.id})
    rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "role.grant",
                                                     AuditLog.request_id.in_([in_street, elsewhere, rid]))).all()
    assert sorted(r.request_id for r in rows) == sorted([in_street, elsewhere])  # a repeat grants nothing new
    seen = {i["request_id"] for i in client.get("/api/v1/admin/audit?action=role.grant",
                                                 headers=login("streetadm")).get_json()["items"]}
    assert in_street in seen and elsewhere not in seen


def test_a_long_request_id_is_cut_not_a_500(client, login, city):
    resp = client.post("/api/v1/roles", json={"user_id": city.resident.id, "role": "staff",
                                              "community_id": city.c1.id},
                       headers={**login("admin"), "X-Request-Id": "r" * 300})
    assert resp.status_code == 201, resp.get_json()
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "role.grant",
                                                   AuditLog.object_id == resp.get_json()["id"]))
    assert row.request_id == "r" * 64


def test_organisations_created_are_audited(client, login, city, api):
    community, rid_c = api.call("POST", "streetadm", "/communities", json={"name": "新社区", "street_id": city.street.id})
    grid, rid_g = api.call("POST", "staff1", f"/communities/{city.c1.id}/grids", json={"name": "二网格"})
    unit, rid_u = api.call("POST", "admin", "/units", json={"name": "新单位", "kind": "企业", "street_id": city.street.id})
    for action, rid, actor, object_type, object_id in (
            ("community.create", rid_c, city.streetadm.id, "community", community["id"]),
            ("grid.create", rid_g, city.staff1.id, "grid", grid["id"]),
            ("unit.create", rid_u, city.admin.id, "unit", unit["id"])):
        row = _row(client, login, action, rid)
        assert (row["actor_id"], row["object_type"], row["object_id"]) == (actor, object_type, object_id)
        assert row["street_id"] == city.street.id and row["changes"]["after"]["name"]


def test_wish_decisions_are_audited(client, login, city, api):
    wish, _ = api.call("POST", "resident", f"/communities/{city.c1.id}/wishes",
                       json={"title": "读报", "type": "精神", "description": ""})
    _, rid = api.call("POST", "staff1", f"/wishes/{wish['id']}/decision", json={"approve": True})
    row = _row(client, login, "wish.approve", rid)
    assert (row["actor_id"], row["object_type"], row["object_id"]) == (city.staff1.id, "wish", wish["id"])
    assert row["changes"]["before"]["status"] != row["changes"]["after"]["status"]
