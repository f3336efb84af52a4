"""Organisations and role grants, with role scoping."""
from tests.helpers import error_code


def test_search_communities_and_units(client, city, login):
    h = login("resident")
    items = client.get("/api/v1/communities?q=一", headers=h).get_json()["items"]
    assert [c["name"] for c in items] == ["一社区"]
    units = client.get("/api/v1/units?q=二", headers=h).get_json()["items"]
    assert [u["name"] for u in units] == ["二单位"]


def test_admin_creates_community_by_street_name(client, city, login):
    resp = client.post("/api/v1/communities", json={"name": "新社区", "street": "测试街道", "district": "测试区"},
                       headers=login("admin"))
    assert resp.status_code == 201
    assert resp.get_json()["street_id"] == city.street.id


def test_street_admin_only_in_own_street(client, city, login):
    h = login("streetadm")
    assert client.post("/api/v1/communities", json={"name": "甲", "street_id": city.street.id}, headers=h).status_code == 201
    resp = client.post("/api/v1/communities", json={"name": "乙", "street_id": city.other_street.id}, headers=h)
    assert resp.status_code == 403 and error_code(resp) == "FORBIDDEN"


def test_resident_cannot_create_units(client, city, login):
    resp = client.post("/api/v1/units", json={"name": "某公司"}, headers=login("resident"))
    assert resp.status_code == 403


def test_staff_scoped_to_own_community(client, city, login):
    h = login("staff1")
    assert client.post(f"/api/v1/communities/{city.c1.id}/grids", json={"name": "三网格"}, headers=h).status_code == 201
    resp = client.post(f"/api/v1/communities/{city.c2.id}/grids", json={"name": "三网格"}, headers=h)
    assert resp.status_code == 403 and error_code(resp) == "FORBIDDEN"


def test_staff_adds_staff_to_own_community_only(client, city, login):
    h = login("staff1")
    ok = client.post("/api/v1/roles", json={"user_id": city.resident.id, "role": "staff", "community_id": city.c1.id}, headers=h)
    assert ok.status_code == 201
    no = client.post("/api/v1/roles", json={"user_id": city.resident.id, "role": "staff", "community_id": city.c2.id}, headers=h)
    assert no.status_code == 403
    admin = client.post("/api/v1/roles", json={"user_id": city.resident.id, "role": "admin"}, headers=h)
    assert admin.status_code == 403
    me = client.get("/api/v1/me", headers=login("resident")).get_json()
    assert {"role": "staff", "community_id": city.c1.id} in me["roles"]
    assert {"role": "staff", "community_id": city.c2.id} not in me["roles"]


def test_role_needs_its_scope(client, city, login):
    resp = client.post("/api/v1/roles", json={"user_id": city.resident.id, "role": "staff"}, headers=login("admin"))
    assert resp.status_code == 422
    resp = client.post("/api/v1/roles", json={"user_id": city.resident.id, "role": "staff", "community_id": 99999},
                       headers=login("admin"))
    assert resp.status_code == 422


def test_grant_is_idempotent(client, city, login):
    h = login("admin")
    body = {"user_id": city.resident.id, "role": "unit_admin", "unit_id": city.u1.id}
    a = client.post("/api/v1/roles", json=body, headers=h).get_json()
    b = client.post("/api/v1/roles", json=body, headers=h).get_json()
    assert a["id"] == b["id"]


def test_street_admin_who_is_also_staff_elsewhere_keeps_both_rights(client, city, login):
    """Each grant rule may allow; the street rule refusing must not hide the staff rule."""
    from backend.auth.services import grant_role
    from backend.extensions import db

    grant_role(None, city.streetadm.id, "staff", community_id=city.c3.id)  # c3 is in the other street
    db.session.commit()
    h = login("streetadm")
    for cid in (city.c1.id, city.c3.id):
        resp = client.post("/api/v1/roles", json={"user_id": city.resident.id, "role": "staff", "community_id": cid},
                           headers=h)
        assert resp.status_code == 201, (cid, resp.get_json())
    other = client.post("/api/v1/roles", json={"user_id": city.resident.id, "role": "unit_admin", "unit_id": city.u2.id},
                        headers=h)
    assert other.status_code == 403  # u2 is in the other street
    me = client.get("/api/v1/me", headers=login("resident")).get_json()["roles"]
    assert {"role": "staff", "community_id": city.c3.id} in me and {"role": "staff", "community_id": city.c1.id} in me


def test_street_admin_creates_units_and_named_communities_only_in_own_street(client, city, login):
    from sqlalchemy import func, select

    from backend.extensions import db
    from backend.orgs.models import Street

    h = login("streetadm")
    unit = client.post("/api/v1/units", json={"name": "默认街道单位"}, headers=h)
    assert unit.status_code == 201 and unit.get_json()["street_id"] == city.street.id
    other = client.post("/api/v1/units", json={"name": "外街单位", "street_id": city.other_street.id}, headers=h)
    assert other.status_code == 403 and error_code(other) == "FORBIDDEN"
    by_name = client.post("/api/v1/communities", json={"name": "丙", "street": "测试街道"}, headers=h)
    assert by_name.status_code == 201 and by_name.get_json()["street_id"] == city.street.id
    streets = db.session.scalar(select(func.count()).select_from(Street))
    new_street = client.post("/api/v1/communities", json={"name": "丁", "street": "新街道", "district": "某区"}, headers=h)
    assert new_street.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Street)) == streets  # rolled back, nothing left
    admin = client.post("/api/v1/units", json={"name": "无街道单位"}, headers=login("admin"))
    assert admin.status_code == 201 and admin.get_json()["street_id"] is None


def test_org_creates_answer_a_retry_under_one_key_once(client, city, login):
    from sqlalchemy import func, select

    from backend.extensions import db
    from backend.orgs.models import Community, Grid, Unit

    street, staff = login("streetadm"), login("staff1")
    for path, body, headers, model in (
            ("/api/v1/communities", {"name": "重试社区", "street_id": city.street.id}, street, Community),
            ("/api/v1/units", {"name": "重试单位", "kind": "企业", "street_id": city.street.id}, street, Unit),
            (f"/api/v1/communities/{city.c1.id}/grids", {"name": "重试网格"}, staff, Grid)):
        h = {**headers, "Idempotency-Key": f"k-{model.__name__}"}
        first, again = (client.post(path, json=body, headers=h) for _ in range(2))
        assert first.status_code == again.status_code == 201 and again.get_json() == first.get_json()
        assert db.session.scalar(select(func.count(model.id)).where(model.name == body["name"])) == 1
