"""Who holds a scope's role (GET /roles) and taking it away (DELETE /roles/{id})."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.auth.models import RoleGrant
from backend.extensions import db
from tests.helpers import error_code


def _holders(client, headers, **scope):
    return client.get("/api/v1/roles", query_string=scope, headers=headers)


def _grant(client, headers, **body):
    resp = client.post("/api/v1/roles", json=body, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_a_community_s_staff_listed_with_names_and_never_phones(client, city, login):
    extra = _grant(client, login("staff1"), user_id=city.resident.id, role="staff", community_id=city.c1.id)
    body = _holders(client, login("streetadm"), community_id=city.c1.id).get_json()
    assert [(i["user_id"], i["name"], i["role"]) for i in body["items"]] == [
        (city.staff1.id, "staff1", "staff"), (city.resident.id, "resident", "staff")]
    row = body["items"][1]
    assert row["id"] == extra["id"] and row["community_id"] == city.c1.id and row["granted_by_id"] == city.staff1.id
    assert row["granted_at"].endswith("+08:00") and "phone" not in row
    # the staff of the community see their colleagues; a unit's admins, a street's admins, the admins
    assert [i["user_id"] for i in _holders(client, login("staff1"), community_id=city.c1.id).get_json()["items"]] \
        == [city.staff1.id, city.resident.id]
    assert [i["user_id"] for i in _holders(client, login("streetadm"), unit_id=city.u1.id).get_json()["items"]] \
        == [city.unit1.id]
    assert [i["user_id"] for i in _holders(client, login("admin"), street_id=city.street.id).get_json()["items"]] \
        == [city.streetadm.id]
    assert [i["user_id"] for i in _holders(client, login("admin")).get_json()["items"]] == [city.admin.id]


def test_pages(client, city, login):
    h = login("admin")
    for who in (city.resident, city.member, city.member2, city.staff2):
        _grant(client, h, user_id=who.id, role="staff", community_id=city.c1.id)
    first = _holders(client, h, community_id=city.c1.id, limit=2).get_json()
    second = _holders(client, h, community_id=city.c1.id, limit=2, cursor=first["next_cursor"]).get_json()
    third = _holders(client, h, community_id=city.c1.id, limit=2, cursor=second["next_cursor"]).get_json()
    ids = [i["user_id"] for p in (first, second, third) for i in p["items"]]
    assert ids == [city.staff1.id, city.resident.id, city.member.id, city.member2.id, city.staff2.id]
    assert third["next_cursor"] is None


@pytest.mark.parametrize("who,scope,status", [
    ("staff1", {"community_id": "c2"}, 403),  # another community
    ("staff2", {"community_id": "c1"}, 403),
    ("member", {"community_id": "c1"}, 403),
    ("unit1", {"unit_id": "u1"}, 403),  # a unit admin grants nothing
    ("streetadm", {"community_id": "c3"}, 403),  # another street
    ("streetadm", {"unit_id": "u2"}, 403),
    ("streetadm", {"street_id": "other_street"}, 403),
    ("streetadm", {}, 403),  # the admins: admin only
    ("staff1", {}, 403),
    ("admin", {"community_id": 99999}, 404),
    ("admin", {"community_id": "c1", "unit_id": "u1"}, 422),
])
def test_who_may_list(client, city, login, who, scope, status):
    query = {k: getattr(city, v).id if isinstance(v, str) else v for k, v in scope.items()}
    resp = _holders(client, login(who), **query)
    assert resp.status_code == status, resp.get_json()
    assert "items" not in resp.get_json()


def test_revoked_role_ends_with_the_next_request_and_is_audited(client, city, login):
    grant = _grant(client, login("admin"), user_id=city.resident.id, role="staff", community_id=city.c1.id)
    newcomer = login("resident")
    assert client.get(f"/api/v1/communities/{city.c1.id}/tasks", headers=newcomer).status_code == 200
    staff = login("staff1")
    assert client.delete(f"/api/v1/roles/{grant['id']}", headers=staff).status_code == 204
    # the same token: the role is read per request, so it is gone at once
    resp = client.get(f"/api/v1/communities/{city.c1.id}/tasks", headers=newcomer)
    assert resp.status_code == 403 and error_code(resp) == "FORBIDDEN"
    me = client.get("/api/v1/me", headers=newcomer).get_json()
    assert {"role": "staff", "community_id": city.c1.id} not in me["roles"]
    assert [i["user_id"] for i in _holders(client, staff, community_id=city.c1.id).get_json()["items"]] \
        == [city.staff1.id]
    row = db.session.get(RoleGrant, grant["id"])
    assert row is not None and row.revoked_at is not None  # kept as history
    logs = db.session.scalars(select(AuditLog).where(AuditLog.action == "role.revoke")).all()
    assert len(logs) == 1 and logs[0].actor_id == city.staff1.id and logs[0].object_id == grant["id"]
    assert logs[0].community_id == city.c1.id and logs[0].street_id == city.street.id
    # again: nothing changes, nothing more is recorded
    assert client.delete(f"/api/v1/roles/{grant['id']}", headers=staff).status_code == 204
    assert db.session.scalar(select(db.func.count(AuditLog.id)).where(AuditLog.action == "role.revoke")) == 1
    # granted again later: a new row, the old one untouched
    again = _grant(client, login("admin"), user_id=city.resident.id, role="staff", community_id=city.c1.id)
    assert again["id"] != grant["id"]
    assert client.get(f"/api/v1/communities/{city.c1.id}/tasks", headers=newcomer).status_code == 200


def _grant_id(user, role, **scope):
    return db.session.scalar(select(RoleGrant.id).where(
        RoleGrant.user_id == user.id, RoleGrant.role == role, RoleGrant.revoked_at.is_(None),
        *[getattr(RoleGrant, k) == v for k, v in scope.items()]))


@pytest.mark.parametrize("who,target,status,code", [
    ("staff2", "staff1", 403, "FORBIDDEN"),  # another community's staff
    ("staff1", "staff1", 403, "FORBIDDEN"),  # one's own
    ("streetadm", "streetadm", 403, "FORBIDDEN"),
    ("streetadm", "staff3", 403, "FORBIDDEN"),  # another street's community
    ("streetadm", "unit2", 403, "FORBIDDEN"),
    ("unit1", "unit1", 403, "FORBIDDEN"),
    ("staff1", "member", 403, "FORBIDDEN"),
    ("streetadm", "member", 409, "INVALID_STATE"),  # a member's role follows the report
    ("member", "staff1", 403, "FORBIDDEN"),
    ("streetadm", "admin", 403, "FORBIDDEN"),
])
def test_who_may_revoke(client, city, login, who, target, status, code):
    roles = {"staff1": ("staff", {"community_id": city.c1.id}), "staff3": ("staff", {"community_id": city.c3.id}),
             "streetadm": ("street_admin", {"street_id": city.street.id}), "unit1": ("unit_admin", {"unit_id": city.u1.id}),
             "unit2": ("unit_admin", {"unit_id": city.u2.id}), "member": ("member", {"community_id": city.c1.id}),
             "admin": ("admin", {})}
    role, scope = roles[target]
    gid = _grant_id(getattr(city, target), role, **scope)
    resp = client.delete(f"/api/v1/roles/{gid}", headers=login(who))
    assert resp.status_code == status and error_code(resp) == code, resp.get_json()
    db.session.expire_all()
    assert db.session.get(RoleGrant, gid).revoked_at is None


def test_street_admin_and_admin_revoke_within_their_reach(client, city, login):
    street, admin = login("streetadm"), login("admin")
    for gid in (_grant_id(city.staff2, "staff", community_id=city.c2.id), _grant_id(city.unit1, "unit_admin", unit_id=city.u1.id)):
        assert client.delete(f"/api/v1/roles/{gid}", headers=street).status_code == 204
    assert client.delete(f"/api/v1/roles/{_grant_id(city.streetadm, 'street_admin', street_id=city.street.id)}",
                         headers=admin).status_code == 204
    assert client.get(f"/api/v1/streets/{city.street.id}/dashboard", headers=street).status_code == 403
    assert client.delete("/api/v1/roles/99999", headers=admin).status_code == 404
