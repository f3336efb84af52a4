"""The unit roster and the unit view: statuses, counts, masked phones, access."""
from __future__ import annotations

from sqlalchemy import select

from backend.extensions import db
from backend.reports import services
from backend.reports.models import UnitMember
from tests.helpers import error_code

ROSTER = [{"name": "甲", "phone": "13800000001"}, {"name": "乙", "phone": "13800000002"},
          {"name": "丙", "phone": "13800000003"}, {"name": "丁", "phone": "13800000004"}]


def report(user, city, phone, community=None, unit=None):
    return services.file_member_report(user, community_id=(community or city.c1).id,
                                       unit_id=(unit or city.u1).id, name=user.name, phone=phone)


def setup_reports(city):
    """甲 approved, 乙 pending, 丙 rejected, 丁 none; member2 reported to u1 but is off the roster."""
    a = report(city.resident, city, "13800000001")
    services.decide_member_report(city.staff1, a.id, True)
    report(city.member, city, "13800000002", community=city.c2)
    c = report(city.streetadm, city, "13800000003")
    services.decide_member_report(city.staff1, c.id, False, "信息不符")
    report(city.member2, city, "13911112222")
    db.session.commit()


def test_upsert_by_phone(client, city, login):
    unit = login("unit1")
    resp = client.post(f"/api/v1/units/{city.u1.id}/members", json={"members": ROSTER}, headers=unit)
    assert resp.status_code == 200 and resp.get_json() == {"created": 4, "updated": 0, "total": 4}
    resp = client.post(f"/api/v1/units/{city.u1.id}/members",
                       json={"members": [{"name": "甲改", "phone": "13800000001"}, {"name": "戊", "phone": "13800000005"}]},
                       headers=unit)
    assert resp.get_json() == {"created": 1, "updated": 1, "total": 5}
    names = sorted(db.session.scalars(select(UnitMember.name).where(UnitMember.unit_id == city.u1.id)))
    assert names == sorted(["甲改", "乙", "丙", "丁", "戊"])


def test_upsert_rejects_bad_rows(client, city, login):
    unit = login("unit1")
    url = f"/api/v1/units/{city.u1.id}/members"
    bad = client.post(url, json={"members": [{"name": "甲", "phone": "123"}]}, headers=unit)
    assert bad.status_code == 422 and "members" in bad.get_json()["error"]["details"]
    dup = client.post(url, json={"members": [ROSTER[0], ROSTER[0]]}, headers=unit)
    assert dup.status_code == 422 and dup.get_json()["error"]["details"]["members"]["1"]["phone"]
    assert client.post(url, json={"members": []}, headers=unit).status_code == 422
    assert db.session.scalar(select(UnitMember)) is None


def test_other_unit_admin_is_403(client, city, login):
    other = login("unit2")
    resp = client.post(f"/api/v1/units/{city.u1.id}/members", json={"members": ROSTER}, headers=other)
    assert resp.status_code == 403 and error_code(resp) == "FORBIDDEN"
    assert client.get(f"/api/v1/units/{city.u1.id}/members", headers=other).status_code == 403
    assert client.get(f"/api/v1/units/{city.u1.id}/members", headers=login("staff1")).status_code == 403
    assert client.get(f"/api/v1/units/{city.u2.id}/members", headers=login("streetadm")).status_code == 403


def test_unit_view_statuses_counts_and_masked_phones(client, city, login):
    setup_reports(city)
    client.post(f"/api/v1/units/{city.u1.id}/members", json={"members": ROSTER}, headers=login("unit1"))
    for who in ("unit1", "streetadm", "admin"):
        view = client.get(f"/api/v1/units/{city.u1.id}/members", headers=login(who))
        assert view.status_code == 200
    out = view.get_json()
    by_name = {i["name"]: i for i in out["items"]}
    assert {n: i["status"] for n, i in by_name.items()} == {
        "甲": "approved", "乙": "pending", "丙": "rejected", "丁": "not_reported", "member2": "pending"}
    assert by_name["甲"]["phone"] == "138****0001" and by_name["甲"]["community_name"] == "一社区"
    assert by_name["甲"]["reported_at"].endswith("+08:00")
    assert by_name["乙"]["community_name"] == "二社区"
    assert by_name["丁"]["community_name"] is None and by_name["丁"]["reported_at"] is None
    assert by_name["member2"]["on_roster"] is False and by_name["member2"]["phone"] == "139****2222"
    assert out["counts"] == {"reported": 1, "pending": 2, "not_reported": 2, "rejected": 1, "total": 5}
    text = view.get_data(as_text=True)
    assert "13800000001" not in text and "13911112222" not in text
    pending = client.get(f"/api/v1/units/{city.u1.id}/members?status=pending", headers=login("unit1")).get_json()
    assert {i["name"] for i in pending["items"]} == {"乙", "member2"} and pending["counts"]["total"] == 5


def test_unit_view_pages(client, city, login):
    unit = login("unit1")
    client.post(f"/api/v1/units/{city.u1.id}/members", json={"members": ROSTER}, headers=unit)
    url = f"/api/v1/units/{city.u1.id}/members"
    p1 = client.get(url + "?limit=3", headers=unit).get_json()
    p2 = client.get(url + f"?limit=3&cursor={p1['next_cursor']}", headers=unit).get_json()
    assert [i["name"] for i in p1["items"] + p2["items"]] == ["甲", "乙", "丙", "丁"]
    assert p2["next_cursor"] is None
    assert client.get(url + "?cursor=zz", headers=unit).status_code == 422


def test_remove_from_roster(client, city, login):
    unit = login("unit1")
    client.post(f"/api/v1/units/{city.u1.id}/members", json={"members": ROSTER}, headers=unit)
    mid = db.session.scalar(select(UnitMember.id).where(UnitMember.phone == "13800000004"))
    assert client.delete(f"/api/v1/units/{city.u1.id}/members/{mid}", headers=login("unit2")).status_code == 403
    assert client.delete(f"/api/v1/units/{city.u1.id}/members/{mid}", headers=unit).status_code == 204
    assert client.delete(f"/api/v1/units/{city.u1.id}/members/{mid}", headers=unit).status_code == 404
    view = client.get(f"/api/v1/units/{city.u1.id}/members", headers=unit).get_json()
    assert [i["name"] for i in view["items"]] == ["甲", "乙", "丙"] and view["counts"]["not_reported"] == 3


def test_approval_links_roster_row_to_user(city):
    from backend.reports import roster

    roster.upsert_roster(city.unit1, city.u1.id, ROSTER[:1])
    r = report(city.resident, city, "13800000001")
    row = db.session.scalar(select(UnitMember))
    assert row.user_id is None
    services.decide_member_report(city.staff1, r.id, True)
    db.session.refresh(row)
    assert row.user_id == city.resident.id
