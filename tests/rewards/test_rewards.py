"""爱心超市: staff manage rewards; people redeem them with points, once per key."""
from __future__ import annotations

from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.extensions import db
from backend.rewards.models import Reward
from backend.timebank.verify import verify
from tests.helpers import error_code
from tests.timebank.conftest import balance, give


def _reward(client, headers, community_id, **kw):
    body = {"name": "洗衣液", "description": "2kg", "points": 50, "stock": 2, **kw}
    return client.post(f"/api/v1/communities/{community_id}/rewards", json=body, headers=headers)


def _redeem(client, headers, reward_id, key="r1"):
    return client.post(f"/api/v1/rewards/{reward_id}/redemptions", headers=dict(headers, **{"Idempotency-Key": key}))


def test_staff_create_and_everyone_lists(client, city, login):
    assert _reward(client, login("member"), city.c1.id).status_code == 403
    assert _reward(client, login("staff2"), city.c1.id).status_code == 403
    assert _reward(client, login("staff1"), city.c1.id, points=0).status_code == 422
    assert _reward(client, login("staff1"), city.c1.id, stock=-1).status_code == 422
    assert _reward(client, login("staff1"), city.c1.id, name="").status_code == 422
    resp = _reward(client, login("staff1"), city.c1.id)
    assert resp.status_code == 201 and resp.get_json()["stock"] == 2
    _reward(client, login("staff1"), city.c1.id, name="理发券", points=30, stock=5)
    items = client.get(f"/api/v1/communities/{city.c1.id}/rewards", headers=login("resident")).get_json()["items"]
    assert [(i["name"], i["points"]) for i in items] == [("洗衣液", 50), ("理发券", 30)]
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "reward.create")) is not None


def test_patch_stock_points_active_with_audit(client, city, login):
    rid = _reward(client, login("staff1"), city.c1.id).get_json()["id"]
    url = f"/api/v1/rewards/{rid}"
    assert client.patch(url, json={"stock": 9}, headers=login("staff2")).status_code == 403
    assert client.patch(url, json={}, headers=login("staff1")).status_code == 422
    resp = client.patch(url, json={"stock": 9, "points": 45, "active": False}, headers=login("staff1"))
    assert resp.status_code == 200 and resp.get_json()["stock"] == 9 and resp.get_json()["active"] is False
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "reward.update"))
    assert audit.changes["before"]["stock"] == 2 and audit.changes["after"]["points"] == 45
    listed = client.get(f"/api/v1/communities/{city.c1.id}/rewards", headers=login("member")).get_json()["items"]
    assert listed == []
    staff_view = client.get(f"/api/v1/communities/{city.c1.id}/rewards?include_inactive=true",
                            headers=login("staff1")).get_json()["items"]
    assert [r["id"] for r in staff_view] == [rid]
    assert client.get(f"/api/v1/communities/{city.c1.id}/rewards?include_inactive=true",
                      headers=login("member")).status_code == 403
    assert error_code(_redeem(client, login("member"), rid)) == "REWARD_INACTIVE"
    assert client.patch("/api/v1/rewards/99999", json={"stock": 1}, headers=login("staff1")).status_code == 404


def test_redeem_spends_points_and_stock_once_per_key(client, city, login):
    give(city.c1.id, city.member.id, 120)
    rid = _reward(client, login("staff1"), city.c1.id).get_json()["id"]
    h = login("member")
    first = _redeem(client, h, rid, "k1")
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["points"] == 50 and body["balance_after"] == 70 and body["reward_name"] == "洗衣液"
    again = _redeem(client, h, rid, "k1")
    assert again.status_code == 201 and again.get_json() == body
    assert balance(city.member.id) == 70 and db.session.get(Reward, rid, populate_existing=True).stock == 1
    other = _reward(client, login("staff1"), city.c1.id, name="理发券", points=30).get_json()["id"]
    assert error_code(_redeem(client, h, other, "k1")) == "IDEMPOTENCY_MISMATCH"
    account = client.get("/api/v1/me/account", headers=h).get_json()
    assert account["balance"] == 70 and account["spent_total"] == 50
    mine = client.get("/api/v1/me/redemptions", headers=h).get_json()["items"]
    assert [(m["id"], m["reward_id"]) for m in mine] == [(body["id"], rid)]
    shop = client.get(f"/api/v1/communities/{city.c1.id}/redemptions", headers=login("staff1")).get_json()["items"]
    assert [m["user_id"] for m in shop] == [city.member.id]
    assert client.get(f"/api/v1/communities/{city.c1.id}/redemptions", headers=h).status_code == 403
    assert verify(db.session)["ok"]


def test_out_of_stock_and_insufficient_balance(client, city, login):
    give(city.c1.id, city.member.id, 100)
    rid = _reward(client, login("staff1"), city.c1.id, stock=1).get_json()["id"]
    h = login("member")
    assert _redeem(client, h, rid, "a").status_code == 201
    resp = _redeem(client, h, rid, "b")
    assert resp.status_code == 409 and error_code(resp) == "OUT_OF_STOCK"
    assert balance(city.member.id) == 50
    # the failed key stays failed even after a restock
    client.patch(f"/api/v1/rewards/{rid}", json={"stock": 5}, headers=login("staff1"))
    assert error_code(_redeem(client, h, rid, "b")) == "OUT_OF_STOCK"
    poor = login("member2")
    resp = _redeem(client, poor, rid, "c")
    assert resp.status_code == 409 and error_code(resp) == "INSUFFICIENT_BALANCE"
    assert db.session.get(Reward, rid, populate_existing=True).stock == 5  # the stock came back with the rollback
    assert balance(city.member2.id) == 0
    assert _redeem(client, h, rid, "d").status_code == 201
    assert balance(city.member.id) == 0
    assert client.post(f"/api/v1/rewards/{rid}/redemptions", headers=h).status_code == 422
    assert _redeem(client, h, 99999, "e").status_code == 404


def test_staff_can_refund_a_redemption_by_reversal(client, city, login):
    give(city.c1.id, city.member.id, 50)
    rid = _reward(client, login("staff1"), city.c1.id).get_json()["id"]
    red = _redeem(client, login("member"), rid, "k").get_json()
    url = f"/api/v1/transfers/{red['transfer_id']}/reversal"
    assert client.post(url, json={"reason": "缺货退款"}, headers=login("staff2")).status_code == 403
    assert client.post(url, json={"reason": "缺货退款"}, headers=login("staff1")).status_code == 201
    assert balance(city.member.id) == 50
    assert client.get("/api/v1/me/account", headers=login("member")).get_json()["spent_total"] == 0


def test_seed_builds_a_shelf_and_a_ledger(city):
    from backend.timebank.seed import seed

    users = {"demo-staff": city.staff1, "demo-member": city.member, "demo-resident": city.resident}
    seed({"street": city.street, "communities": [city.c1, city.c2], "units": [city.u1], "users": users})
    db.session.commit()
    assert balance(city.member.id) == 120 and balance(city.resident.id) == 30
    rewards = db.session.scalars(select(Reward)).all()
    assert {r.name for r in rewards} >= {"洗衣液", "理发券"}
    report = verify(db.session)
    assert report["ok"] and report["transfers"] >= 5
