"""Service-level checks: what other domains read, and the rules without HTTP."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from backend.errors import DomainError
from backend.extensions import db
from backend.reports import services
from backend.reports.models import MemberReport


def file(city, user, community=None, **kw):
    return services.file_member_report(user, community_id=(community or city.c1).id, unit_id=city.u1.id,
                                       name="王五", phone=kw.pop("phone", "13700001111"), **kw)


def test_skills_and_approved_report(city):
    r = file(city, city.resident, skills=["驾驶", "信息技术", "驾驶"])
    assert r.skills == ["驾驶", "信息技术"]
    assert services.skills_of(city.resident.id) == [] and services.approved_report(city.resident.id) is None
    services.decide_member_report(city.staff1, r.id, True)
    assert services.skills_of(city.resident.id) == ["驾驶", "信息技术"]
    assert services.approved_report(city.resident.id).id == r.id
    assert [d["status"] for d in services.reports_for_user(city.resident)] == ["approved"]


def test_service_rules_raise_domain_errors(city):
    with pytest.raises(DomainError) as exc:
        file(city, city.resident, skills=["不存在"])
    assert exc.value.code == "VALIDATION_ERROR" and "skills" in exc.value.details
    r = file(city, city.resident)
    with pytest.raises(DomainError) as exc:
        file(city, city.resident, community=city.c2)
    assert exc.value.code == "ALREADY_REPORTED"
    with pytest.raises(DomainError) as exc:
        services.decide_member_report(city.staff3, r.id, True)
    assert exc.value.code == "FORBIDDEN"
    with pytest.raises(DomainError) as exc:
        services.decide_member_report(city.staff1, r.id, False, "  ")
    assert exc.value.code == "VALIDATION_ERROR"
    assert db.session.get(MemberReport, r.id).status == "pending"


def test_admin_may_decide(city):
    r = file(city, city.resident)
    assert services.decide_member_report(city.admin, r.id, True).status == "approved"


def test_months_before_clamps_month_end():
    assert services.months_before(datetime(2027, 8, 31, tzinfo=timezone.utc), 6) == datetime(2027, 2, 28, tzinfo=timezone.utc)
    assert services.months_before(datetime(2027, 1, 15, tzinfo=timezone.utc), 1) == datetime(2026, 12, 15, tzinfo=timezone.utc)


def test_demo_seed(client, login):
    from backend.seed import seed_demo

    assert seed_demo()
    member = login("demo-member")
    me = client.get("/api/v1/me", headers=member).get_json()
    assert [r["status"] for r in me["reports"]] == ["approved"]
    assert any(r["role"] == "member" for r in me["roles"])
    staff = login("demo-staff")
    cid = next(r["community_id"] for r in client.get("/api/v1/me", headers=staff).get_json()["roles"] if r["role"] == "staff")
    pending = client.get(f"/api/v1/communities/{cid}/member-reports?status=pending", headers=staff).get_json()
    assert len(pending["items"]) >= 1  # other domains' seeds may add reports
    units = client.get(f"/api/v1/communities/{cid}/unit-reports", headers=staff).get_json()["items"]
    assert sorted(u["status"] for u in units) == ["approved", "pending"]
    unit = login("demo-unit")
    uid = next(r["unit_id"] for r in client.get("/api/v1/me", headers=unit).get_json()["roles"] if r["role"] == "unit_admin")
    view = client.get(f"/api/v1/units/{uid}/members", headers=unit).get_json()
    assert view["counts"]["total"] >= 5 and view["counts"]["reported"] >= 1 and view["counts"]["not_reported"] >= 1
    assert all("****" in i["phone"] for i in view["items"])


def test_staff_search_the_community_s_reports_by_name(client, city, login):
    from backend.seed import user_for

    for name in ("张卫国", "张伟", "李建国", "50%_张"):
        person = user_for(f"q-{name}", name=name)
        report = services.file_member_report(person, community_id=city.c1.id, unit_id=city.u1.id, name=name,
                                             phone="13900001111")
        if name != "张伟":
            services.decide_member_report(city.staff1, report.id, True)
    db.session.commit()
    staff = login("staff1")

    def names(**query):
        resp = client.get(f"/api/v1/communities/{city.c1.id}/member-reports", query_string=query, headers=staff)
        assert resp.status_code == 200, resp.get_json()
        return sorted(r["name"] for r in resp.get_json()["items"])

    assert names(q="张") == ["50%_张", "张伟", "张卫国"]
    assert names(q="张", status="approved") == ["50%_张", "张卫国"]
    assert names(q="建国") == ["李建国"] and names(q="%") == ["50%_张"] and names(q="_") == ["50%_张"]
    assert names(q="王") == []
    resp = client.get(f"/api/v1/communities/{city.c1.id}/member-reports", query_string={"q": "x" * 51}, headers=staff)
    assert resp.status_code == 422
