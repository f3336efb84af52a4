"""Households: the link limit, visits by linked members only, the geofence, confirmation once,
the unvisited list, and who sees phone and address."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from backend.auth.services import grant_role
from backend.extensions import db
from backend.partywork import households as svc
from backend.seed import user_for
from tests.helpers import error_code
from tests.partywork.conftest import audit_actions, balance

NOW = datetime(2026, 11, 10, 2, 0, tzinfo=timezone.utc)
HOME = {"lat": 30.5728, "lng": 114.2790}


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _household(client, headers, community_id, **kw):
    body = {"address": "幸福里小区3栋2单元501室", "head_name": "刘奶奶", "phone": "13812345678",
            "tags": ["孤寡老人", "空巢"], "building": "3栋", **HOME, **kw}
    return client.post(f"/api/v1/communities/{community_id}/households", json=body, headers=headers)


def test_link_limit_sixth_is_409(client, login, city):
    staff = login("staff1")
    ids = [_household(client, staff, city.c1.id, address=f"幸福路{i}号").get_json()["id"] for i in range(6)]
    for hid in ids[:5]:
        r = client.post(f"/api/v1/households/{hid}/links", json={"user_id": city.member.id}, headers=staff)
        assert r.status_code == 201, r.get_json()
    again = client.post(f"/api/v1/households/{ids[0]}/links", json={"user_id": city.member.id}, headers=staff)
    assert again.status_code == 201  # the same link again is not a sixth one
    sixth = client.post(f"/api/v1/households/{ids[5]}/links", json={"user_id": city.member.id}, headers=staff)
    assert sixth.status_code == 409 and error_code(sixth) == "LINK_LIMIT"
    # ending one link frees a place
    assert client.delete(f"/api/v1/households/{ids[0]}/links/{city.member.id}", headers=staff).status_code == 204
    assert client.post(f"/api/v1/households/{ids[5]}/links", json={"user_id": city.member.id},
                       headers=staff).status_code == 201
    assert len(client.get("/api/v1/me/households", headers=login("member")).get_json()["items"]) == 5
    assert "household.link" in audit_actions("household")


def test_link_member_of_another_community_is_rejected(client, login, city, other_member):
    staff = login("staff1")
    hid = _household(client, staff, city.c1.id).get_json()["id"]
    for uid in (other_member.id, city.resident.id):
        r = client.post(f"/api/v1/households/{hid}/links", json={"user_id": uid}, headers=staff)
        assert r.status_code == 422 and "user_id" in r.get_json()["error"]["details"]
    assert client.post(f"/api/v1/households/{hid}/links", json={"user_id": city.member.id},
                       headers=login("staff2")).status_code == 403


def test_visits_geofence_and_confirm_once(client, login, city):
    staff, member = login("staff1"), login("member")
    hid = _household(client, staff, city.c1.id).get_json()["id"]
    client.post(f"/api/v1/households/{hid}/links", json={"user_id": city.member.id}, headers=staff)
    url = f"/api/v1/households/{hid}/visits"
    body = {"visited_at": "2026-11-10T09:00:00+08:00", "minutes": 90, "note": "陪老人聊天，检查燃气"}
    not_linked = client.post(url, json=body, headers=login("member2"))
    assert not_linked.status_code == 403 and error_code(not_linked) == "FORBIDDEN"
    far = client.post(url, json={**body, "lat": 30.60, "lng": 114.30}, headers=member)
    assert far.status_code == 422 and error_code(far) == "OUT_OF_RANGE"
    for bad in ({"minutes": 0}, {"minutes": 1441}, {"lat": 30.5}, {"visited_at": "2026-11-11T09:00:00+08:00"}):
        assert client.post(url, json={**body, **bad}, headers=member).status_code == 422, bad
    near = client.post(url, json={**body, "lat": 30.5730, "lng": 114.2792}, headers=member)
    assert near.status_code == 201 and near.get_json()["distance_m"] < 50
    no_coords = client.post(url, json={**body, "visited_at": "2026-11-10T08:00:00+08:00"}, headers=member)
    assert no_coords.status_code == 201 and no_coords.get_json()["distance_m"] is None
    ids = [near.get_json()["id"], no_coords.get_json()["id"]]
    pending = client.get(f"/api/v1/communities/{city.c1.id}/visits?status=pending", headers=staff).get_json()
    assert sorted(v["id"] for v in pending["items"]) == sorted(ids)
    confirm = f"/api/v1/communities/{city.c1.id}/visits/confirm"
    assert client.post(confirm, json={"visit_ids": ids}, headers=member).status_code == 403
    assert client.post(confirm, json={"visit_ids": ids}, headers=staff).get_json() == {"awarded": 2, "points": 30}
    assert client.post(confirm, json={"visit_ids": ids}, headers=staff).get_json() == {"awarded": 0, "points": 0}
    assert balance(city.member.id) == 30
    visits = client.get(url, headers=member).get_json()["items"]
    assert {v["status"] for v in visits} == {"confirmed"}
    assert "visit.confirm" in audit_actions()


def test_unvisited_list(client, login, city):
    staff = login("staff1")
    a = _household(client, staff, city.c1.id, address="甲路1号").get_json()["id"]
    b = _household(client, staff, city.c1.id, address="乙路2号").get_json()["id"]
    c = _household(client, staff, city.c1.id, address="丙路3号").get_json()["id"]
    for hid in (a, b):
        client.post(f"/api/v1/households/{hid}/links", json={"user_id": city.member.id}, headers=staff)
    member = login("member")
    for hid, days in ((a, 40), (b, 3)):
        at = (NOW - timedelta(days=days)).isoformat()
        assert client.post(f"/api/v1/households/{hid}/visits", json={"visited_at": at, "minutes": 30},
                           headers=member).status_code == 201
    listed = client.get(f"/api/v1/communities/{city.c1.id}/households?unvisited_days=30", headers=staff).get_json()
    assert sorted(h["id"] for h in listed["items"]) == [a, c]
    everything = client.get(f"/api/v1/communities/{city.c1.id}/households", headers=staff).get_json()["items"]
    assert {h["id"]: h["overdue"] for h in everything} == {a: True, b: False, c: True}
    bad = client.get(f"/api/v1/communities/{city.c1.id}/households?unvisited_days=-1", headers=staff)
    assert bad.status_code == 422


def test_phone_and_address_private_to_linked_member_and_staff(client, login, city):
    staff = login("staff1")
    hid = _household(client, staff, city.c1.id).get_json()["id"]
    client.post(f"/api/v1/households/{hid}/links", json={"user_id": city.member.id}, headers=staff)
    full = client.get(f"/api/v1/households/{hid}", headers=login("member")).get_json()
    assert full["phone"] == "13812345678" and full["address"] == "幸福里小区3栋2单元501室"
    assert client.get(f"/api/v1/households/{hid}", headers=staff).get_json()["phone"] == "13812345678"
    street = client.get(f"/api/v1/communities/{city.c1.id}/households", headers=login("streetadm")).get_json()
    masked = street["items"][0]
    assert masked["phone"] == "138****5678" and "501" not in masked["address"] and masked["lat"] is None
    assert client.get(f"/api/v1/households/{hid}", headers=login("member2")).status_code == 403
    assert client.get(f"/api/v1/communities/{city.c1.id}/households", headers=login("member2")).status_code == 403


def test_service_link_limit_follows_config(app, city):
    app.config["HOUSEHOLD_LINK_LIMIT"] = 1
    try:
        h1 = svc.create_household(city.staff1, city.c1.id, address="一号", head_name="甲")
        h2 = svc.create_household(city.staff1, city.c1.id, address="二号", head_name="乙")
        svc.link(city.staff1, h1.id, city.member.id)
        with pytest.raises(svc.LinkLimit):
            svc.link(city.staff1, h2.id, city.member.id)
    finally:
        app.config["HOUSEHOLD_LINK_LIMIT"] = 5
    newcomer = user_for("newcomer", name="newcomer")
    grant_role(None, newcomer.id, "member", community_id=city.c1.id)
    assert svc.link(city.staff1, h2.id, newcomer.id).user_id == newcomer.id
    db.session.commit()


def test_confirmations_say_what_the_daily_cap_let_through(client, login, city):
    """Under the community's daily cap a visit and a duty log keep the points really posted, and the
    answer's total is the ledger's, not what was asked."""
    from backend.partywork import duty

    staff, member = login("staff1"), login("member")
    assert client.put(f"/api/v1/communities/{city.c1.id}/timebank-policy", json={"daily_cap": 20},
                      headers=staff).status_code == 200
    hid = _household(client, staff, city.c1.id).get_json()["id"]
    client.post(f"/api/v1/households/{hid}/links", json={"user_id": city.member.id}, headers=staff)
    ids = [client.post(f"/api/v1/households/{hid}/visits", headers=member, json={  # 15 points each
        "visited_at": f"2026-11-10T{hour}:00:00+08:00", "minutes": 90, "note": "走访"}).get_json()["id"]
        for hour in ("08", "09")]
    out = client.post(f"/api/v1/communities/{city.c1.id}/visits/confirm", json={"visit_ids": ids}, headers=staff)
    assert out.get_json() == {"awarded": 2, "points": 20}  # 15 + 5: the cap of 20 a day
    visits = {v["id"]: v for v in client.get(f"/api/v1/households/{hid}/visits", headers=member).get_json()["items"]}
    assert sorted(visits[i]["points"] for i in ids) == [5, 15]
    post = duty.create_post(city.staff1, city.c1.id, name="楼栋长", seats=1, points_per_month=100)
    duty.apply_or_appoint(city.staff1, post.id, city.member.id)
    log = duty.add_log(city.member, post.id, date_=NOW.date(), minutes=60)
    assert duty.confirm_logs(city.staff1, city.c1.id, [log.id]) == {"awarded": 1, "points": 0}
    db.session.commit()
    assert log.points == 0 and balance(city.member.id) == 20
