"""Unit reports (单位到社区报到) through the API, and unit_reported_to."""
from __future__ import annotations

from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.extensions import db
from backend.notifications.models import Notification
from backend.reports.services import unit_reported_to
from tests.helpers import error_code


def file(client, headers, city, **kw):
    data = {"unit_id": city.u1.id, "community_id": city.c1.id, "resources": ["医疗义诊", " 场地 ", "场地"],
            "needs": ["志愿者"]}
    data.update(kw)
    return client.post("/api/v1/unit-reports", json=data, headers=headers)


def test_file_approve_and_reported_to(client, city, login):
    resp = file(client, login("unit1"), city)
    assert resp.status_code == 201
    out = resp.get_json()
    assert out["status"] == "pending" and out["resources"] == ["医疗义诊", "场地"] and out["unit_name"] == "一单位"
    assert not unit_reported_to(city.u1.id, city.c1.id)
    resp = client.post(f"/api/v1/unit-reports/{out['id']}/decision", json={"approve": True}, headers=login("staff1"))
    assert resp.status_code == 200 and resp.get_json()["status"] == "approved"
    assert resp.get_json()["decided_by_id"] == city.staff1.id
    assert unit_reported_to(city.u1.id, city.c1.id) and not unit_reported_to(city.u1.id, city.c2.id)
    note = db.session.scalar(select(Notification).where(Notification.user_id == city.unit1.id))
    assert note.kind == "report_decided" and note.data["status"] == "approved"
    actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.object_type == "unit_report")))
    assert actions == {"unit_report.file", "unit_report.approve"}


def test_one_live_report_per_unit_and_community(client, city, login):
    unit = login("unit1")
    rid = file(client, unit, city).get_json()["id"]
    resp = file(client, unit, city)
    assert resp.status_code == 409 and error_code(resp) == "ALREADY_REPORTED"
    assert file(client, unit, city, community_id=city.c2.id).status_code == 201
    staff = login("staff1")
    reject = client.post(f"/api/v1/unit-reports/{rid}/decision", json={"approve": False, "reason": "资料不全"}, headers=staff)
    assert reject.get_json()["status"] == "rejected" and reject.get_json()["reason"] == "资料不全"
    again = client.post(f"/api/v1/unit-reports/{rid}/decision", json={"approve": True}, headers=staff)
    assert again.status_code == 409 and error_code(again) == "INVALID_STATE"
    assert file(client, unit, city).status_code == 201  # re-file after rejection


def test_unit_admin_of_another_unit_is_403(client, city, login):
    resp = file(client, login("unit2"), city)
    assert resp.status_code == 403 and error_code(resp) == "FORBIDDEN"
    assert file(client, login("staff1"), city).status_code == 403


def test_unknown_unit_or_community_is_422(client, city, login):
    resp = file(client, login("unit1"), city, unit_id=999, community_id=998)
    assert resp.status_code == 422
    assert set(resp.get_json()["error"]["details"]) == {"unit_id", "community_id"}
    resp = file(client, login("unit1"), city, resources=[""])
    assert resp.status_code == 422 and "resources" in resp.get_json()["error"]["details"]


def test_decide_by_other_staff_is_403_and_reject_needs_reason(client, city, login):
    rid = file(client, login("unit1"), city).get_json()["id"]
    resp = client.post(f"/api/v1/unit-reports/{rid}/decision", json={"approve": True}, headers=login("staff2"))
    assert resp.status_code == 403
    resp = client.post(f"/api/v1/unit-reports/{rid}/decision", json={"approve": False}, headers=login("staff1"))
    assert resp.status_code == 422 and "reason" in resp.get_json()["error"]["details"]


def test_lists_for_staff_and_unit(client, city, login):
    unit = login("unit1")
    a = file(client, unit, city).get_json()["id"]
    b = file(client, unit, city, community_id=city.c2.id).get_json()["id"]
    staff = login("staff1")
    items = client.get(f"/api/v1/communities/{city.c1.id}/unit-reports?status=pending", headers=staff).get_json()["items"]
    assert [i["id"] for i in items] == [a]
    assert client.get(f"/api/v1/communities/{city.c1.id}/unit-reports", headers=login("staff2")).status_code == 403
    mine = client.get(f"/api/v1/units/{city.u1.id}/unit-reports", headers=unit).get_json()["items"]
    assert [i["id"] for i in mine] == [b, a]
    assert client.get(f"/api/v1/units/{city.u1.id}/unit-reports", headers=login("unit2")).status_code == 403
    assert client.get(f"/api/v1/unit-reports/{a}", headers=staff).status_code == 200
    assert client.get(f"/api/v1/unit-reports/{a}", headers=login("staff3")).status_code == 403


def test_me_shows_the_unit_reports_to_its_admins(client, city, login):
    unit_admin = login("unit1")
    assert client.get("/api/v1/me", headers=unit_admin).get_json()["reports"] == []
    first = file(client, unit_admin, city).get_json()["id"]
    second = file(client, unit_admin, city, community_id=city.c2.id).get_json()["id"]
    client.post(f"/api/v1/unit-reports/{first}/decision", json={"approve": True}, headers=login("staff1"))
    reports = client.get("/api/v1/me", headers=unit_admin).get_json()["reports"]
    assert [(r["kind"], r["id"], r["status"], r["community_name"]) for r in reports] == [
        ("unit", second, "pending", "二社区"), ("unit", first, "approved", "一社区")]
    assert reports[1]["resources"] == ["医疗义诊", "场地"] and reports[1]["decided_at"].endswith("+08:00")
    assert client.get("/api/v1/me", headers=login("unit2")).get_json()["reports"] == []  # another unit's admin
    assert client.get("/api/v1/me", headers=login("staff1")).get_json()["reports"] == []
