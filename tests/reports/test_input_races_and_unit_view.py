"""双报到, organisations, role grants and login — bad input, races and scoping."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from backend.auth.models import RoleGrant
from backend.extensions import db
from backend.orgs.models import Community, Grid, Unit
from backend.reports.models import MemberReport, UnitMember
from tests.helpers import error_code, needs_pg, run_threads


def report_body(city, **kw):
    data = {"community_id": city.c1.id, "unit_id": city.u1.id, "name": "李明", "phone": "13812345678"}
    data.update(kw)
    return data


# -- phone numbers: exactly 11 ASCII digits, nothing after them ---------------------------------

@pytest.mark.parametrize("phone", [
    "13812345678\n",  # `$` also matches before a trailing newline
    "13８12345678",  # a full-width digit is \d to Python's re
    "138١2345678",  # so is an Arabic-Indic one
])
def test_member_report_phone_must_be_eleven_ascii_digits(client, city, login, phone):
    resp = client.post("/api/v1/member-reports", json=report_body(city, phone=phone), headers=login("resident"))
    assert resp.status_code == 422 and "phone" in resp.get_json()["error"]["details"]
    assert db.session.scalar(select(func.count(MemberReport.id))) == 0


def test_roster_phone_must_be_eleven_ascii_digits(client, city, login):
    """A roster row with a phone that no report can ever match is refused, not stored."""
    resp = client.post(f"/api/v1/units/{city.u1.id}/members",
                       json={"members": [{"name": "甲", "phone": "13800000001\n"}]}, headers=login("unit1"))
    assert resp.status_code == 422
    assert db.session.scalar(select(func.count(UnitMember.id))) == 0


# -- the unit view's offset cursor ---------------------------------------------------------------

@pytest.mark.parametrize("cursor", ["²", "١"])  # str.isdigit() is true for both
def test_unit_view_bad_cursor_is_422_not_500(client, city, login, cursor):
    resp = client.get(f"/api/v1/units/{city.u1.id}/members", query_string={"cursor": cursor},
                      headers=login("unit1"))
    assert resp.status_code == 422 and error_code(resp) == "VALIDATION_ERROR"
    assert "cursor" in resp.get_json()["error"]["details"]


# -- concurrent creation of the same organisation -------------------------------------------------

def _race(app, n, call):
    """Run call(client) in n threads at once; the status codes, sorted."""
    barrier = threading.Barrier(n)
    codes = []

    def run():
        c = app.test_client()
        barrier.wait()
        codes.append(call(c))

    run_threads(*[run] * n)
    return sorted(codes)


@needs_pg
def test_concurrent_same_grid_is_one_201_and_409s(app, city, login):
    h, cid = login("staff1"), city.c1.id
    db.session.commit()
    codes = _race(app, 6, lambda c: c.post(f"/api/v1/communities/{cid}/grids", json={"name": "并发网格"},
                                           headers=h).status_code)
    assert codes == [201] + [409] * 5
    assert db.session.scalar(select(func.count(Grid.id)).where(Grid.name == "并发网格")) == 1


@needs_pg
def test_concurrent_same_unit_is_one_201_and_409s(app, city, login):
    h = login("admin")
    db.session.commit()
    codes = _race(app, 6, lambda c: c.post("/api/v1/units", json={"name": "并发单位"}, headers=h).status_code)
    assert codes == [201] + [409] * 5
    assert db.session.scalar(select(func.count(Unit.id)).where(Unit.name == "并发单位")) == 1


@needs_pg
def test_concurrent_same_community_is_one_201_and_409s(app, city, login):
    h, sid = login("admin"), city.street.id
    db.session.commit()
    codes = _race(app, 6, lambda c: c.post("/api/v1/communities", json={"name": "并发社区", "street_id": sid},
                                           headers=h).status_code)
    assert codes == [201] + [409] * 5
    assert db.session.scalar(select(func.count(Community.id)).where(Community.name == "并发社区")) == 1


@needs_pg
def test_concurrent_communities_under_one_new_street_name(app, city, login):
    """Two communities named under the same new street at once: both made, under one street."""
    h = login("admin")
    db.session.commit()
    names = iter(["甲社区", "乙社区", "丙社区", "丁社区"])
    lock = threading.Lock()

    def call(c):
        with lock:
            name = next(names)
        return c.post("/api/v1/communities", json={"name": name, "street": "新街道"}, headers=h).status_code

    assert _race(app, 4, call) == [201] * 4
    from backend.orgs.models import Street

    assert db.session.scalar(select(func.count(Street.id)).where(Street.name == "新街道")) == 1


@needs_pg
def test_concurrent_identical_grants_make_one_grant(app, city, login):
    h, uid, cid = login("admin"), city.resident.id, city.c2.id
    db.session.commit()
    codes = _race(app, 6, lambda c: c.post("/api/v1/roles", json={"user_id": uid, "role": "staff", "community_id": cid},
                                           headers=h).status_code)
    assert codes == [201] * 6
    assert db.session.scalar(select(func.count(RoleGrant.id)).where(
        RoleGrant.user_id == uid, RoleGrant.role == "staff", RoleGrant.revoked_at.is_(None))) == 1
    roles = client_roles = app.test_client().get("/api/v1/me", headers=login("resident")).get_json()["roles"]
    assert client_roles.count({"role": "staff", "community_id": cid}) == 1, roles


# -- the unit view: who counts as one of the unit's members ----------------------------------------

def _file_and_decide(client, login, city, who, unit, approve, reason=None):
    rid = client.post("/api/v1/member-reports", json=report_body(city, unit_id=unit.id, phone="13955556666"),
                      headers=login(who)).get_json()["id"]
    data = {"approve": approve, **({"reason": reason} if reason else {})}
    assert client.post(f"/api/v1/member-reports/{rid}/decision", json=data, headers=login("staff1")).status_code == 200
    return rid


def test_report_rejected_for_wrong_unit_then_filed_to_right_unit_leaves_the_wrong_units_view(client, city, login):
    """Rejected because the unit was wrong (单位信息有误), filed again naming the right unit and
    approved: the wrong unit no longer lists the person, as not reported or at all (name, masked
    phone and community are not its business), and the right unit lists them as reported."""
    _file_and_decide(client, login, city, "resident", city.u1, False, "单位信息有误")
    _file_and_decide(client, login, city, "resident", city.u2, True)
    wrong = client.get(f"/api/v1/units/{city.u1.id}/members", headers=login("unit1")).get_json()
    assert wrong["items"] == [] and wrong["counts"]["total"] == 0, wrong
    right = client.get(f"/api/v1/units/{city.u2.id}/members", headers=login("unit2")).get_json()
    assert [(i["user_id"], i["status"]) for i in right["items"]] == [(city.resident.id, "approved")]


def test_closed_account_is_not_listed_by_the_unit(client, city, login):
    """A rejected reporter who then closed the account is erased: the unit named in that report
    does not keep listing an "已注销用户" as one of its unreported members."""
    me = login("resident")
    _file_and_decide(client, login, city, "resident", city.u1, False, "信息不全")
    assert client.delete("/api/v1/me", headers=me).status_code == 204
    view = client.get(f"/api/v1/units/{city.u1.id}/members", headers=login("unit1")).get_json()
    assert view["items"] == [] and view["counts"]["not_reported"] == 0, view
