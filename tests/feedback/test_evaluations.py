"""Evaluations: staff of the member's community rate per quarter; versions kept; locked once issued."""
from __future__ import annotations

from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.extensions import db
from backend.feedback.models import Evaluation, EvaluationVersion
from backend.feedback.services import issue_feedback
from tests.helpers import error_code

URL = "/api/v1/communities/{}/evaluations"


def _rate(client, headers, community, user, period="2026-Q4", rating="优秀", comment="积极参加活动"):
    return client.post(URL.format(community.id), headers=headers,
                       json={"user_id": user.id, "period": period, "rating": rating, "comment": comment})


def test_rate_then_change_keeps_every_version_and_audits(client, login, city, report):
    report(city.member, city.c1, city.u1)
    staff = login("staff1")
    first = _rate(client, staff, city.c1, city.member)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["rating"] == "优秀" and body["version"] == 1 and body["locked"] is False
    assert body["name"] == "member姓名"
    second = _rate(client, staff, city.c1, city.member, rating="合格", comment="偶有缺席")
    assert second.status_code == 200 and second.get_json()["version"] == 2
    assert second.get_json()["id"] == body["id"]
    same = _rate(client, staff, city.c1, city.member, rating="合格", comment="偶有缺席")
    assert same.status_code == 200 and same.get_json()["version"] == 2  # nothing changed, no version
    assert db.session.query(Evaluation).count() == 1
    history = client.get(f"/api/v1/evaluations/{body['id']}/history", headers=staff).get_json()["items"]
    assert [(h["version"], h["rating"], h["comment"]) for h in history] == [(1, "优秀", "积极参加活动"), (2, "合格", "偶有缺席")]
    actions = list(db.session.scalars(select(AuditLog.action).where(AuditLog.object_type == "evaluation")
                                      .order_by(AuditLog.id)))
    assert actions == ["evaluation.create", "evaluation.update"]
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "evaluation.update"))
    assert row.changes["before"]["rating"] == "优秀" and row.changes["after"]["rating"] == "合格"
    assert row.actor_id == city.staff1.id and row.community_id == city.c1.id


def test_one_rating_per_period_and_community(client, login, city, report):
    report(city.member, city.c1, city.u1)
    staff = login("staff1")
    assert _rate(client, staff, city.c1, city.member, period="2026-Q3").status_code == 201
    assert _rate(client, staff, city.c1, city.member, period="2026-Q4").status_code == 201
    listed = client.get(URL.format(city.c1.id) + "?period=2026-Q3", headers=staff).get_json()
    assert [i["period"] for i in listed["items"]] == ["2026-Q3"]
    assert len(client.get(URL.format(city.c1.id), headers=staff).get_json()["items"]) == 2


def test_only_approved_members_of_the_community_and_only_its_staff(client, login, city, report):
    report(city.member, city.c2, city.u1)  # approved, but in c2
    report(city.member2, city.c1, city.u1, phone="13900000002", status="pending")
    staff = login("staff1")
    for user in (city.member, city.member2, city.resident):
        resp = _rate(client, staff, city.c1, user)
        assert resp.status_code == 422 and "user_id" in resp.get_json()["error"]["details"]
    assert error_code(_rate(client, login("staff1"), city.c2, city.member)) == "FORBIDDEN"
    assert _rate(client, login("staff2"), city.c2, city.member).status_code == 201
    assert client.get(URL.format(city.c2.id), headers=login("unit1")).status_code == 403


def test_bad_input_is_422_with_details(client, login, city, report):
    report(city.member, city.c1, city.u1)
    staff = login("staff1")
    for period in ("2026-13", "2026Q4", "2026-Q5", "Q4", ""):
        resp = _rate(client, staff, city.c1, city.member, period=period)
        assert resp.status_code == 422 and "period" in resp.get_json()["error"]["details"], period
    resp = _rate(client, staff, city.c1, city.member, rating="很好")
    assert resp.status_code == 422 and "rating" in resp.get_json()["error"]["details"]
    resp = client.post(URL.format(city.c1.id), headers=staff, json={"period": "2026-Q4", "rating": "合格"})
    assert resp.status_code == 422 and "user_id" in resp.get_json()["error"]["details"]
    assert client.get(URL.format(city.c1.id) + "?period=bad", headers=staff).status_code == 422


def test_locked_once_the_units_feedback_is_issued(client, login, city, report):
    report(city.member, city.c1, city.u1)
    staff = login("staff1")
    assert _rate(client, staff, city.c1, city.member).status_code == 201
    assert issue_feedback(city.u1.id, "2026-Q4") is not None
    db.session.commit()
    resp = _rate(client, staff, city.c1, city.member, rating="不合格")
    assert resp.status_code == 409 and error_code(resp) == "INVALID_STATE"
    db.session.expire_all()
    assert db.session.scalar(select(Evaluation.rating)) == "优秀"
    assert db.session.query(EvaluationVersion).count() == 1
    listed = client.get(URL.format(city.c1.id) + "?period=2026-Q4", headers=staff).get_json()["items"]
    assert listed[0]["locked"] is True
    # another quarter of the same unit is still open
    assert _rate(client, staff, city.c1, city.member, period="2027-Q1").status_code == 201


def test_issuing_by_street_admin_locks_and_only_once(client, login, city, report):
    report(city.member, city.c1, city.u1)
    resp = client.post(f"/api/v1/units/{city.u1.id}/feedback-issues", json={"period": "2026-Q4"},
                       headers=login("streetadm"))
    assert resp.status_code == 201 and resp.get_json()["summary"]["total"] == 1
    again = client.post(f"/api/v1/units/{city.u1.id}/feedback-issues", json={"period": "2026-Q4"},
                        headers=login("streetadm"))
    assert again.status_code == 409
    assert client.post(f"/api/v1/units/{city.u1.id}/feedback-issues", json={"period": "2026-Q3"},
                       headers=login("unit1")).status_code == 403
    assert _rate(client, login("staff1"), city.c1, city.member).status_code == 409
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.action == "feedback.issue")) == "feedback.issue"
