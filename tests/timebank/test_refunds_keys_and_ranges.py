"""The time bank and the 爱心超市 at their edges (refunds, keys, out-of-range input)."""
from __future__ import annotations

import threading

from sqlalchemy import select

from backend.extensions import db
from backend.rewards.models import Redemption, Reward
from backend.timebank.models import LedgerFailure, Transfer
from backend.timebank.verify import verify
from tests.helpers import error_code, needs_pg, run_threads
from tests.rewards.test_rewards import _redeem, _reward
from tests.timebank.conftest import balance, give


def _donate(client, headers, to, amount, key="k1", memo="谢谢"):
    h = dict(headers, **({"Idempotency-Key": key} if key else {}))
    return client.post("/api/v1/transfers", json={"to_user_id": to, "amount": amount, "memo": memo}, headers=h)


def _stock(rid):
    return db.session.get(Reward, rid, populate_existing=True).stock


def _status(red_id):
    return db.session.get(Redemption, red_id, populate_existing=True).status


def test_a_redemption_refunded_by_reversal_is_cancelled_with_it(client, city, login):
    """Staff refund a waiting redemption by reversing its payment: the redemption is cancelled with
    it (the unit back in stock, the owner told), so the pickup code no longer fetches the goods as
    well, and nothing can refund it twice."""
    give(city.c1.id, city.member.id, 120)
    rid = _reward(client, login("staff1"), city.c1.id).get_json()["id"]
    red = _redeem(client, login("member"), rid, "k1").get_json()
    assert _stock(rid) == 1
    resp = client.post(f"/api/v1/transfers/{red['transfer_id']}/reversal", json={"reason": "缺货退款"},
                       headers=login("staff1"))
    assert resp.status_code == 201 and resp.get_json()["amount"] == 50, resp.get_json()
    assert balance(city.member.id) == 120 and _status(red["id"]) == "cancelled" and _stock(rid) == 2
    assert db.session.scalar(select(Transfer.memo).where(Transfer.reverses_id == red["transfer_id"])) == "缺货退款"
    resp = client.post(f"/api/v1/communities/{city.c1.id}/redemptions/handover",
                       json={"pickup_code": red["pickup_code"]}, headers=login("staff1"))
    assert resp.status_code == 404 and error_code(resp) == "NOT_FOUND", resp.get_json()
    resp = client.post(f"/api/v1/redemptions/{red['id']}/cancel", headers=login("member"))
    assert resp.status_code == 409 and error_code(resp) == "INVALID_STATE"
    again = client.post(f"/api/v1/transfers/{red['transfer_id']}/reversal", json={"reason": "再退"},
                        headers=login("staff1"))
    assert again.status_code == 409 and error_code(again) == "ALREADY_REVERSED"
    mine = client.get("/api/v1/me/redemptions", headers=login("member")).get_json()["items"]
    assert [(i["id"], i["status"]) for i in mine] == [(red["id"], "cancelled")]
    assert balance(city.member.id) == 120 and _stock(rid) == 2
    assert verify(db.session)["ok"]


def test_a_handed_over_redemption_refunded_by_reversal_stays_handed_over(client, city, login):
    """After the goods went out a refund is the staff's own call: the points come back, the
    redemption stays handed over and nothing goes back on the shelf."""
    give(city.c1.id, city.member.id, 120)
    rid = _reward(client, login("staff1"), city.c1.id).get_json()["id"]
    red = _redeem(client, login("member"), rid, "k1").get_json()
    assert client.post(f"/api/v1/communities/{city.c1.id}/redemptions/handover",
                       json={"pickup_code": red["pickup_code"]}, headers=login("staff1")).status_code == 200
    assert client.post(f"/api/v1/transfers/{red['transfer_id']}/reversal", json={"reason": "质量问题"},
                       headers=login("staff1")).status_code == 201
    assert (balance(city.member.id), _status(red["id"]), _stock(rid)) == (120, "handed_over", 1)
    assert verify(db.session)["ok"]


@needs_pg
def test_simultaneous_refund_and_handover_never_hands_over_a_refunded_redemption(app, client, city, login):
    """A reversal of the payment and the handover of the goods at the same moment: the goods go
    out only if the handover came first (a refund after the handover is the staff's own call)."""
    give(city.c1.id, city.member.id, 1000)
    rid = _reward(client, login("staff1"), city.c1.id, points=10, stock=20).get_json()["id"]
    staff, admin = login("staff1"), login("admin")
    handover_url = f"/api/v1/communities/{city.c1.id}/redemptions/handover"
    for i in range(8):
        red = _redeem(client, login("member"), rid, f"k{i}").get_json()
        barrier, got = threading.Barrier(2), {}

        def refund():
            with app.test_client() as c:
                barrier.wait()
                got["refund"] = c.post(f"/api/v1/transfers/{red['transfer_id']}/reversal",
                                       json={"reason": "退款"}, headers=admin).status_code

        def hand_over():
            with app.test_client() as c:
                barrier.wait()
                got["handover"] = c.post(handover_url, json={"pickup_code": red["pickup_code"]},
                                         headers=staff).status_code

        run_threads(refund, hand_over)
        assert got["refund"] == 201 and got["handover"] in (200, 404), got
        db.session.expire_all()
        r = db.session.get(Redemption, red["id"])
        reversal = db.session.scalar(select(Transfer).where(Transfer.reverses_id == red["transfer_id"]))
        if got["handover"] == 200:
            assert r.handed_over_at < reversal.created_at, (i, got)  # handed over before the refund
        else:  # refunded first: cancelled with it, the code dead
            assert r.status == "cancelled"
    assert verify(db.session)["ok"]


def test_redemption_keys_are_per_person(client, city, login):
    """The same Idempotency-Key sent by someone else is their own redemption, paid by them."""
    give(city.c1.id, city.member.id, 100)
    give(city.c1.id, city.member2.id, 100)
    rid = _reward(client, login("staff1"), city.c1.id).get_json()["id"]
    mine = _redeem(client, login("member"), rid, "same").get_json()
    theirs = _redeem(client, login("member2"), rid, "same")
    assert theirs.status_code == 201 and theirs.get_json()["id"] != mine["id"]
    assert theirs.get_json()["user_id"] == city.member2.id
    assert theirs.get_json()["pickup_code"] != mine["pickup_code"]
    assert (balance(city.member.id), balance(city.member2.id), _stock(rid)) == (50, 50, 0)


def test_out_of_range_numbers_are_client_errors_and_move_nothing(client, city, login):
    """Ids and amounts past the database's integer range answer 404/409/422, never 500."""
    give(city.c1.id, city.member.id, 10)
    h, admin = login("member"), login("admin")
    huge = 10 ** 20
    assert _donate(client, h, huge, 1, key="a").status_code in (404, 422)
    resp = _donate(client, h, city.member2.id, huge, key="b")
    assert resp.status_code == 409 and error_code(resp) == "INSUFFICIENT_BALANCE"
    assert db.session.get(LedgerFailure, f"donate:{city.member.id}:b") is not None
    assert client.post(f"/api/v1/transfers/{huge}/reversal", json={"reason": "x"}, headers=admin).status_code == 404
    assert _redeem(client, h, huge, "c").status_code == 404
    assert client.post(f"/api/v1/redemptions/{huge}/cancel", headers=h).status_code == 404
    assert client.patch(f"/api/v1/rewards/{huge}", json={"stock": 1}, headers=admin).status_code == 404
    assert client.get(f"/api/v1/communities/{huge}/leaderboard?period=2026", headers=h).status_code == 404
    for url in ("/api/v1/me/transfers", "/api/v1/me/redemptions", f"/api/v1/communities/{city.c1.id}/rewards"):
        assert client.get(f"{url}?cursor={'9' * 40}", headers=h).status_code == 422, url
    assert balance(city.member.id) == 10 and balance(city.member2.id) == 0
    assert db.session.scalar(select(Transfer.id).where(Transfer.kind != "earn")) is None
    assert verify(db.session)["ok"]


def test_points_given_back_by_a_cancelled_redemption_still_expire(client, city, login):
    """Cancelling a redemption gives back the very points it spent: old earnings stay old and
    expire on time (not turned into points that never expire by a redeem-and-cancel). An
    expiry that staff reverse stays reversed."""
    import time_machine
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from backend.rewards import services as rewards
    from backend.timebank import service
    from backend.timebank.expiry import run_expiry
    from backend.timebank.policy import set_policy

    sh = ZoneInfo("Asia/Shanghai")
    set_policy(db.session, city.c1.id, {"expiry_months": 12}, actor_id=None)
    db.session.commit()
    rid = _reward(client, login("staff1"), city.c1.id, points=30).get_json()["id"]
    with time_machine.travel(datetime(2025, 1, 10, 10, tzinfo=sh), tick=False):
        give(city.c1.id, city.member.id, 30)
    with time_machine.travel(datetime(2025, 6, 1, 10, tzinfo=sh), tick=False):
        red, _ = rewards.redeem(city.member.id, rid, "k1")
        db.session.commit()
        rewards.cancel_redemption(city.member, red.id)
        db.session.commit()
    assert balance(city.member.id) == 30
    assert run_expiry(db.session, datetime(2026, 7, 1, 10, tzinfo=sh)) == 30
    db.session.commit()
    assert balance(city.member.id) == 0 and verify(db.session)["ok"]
    expired = db.session.scalar(select(Transfer).where(Transfer.kind == "expire"))
    service.reverse(db.session, transfer_id=expired.id, actor_id=city.staff1.id, reason="误过期")
    db.session.commit()
    assert run_expiry(db.session, datetime(2026, 7, 2, 10, tzinfo=sh)) == 0
    assert balance(city.member.id) == 30 and verify(db.session)["ok"]


def test_a_pickup_code_clash_is_a_409_and_the_same_key_then_succeeds(client, city, login, monkeypatch):
    """Two redemptions drawing the same random code at one instant (the look-up for a free code
    passed for both): the loser is 409 CONFLICT, nothing is posted or taken off the shelf, and
    a retry with the same key is redeemed."""
    from backend.rewards import services as rewards

    give(city.c1.id, city.member.id, 100)
    give(city.c1.id, city.member2.id, 100)
    rid = _reward(client, login("staff1"), city.c1.id).get_json()["id"]
    first = _redeem(client, login("member"), rid, "a").get_json()
    monkeypatch.setattr(rewards, "new_pickup_code", lambda community_id: first["pickup_code"])
    clash = _redeem(client, login("member2"), rid, "b")
    assert clash.status_code == 409 and error_code(clash) == "CONFLICT", clash.get_json()
    assert (balance(city.member2.id), _stock(rid)) == (100, 1)
    monkeypatch.undo()
    again = _redeem(client, login("member2"), rid, "b")
    assert again.status_code == 201 and again.get_json()["pickup_code"] != first["pickup_code"]
    assert (balance(city.member2.id), _stock(rid)) == (50, 0)
    assert verify(db.session)["ok"]
