"""The time bank's HTTP contract."""
from __future__ import annotations

from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.extensions import db
from backend.timebank.models import LedgerFailure, Transfer
from tests.helpers import error_code


def _donate(client, headers, to, amount, key="k1", memo="谢谢"):
    h = dict(headers, **({"Idempotency-Key": key} if key else {}))
    return client.post("/api/v1/transfers", json={"to_user_id": to, "amount": amount, "memo": memo}, headers=h)


def test_my_account_and_statement(client, city, login, tb):
    tb.give(city.c1.id, city.member.id, 50)
    h = login("member")
    assert client.get("/api/v1/me/account", headers=h).get_json() == {
        "balance": 50, "earned_total": 50, "spent_total": 0, "service_minutes": 0}
    resp = _donate(client, h, city.member2.id, 20)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["amount"] == -20 and body["balance_after"] == 30 and body["kind"] == "donate"
    assert body["created_at"].endswith("+08:00")
    items = client.get("/api/v1/me/transfers", headers=h).get_json()["items"]
    assert [(i["kind"], i["amount"], i["balance_after"]) for i in items] == [("donate", -20, 30), ("earn", 50, 50)]
    theirs = client.get("/api/v1/me/transfers", headers=login("member2")).get_json()["items"]
    assert [(i["kind"], i["amount"], i["balance_after"], i["memo"]) for i in theirs] == [("donate", 20, 20, "谢谢")]
    assert client.get("/api/v1/me/transfers", headers=login("resident")).get_json() == {"items": [], "next_cursor": None}


def test_statement_cursor_paging(client, city, login, tb):
    for _ in range(5):
        tb.give(city.c1.id, city.member.id, 1)
    h = login("member")
    first = client.get("/api/v1/me/transfers?limit=2", headers=h).get_json()
    assert [i["balance_after"] for i in first["items"]] == [5, 4] and first["next_cursor"]
    second = client.get(f"/api/v1/me/transfers?limit=2&cursor={first['next_cursor']}", headers=h).get_json()
    third = client.get(f"/api/v1/me/transfers?limit=2&cursor={second['next_cursor']}", headers=h).get_json()
    assert [i["balance_after"] for i in second["items"] + third["items"]] == [3, 2, 1]
    assert third["next_cursor"] is None
    assert client.get("/api/v1/me/transfers?cursor=%%%", headers=h).status_code == 422
    assert client.get("/api/v1/me/transfers?limit=101", headers=h).status_code == 422


def test_donation_validation(client, city, login, tb):
    tb.give(city.c1.id, city.member.id, 10)
    h = login("member")
    resp = _donate(client, h, city.member2.id, 1, key=None)
    assert resp.status_code == 422 and "Idempotency-Key" in resp.get_json()["error"]["details"]
    for amount in (0, -5, "3", 1.5):
        resp = _donate(client, h, city.member2.id, amount, key=f"a{amount}")
        assert resp.status_code == 422 and "amount" in resp.get_json()["error"]["details"], amount
    resp = _donate(client, h, city.member.id, 1, key="self")
    assert resp.status_code == 422 and "to_user_id" in resp.get_json()["error"]["details"]
    assert error_code(_donate(client, h, 999999, 1, key="nobody")) == "NOT_FOUND"
    assert client.post("/api/v1/transfers", json={"to_user_id": city.member2.id, "amount": 1},
                       headers={"Idempotency-Key": "x"}).status_code == 401
    assert tb.balance(city.member.id) == 10


def test_donation_idempotency_over_http(client, city, login, tb):
    tb.give(city.c1.id, city.member.id, 10)
    h = login("member")
    first = _donate(client, h, city.member2.id, 4, key="same")
    again = _donate(client, h, city.member2.id, 4, key="same")
    assert first.status_code == again.status_code == 201 and first.get_json() == again.get_json()
    assert tb.balance(city.member.id) == 6
    other = _donate(client, h, city.member2.id, 5, key="same")
    assert other.status_code == 409 and error_code(other) == "IDEMPOTENCY_MISMATCH"
    # keys are per person: someone else's "same" is a different request
    tb.give(city.c1.id, city.member2.id, 3)
    assert _donate(client, login("member2"), city.member.id, 1, key="same").status_code == 201


def test_failed_donation_stays_failed_for_its_key(client, city, login, tb):
    tb.give(city.c1.id, city.member.id, 3)
    h = login("member")
    resp = _donate(client, h, city.member2.id, 5, key="big")
    assert resp.status_code == 409 and error_code(resp) == "INSUFFICIENT_BALANCE"
    assert db.session.get(LedgerFailure, f"donate:{city.member.id}:big") is not None
    tb.give(city.c1.id, city.member.id, 100)
    again = _donate(client, h, city.member2.id, 5, key="big")
    assert again.status_code == 409 and error_code(again) == "INSUFFICIENT_BALANCE"
    assert error_code(_donate(client, h, city.member2.id, 6, key="big")) == "IDEMPOTENCY_MISMATCH"
    assert _donate(client, h, city.member2.id, 5, key="fresh").status_code == 201
    assert tb.balance(city.member.id) == 98


def test_reversal_rights_and_once(client, city, login, tb):
    ref = tb.give(city.c1.id, city.member.id, 20)
    earn = db.session.scalar(select(Transfer).where(Transfer.ref_id == ref))
    url = f"/api/v1/transfers/{earn.id}/reversal"
    assert client.post(url, json={"reason": "错误"}, headers=login("member")).status_code == 403
    assert client.post(url, json={"reason": "错误"}, headers=login("staff2")).status_code == 403
    assert client.post(url, json={}, headers=login("staff1")).status_code == 422
    resp = client.post(url, json={"reason": "重复录入"}, headers=login("staff1"))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["reverses_id"] == earn.id and body["amount"] == 20 and body["kind"] == "reverse"
    assert tb.balance(city.member.id) == 0
    again = client.post(url, json={"reason": "再来"}, headers=login("admin"))
    assert again.status_code == 409 and error_code(again) == "ALREADY_REVERSED"
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "transfer.reverse"))
    assert audit.object_id == earn.id and audit.actor_id == city.staff1.id
    assert client.post("/api/v1/transfers/999999/reversal", json={"reason": "x"},
                       headers=login("admin")).status_code == 404


def test_donation_reversal_is_for_admins(client, city, login, tb):
    tb.give(city.c1.id, city.member.id, 10)
    t = _donate(client, login("member"), city.member2.id, 4).get_json()
    url = f"/api/v1/transfers/{t['id']}/reversal"
    assert client.post(url, json={"reason": "误转"}, headers=login("staff1")).status_code == 403
    assert client.post(url, json={"reason": "误转"}, headers=login("admin")).status_code == 201
    assert (tb.balance(city.member.id), tb.balance(city.member2.id)) == (10, 0)


def test_leaderboard_endpoint(client, city, login, tb):
    tb.give(city.c1.id, city.member.id, 10)
    tb.give(city.c1.id, city.member2.id, 30)
    from backend.clock import TZ
    from datetime import datetime

    period = datetime.now(TZ).strftime("%Y-%m")
    h = login("resident")
    body = client.get(f"/api/v1/communities/{city.c1.id}/leaderboard?period={period}", headers=h).get_json()
    assert [(i["rank"], i["user_id"], i["points"]) for i in body["items"]] == [
        (1, city.member2.id, 30), (2, city.member.id, 10)]
    assert body["starts_at"].endswith("+08:00")
    resp = client.get(f"/api/v1/communities/{city.c1.id}/leaderboard?period=2026-13", headers=h)
    assert resp.status_code == 422 and "period" in resp.get_json()["error"]["details"]
    assert client.get(f"/api/v1/communities/{city.c1.id}/leaderboard", headers=h).status_code == 422
    assert client.get("/api/v1/communities/99999/leaderboard?period=2026", headers=h).status_code == 404


def test_verify_endpoint_reports_a_tampered_row(client, city, login, tb):
    tb.give(city.c1.id, city.member.id, 10)
    tb.give(city.c1.id, city.member2.id, 10)
    assert client.get("/api/v1/admin/ledger/verify", headers=login("staff1")).status_code == 403
    ok = client.get("/api/v1/admin/ledger/verify", headers=login("admin")).get_json()
    assert ok["ok"] is True and ok["imbalance"] == 0 and ok["transfers"] == 2 and ok["accounts"] == 5
    victim = db.session.scalar(select(Transfer).order_by(Transfer.id.desc()).limit(1))
    tb.tamper("UPDATE transfers SET memo = 'forged', amount = 1000 WHERE id = :id", id=victim.id)
    bad = client.get("/api/v1/admin/ledger/verify", headers=login("admin")).get_json()
    assert bad["ok"] is False and bad["broken_link"] == victim.id
    assert victim.credit_account_id in {m["account_id"] for m in bad["mismatches"]}


def test_policy_get_put_and_audit(client, city, login):
    url = f"/api/v1/communities/{city.c1.id}/timebank-policy"
    h = login("staff1")
    assert client.get(url, headers=h).get_json() == {"community_id": city.c1.id, "daily_cap": None, "expiry_months": None}
    assert client.get(url, headers=login("staff2")).status_code == 403
    assert client.put(url, json={"daily_cap": 0}, headers=h).status_code == 422
    assert client.put(url, json={"expiry_months": "x"}, headers=h).status_code == 422
    resp = client.put(url, json={"daily_cap": 60}, headers=h)
    assert resp.status_code == 200 and resp.get_json()["daily_cap"] == 60
    resp = client.put(url, json={"expiry_months": 24}, headers=h)
    assert resp.get_json() == {"community_id": city.c1.id, "daily_cap": 60, "expiry_months": 24}
    assert client.put(url, json={"daily_cap": None}, headers=h).get_json()["daily_cap"] is None
    rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "timebank.policy")).all()
    assert len(rows) == 3 and rows[0].changes["after"]["daily_cap"] == 60


def test_openapi_documents_the_time_bank(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for p in ("/api/v1/me/account", "/api/v1/me/transfers", "/api/v1/transfers",
              "/api/v1/transfers/{transfer_id}/reversal", "/api/v1/communities/{community_id}/leaderboard",
              "/api/v1/admin/ledger/verify", "/api/v1/communities/{community_id}/timebank-policy",
              "/api/v1/rewards/{reward_id}/redemptions", "/api/v1/me/redemptions"):
        assert p in paths, p
