"""Member reports through the API: filing, deciding, moving house, validation and access."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import time_machine
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.auth.models import RoleGrant, User
from backend.extensions import db
from backend.notifications.models import Notification
from backend.reports.models import MemberReport
from tests.helpers import error_code


def body(city, **kw):
    data = {"community_id": city.c1.id, "unit_id": city.u1.id, "name": "李明", "phone": "13812345678",
            "skills": ["医疗护理", "驾驶"], "skills_other": "会手语"}
    data.update(kw)
    return data


def file(client, headers, city, **kw):
    return client.post("/api/v1/member-reports", json=body(city, **kw), headers=headers)


def decide(client, headers, report_id, approve=True, reason=None, kind="member-reports"):
    data = {"approve": approve} if reason is None else {"approve": approve, "reason": reason}
    return client.post(f"/api/v1/{kind}/{report_id}/decision", json=data, headers=headers)


def test_file_is_pending_and_visible_to_reporter_and_staff(client, city, login):
    me = login("resident")
    resp = file(client, me, city, grid_id=city.g1.id)
    assert resp.status_code == 201
    out = resp.get_json()
    assert out["status"] == "pending" and out["id"]
    assert out["skills"] == ["医疗护理", "驾驶"] and out["grid_name"] == "一网格"
    assert client.get(f"/api/v1/member-reports/{out['id']}", headers=me).status_code == 200
    staff = client.get(f"/api/v1/member-reports/{out['id']}", headers=login("staff1"))
    assert staff.get_json()["phone"] == "13812345678"
    assert client.get(f"/api/v1/member-reports/{out['id']}", headers=login("staff2")).status_code == 403
    assert client.get(f"/api/v1/member-reports/{out['id']}", headers=login("member")).status_code == 403


def test_approve_grants_member_role_notifies_and_audits(client, city, login):
    me = login("resident")
    rid = file(client, me, city).get_json()["id"]
    resp = decide(client, login("staff1"), rid)
    assert resp.status_code == 200
    out = resp.get_json()
    assert out["status"] == "approved" and out["decided_by_id"] == city.staff1.id and out["decided_at"]
    roles = client.get("/api/v1/me", headers=me).get_json()["roles"]
    assert {"role": "member", "community_id": city.c1.id} in roles
    user = db.session.get(User, city.resident.id)
    db.session.refresh(user)
    assert (user.name, user.phone) == ("李明", "13812345678")
    n = db.session.scalars(select(Notification).where(Notification.user_id == city.resident.id)).all()
    assert [(x.kind, x.data["status"]) for x in n] == [("report_decided", "approved")]
    audit = db.session.scalars(select(AuditLog).where(AuditLog.object_type == "member_report")).all()
    assert [(a.action, a.actor_id, a.object_id) for a in audit] == [("member_report.approve", city.staff1.id, rid)]


def test_reject_needs_reason_then_refile_allowed(client, city, login):
    me, staff = login("resident"), login("staff1")
    rid = file(client, me, city).get_json()["id"]
    resp = decide(client, staff, rid, approve=False)
    assert resp.status_code == 422 and "reason" in resp.get_json()["error"]["details"]
    resp = decide(client, staff, rid, approve=False, reason="单位信息有误")
    assert resp.status_code == 200 and resp.get_json()["status"] == "rejected"
    assert resp.get_json()["reason"] == "单位信息有误"
    assert not any(r["role"] == "member" for r in client.get("/api/v1/me", headers=me).get_json()["roles"])
    note = db.session.scalar(select(Notification).where(Notification.user_id == city.resident.id))
    assert note.data["status"] == "rejected" and note.data["reason"] == "单位信息有误"
    again = file(client, me, city)
    assert again.status_code == 201 and again.get_json()["id"] != rid


def test_second_live_report_is_409(client, city, login):
    me = login("resident")
    assert file(client, me, city).status_code == 201
    resp = file(client, me, city, community_id=city.c2.id)
    assert resp.status_code == 409 and error_code(resp) == "ALREADY_REPORTED"


def test_approved_report_blocks_same_community(client, city, login):
    me = login("resident")
    decide(client, login("staff1"), file(client, me, city).get_json()["id"])
    resp = file(client, me, city)
    assert resp.status_code == 409 and error_code(resp) == "ALREADY_REPORTED"


def test_deciding_twice_is_invalid_state(client, city, login):
    staff = login("staff1")
    rid = file(client, login("resident"), city).get_json()["id"]
    assert decide(client, staff, rid).status_code == 200
    resp = decide(client, staff, rid, approve=False, reason="重复")
    assert resp.status_code == 409 and error_code(resp) == "INVALID_STATE"


def test_moving_house_closes_old_report_on_approval(client, city, login):
    me = login("resident")
    old = file(client, me, city).get_json()["id"]
    decide(client, login("staff1"), old)
    new = file(client, me, city, community_id=city.c2.id)
    assert new.status_code == 201
    new_id = new.get_json()["id"]
    # while the move is pending the old report stays approved and the member role stays
    assert db.session.get(MemberReport, old).status == "approved"
    assert decide(client, login("staff2"), new_id).status_code == 200
    db.session.expire_all()
    old_row = db.session.get(MemberReport, old)
    assert old_row.status == "closed" and old_row.closed_at is not None
    roles = client.get("/api/v1/me", headers=me).get_json()["roles"]
    assert {"role": "member", "community_id": city.c2.id} in roles
    assert {"role": "member", "community_id": city.c1.id} not in roles
    revoked = db.session.scalar(select(RoleGrant).where(
        RoleGrant.user_id == city.resident.id, RoleGrant.community_id == city.c1.id))
    assert revoked.revoked_at is not None  # history kept
    reports = client.get("/api/v1/me", headers=me).get_json()["reports"]
    assert [(r["id"], r["status"]) for r in reports] == [(new_id, "approved"), (old, "closed")]


def test_stale_approved_report_may_be_renewed_in_same_community(client, city, login):
    with time_machine.travel(datetime(2027, 1, 10, 2, tzinfo=timezone.utc), tick=False):
        old = file(client, login("resident"), city).get_json()["id"]
        decide(client, login("staff1"), old)
    with time_machine.travel(datetime(2027, 5, 10, 2, tzinfo=timezone.utc), tick=False):
        assert error_code(file(client, login("resident"), city)) == "ALREADY_REPORTED"
    with time_machine.travel(datetime(2027, 7, 11, 2, tzinfo=timezone.utc), tick=False):
        me = login("resident")
        new_id = file(client, me, city, skills=["法律咨询"]).get_json()["id"]
        assert decide(client, login("staff1"), new_id).status_code == 200
        db.session.expire_all()
        assert db.session.get(MemberReport, old).status == "closed"
        roles = client.get("/api/v1/me", headers=me).get_json()["roles"]
        assert {"role": "member", "community_id": city.c1.id} in roles


@pytest.mark.parametrize("change, field", [
    ({"phone": "12812345678"}, "phone"),
    ({"phone": "1381234567"}, "phone"),
    ({"phone": "138123456789"}, "phone"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "李" * 65}, "name"),
    ({"skills": ["飞行"]}, "skills"),
    ({"nickname": "x"}, "nickname"),
    ({"community_id": "abc"}, "community_id"),
])
def test_bad_input_is_422_with_field(client, city, login, change, field):
    resp = file(client, login("resident"), city, **change)
    assert resp.status_code == 422 and error_code(resp) == "VALIDATION_ERROR"
    assert field in resp.get_json()["error"]["details"]


@pytest.mark.parametrize("field", ["community_id", "unit_id", "grid_id"])
def test_unknown_references_are_422(client, city, login, field):
    resp = file(client, login("resident"), city, **{field: 9999})
    assert resp.status_code == 422 and field in resp.get_json()["error"]["details"]


def test_grid_of_another_community_is_422(client, city, login):
    resp = file(client, login("resident"), city, community_id=city.c2.id, grid_id=city.g1.id)
    assert resp.status_code == 422 and "grid_id" in resp.get_json()["error"]["details"]


def test_missing_fields_are_422(client, city, login):
    resp = client.post("/api/v1/member-reports", json={}, headers=login("resident"))
    assert resp.status_code == 422
    assert {"community_id", "unit_id", "name", "phone"} <= set(resp.get_json()["error"]["details"])


def test_staff_of_other_community_cannot_decide_or_list(client, city, login):
    rid = file(client, login("resident"), city).get_json()["id"]
    other = login("staff2")
    resp = decide(client, other, rid)
    assert resp.status_code == 403 and error_code(resp) == "FORBIDDEN"
    assert client.get(f"/api/v1/communities/{city.c1.id}/member-reports", headers=other).status_code == 403
    assert decide(client, login("unit1"), rid).status_code == 403
    assert db.session.get(MemberReport, rid).status == "pending"


def test_unknown_report_is_404(client, city, login):
    assert decide(client, login("staff1"), 4242).status_code == 404


def test_staff_list_filters_by_status_and_pages(client, city, login):
    staff = login("staff1")
    ids = []
    for code in ("resident", "member", "member2"):
        ids.append(file(client, login(code), city, phone="1390000000" + str(len(ids))).get_json()["id"])
    decide(client, staff, ids[0])
    url = f"/api/v1/communities/{city.c1.id}/member-reports"
    pending = client.get(url + "?status=pending", headers=staff).get_json()
    assert [r["id"] for r in pending["items"]] == [ids[2], ids[1]]
    page1 = client.get(url + "?limit=2", headers=staff).get_json()
    page2 = client.get(url + f"?limit=2&cursor={page1['next_cursor']}", headers=staff).get_json()
    assert [r["id"] for r in page1["items"] + page2["items"]] == ids[::-1] and page2["next_cursor"] is None
    assert client.get(url + "?status=bogus", headers=staff).status_code == 422


def test_me_shows_reports_and_skills_list(client, city, login):
    me = login("resident")
    assert client.get("/api/v1/me", headers=me).get_json()["reports"] == []
    rid = file(client, me, city).get_json()["id"]
    reports = client.get("/api/v1/me", headers=me).get_json()["reports"]
    assert len(reports) == 1 and reports[0]["id"] == rid and reports[0]["status"] == "pending"
    assert reports[0]["community_name"] == "一社区" and reports[0]["created_at"].endswith("+08:00")
    skills = client.get("/api/v1/member-reports/skills", headers=me).get_json()["skills"]
    assert "医疗护理" in skills and len(skills) == 12


def test_requires_login(client, city):
    resp = client.post("/api/v1/member-reports", json=body(city))
    assert resp.status_code == 401 and error_code(resp) == "AUTH_REQUIRED"
    assert db.session.scalar(select(MemberReport)) is None
