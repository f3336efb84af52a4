"""爱心超市 pickup: a redemption waits with a pickup code until staff hand it over, or until the
person or staff cancel it (the points come back once, the unit goes back on the shelf)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.extensions import db
from backend.notifications.models import Notification
from backend.rewards.models import Reward
from backend.timebank.models import Transfer
from backend.timebank.verify import verify
from tests.helpers import error_code, needs_pg
from tests.rewards.test_rewards import _redeem, _reward
from tests.timebank.conftest import balance, give


def _stock(rid):
    return db.session.get(Reward, rid, populate_existing=True).stock


@pytest.fixture
def redeemed(client, city, login):
    give(city.c1.id, city.member.id, 120)
    rid = _reward(client, login("staff1"), city.c1.id).get_json()["id"]
    red = _redeem(client, login("member"), rid, "k1").get_json()
    return rid, red


def test_redemption_waits_with_a_code_only_its_owner_sees(client, city, login, redeemed):
    rid, red = redeemed
    assert red["status"] == "pending" and len(red["pickup_code"]) == 8 and red["pickup_code"].isdigit()
    assert red["user_name"] == "member"
    again = _redeem(client, login("member"), rid, "k1").get_json()
    assert again["pickup_code"] == red["pickup_code"]  # a retry answers the same redemption
    mine = client.get("/api/v1/me/redemptions?status=pending", headers=login("member")).get_json()["items"]
    assert [(m["id"], m["pickup_code"]) for m in mine] == [(red["id"], red["pickup_code"])]
    shelf = client.get(f"/api/v1/communities/{city.c1.id}/redemptions?status=pending",
                       headers=login("staff1")).get_json()["items"]
    assert [m["id"] for m in shelf] == [red["id"]] and "pickup_code" not in shelf[0]
    assert shelf[0]["user_name"] == "member"
    assert client.get(f"/api/v1/communities/{city.c1.id}/redemptions?status=lost",
                      headers=login("staff1")).status_code == 422


def test_staff_hand_over_against_the_code_once(client, city, login, redeemed):
    rid, red = redeemed
    url = f"/api/v1/communities/{city.c1.id}/redemptions/handover"
    code = red["pickup_code"]
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    assert client.post(url, json={"pickup_code": code}, headers=login("member")).status_code == 403
    other_shelf = f"/api/v1/communities/{city.c2.id}/redemptions/handover"
    assert client.post(other_shelf, json={"pickup_code": code}, headers=login("staff2")).status_code == 404
    assert client.post(url, json={"pickup_code": wrong}, headers=login("staff1")).status_code == 404
    for bad in ("1234", "abcdefgh", "１２３４５６７８", 12345678):
        assert client.post(url, json={"pickup_code": bad}, headers=login("staff1")).status_code == 422
    resp = client.post(url, json={"pickup_code": code}, headers=login("staff1"))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["id"] == red["id"] and body["status"] == "handed_over" and body["handed_over_at"]
    assert "pickup_code" not in body
    assert client.post(url, json={"pickup_code": code}, headers=login("staff1")).status_code == 404  # used
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "redemption.handover"))
    assert audit.actor_id == city.staff1.id and audit.object_id == red["id"]
    assert audit.changes["before"]["status"] == "pending" and audit.changes["after"]["status"] == "handed_over"
    # handed over: nobody can cancel it any more, and the points stay spent
    resp = client.post(f"/api/v1/redemptions/{red['id']}/cancel", headers=login("member"))
    assert resp.status_code == 409 and error_code(resp) == "INVALID_STATE"
    assert balance(city.member.id) == 70 and _stock(rid) == 1


def test_cancel_refunds_once_and_restocks(client, city, login, redeemed):
    rid, red = redeemed
    url = f"/api/v1/redemptions/{red['id']}/cancel"
    assert client.post(url, headers=login("member2")).status_code == 404  # someone else's
    assert client.post(url, headers=login("staff2")).status_code == 404  # another community's staff
    resp = client.post(url, headers=login("member"))
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    assert balance(city.member.id) == 120 and _stock(rid) == 2
    resp = client.post(url, headers=login("member"))
    assert resp.status_code == 409 and error_code(resp) == "INVALID_STATE"
    assert balance(city.member.id) == 120 and _stock(rid) == 2
    handover = f"/api/v1/communities/{city.c1.id}/redemptions/handover"
    assert client.post(handover, json={"pickup_code": red["pickup_code"]}, headers=login("staff1")).status_code == 404
    account = client.get("/api/v1/me/account", headers=login("member")).get_json()
    assert account["balance"] == 120 and account["spent_total"] == 0
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "redemption.cancel")) is None  # own action
    assert db.session.scalar(select(Notification)) is None  # nobody to tell
    assert client.post("/api/v1/redemptions/99999/cancel", headers=login("member")).status_code == 404
    assert verify(db.session)["ok"]


def test_staff_cancel_is_audited_and_respects_an_earlier_reversal(client, city, login, redeemed):
    rid, red = redeemed
    # the payment already reversed in the ledger alone (as the reversal endpoint did before it
    # cancelled a waiting redemption with its payment: rows of that time)
    from backend.timebank.service import reverse

    reverse(db.session, transfer_id=red["transfer_id"], actor_id=city.staff1.id, reason="缺货")
    db.session.commit()
    resp = client.post(f"/api/v1/redemptions/{red['id']}/cancel", headers=login("staff1"))
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    assert balance(city.member.id) == 120 and _stock(rid) == 2  # refunded once, not twice
    reversals = db.session.scalars(select(Transfer).where(Transfer.reverses_id == red["transfer_id"])).all()
    assert len(reversals) == 1
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "redemption.cancel"))
    assert audit.actor_id == city.staff1.id and audit.changes["after"]["status"] == "cancelled"
    told = db.session.scalars(select(Notification).where(Notification.kind == "redemption_cancelled")).all()
    assert [(n.user_id, n.ref_id, n.data["reward"], n.data["points"]) for n in told] == [
        (city.member.id, red["id"], "洗衣液", 50)]
    assert verify(db.session)["ok"]


@needs_pg
def test_simultaneous_cancel_and_handover_one_wins(app, client, city, login, redeemed):
    """Six cancels and six handovers of one redemption at once: exactly one of them succeeds,
    the points come back at most once, and the stock matches the outcome."""
    rid, red = redeemed
    heads = {"member": login("member"), "staff1": login("staff1")}
    cancel = f"/api/v1/redemptions/{red['id']}/cancel"
    handover = f"/api/v1/communities/{city.c1.id}/redemptions/handover"
    statuses, barrier = [], threading.Barrier(12)

    def go(i):
        with app.test_client() as c:
            barrier.wait()
            if i % 2:
                r = c.post(cancel, headers=heads["member"])
            else:
                r = c.post(handover, json={"pickup_code": red["pickup_code"]}, headers=heads["staff1"])
            statuses.append((i % 2, r.status_code))

    threads = [threading.Thread(target=go, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(statuses) == 12
    wins = [kind for kind, status in statuses if status == 200]
    assert len(wins) == 1, statuses
    assert all(status in (200, 404, 409) for _, status in statuses), statuses
    db.session.expire_all()
    if wins[0]:  # cancelled
        assert balance(city.member.id) == 120 and _stock(rid) == 2
    else:
        assert balance(city.member.id) == 70 and _stock(rid) == 1
    assert verify(db.session)["ok"]
