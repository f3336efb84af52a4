"""A person's own data: the JSON export, and closing the account with the ledger intact."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from backend.auth.models import RoleGrant, User
from backend.extensions import db
from backend.reports.models import MemberReport
from backend.tasks.models import Task, TaskClaim
from backend.timebank.models import Account, Transfer
from backend.timebank.verify import verify
from tests.helpers import error_code, needs_pg
from tests.oversight import world
from tests.oversight.world import NOW


@pytest.fixture
def built(city):
    return world.build(city)


def test_export_holds_everything_about_me(client, login, city, built):
    with time_machine.travel(NOW, tick=False):
        h = login("member")
        client.put("/api/v1/me/consents/unit_feedback", json={"granted": True}, headers=h)
        resp = client.get("/api/v1/me/export", headers=h)
    assert resp.status_code == 200
    data = resp.get_json()
    assert data["profile"]["id"] == city.member.id and data["profile"]["name"] == "member"
    assert {"role": "member", "community_id": city.c1.id} in data["profile"]["roles"]
    assert [(r["name"], r["phone"], r["status"]) for r in data["member_reports"]] == [("张三", "13800000001", "approved")]
    assert [a["minutes"] for a in data["attendances"]] == [120] and data["attendances"][0]["task"] == "清扫楼道"
    assert len(data["task_claims"]) == 1
    assert data["account"]["balance"] == 70
    assert [(t["kind"], t["amount"]) for t in data["transfers"]] == [("earn", 120), ("redeem", -50)]
    assert [v["note"] for v in data["visits"]] == ["量血压"]
    assert data["household_links"][0]["address"].endswith("****")  # the household's address stays private
    assert [(m["title"], m["status"]) for m in data["meetings"]] == [("十一月党课", "present")]
    assert data["consents"]["current"][0]["granted"] is True
    assert [c["granted"] for c in data["consents"]["history"]] == [True]
    assert data["attendances"][0]["checkin_at"].endswith("+08:00")
    other = client.get("/api/v1/me/export", headers=login("member2")).get_json()
    assert other["profile"]["id"] == city.member2.id and other["account"]["balance"] == 0
    assert [d["note"] for d in other["duty_logs"]] == ["巡楼"]


def test_closing_erases_moves_the_balance_and_keeps_the_ledger(client, login, city, built):
    with time_machine.travel(datetime(2026, 12, 20, 9, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False):
        h = login("member")
        upcoming = Task(community_id=city.c1.id, title="元旦游园", starts_at=world.at(2026, 12, 31),
                        ends_at=world.at(2026, 12, 31, 12), capacity=5, claimed_count=1, points_per_hour=10)
        db.session.add(upcoming)
        db.session.flush()
        db.session.add(TaskClaim(task_id=upcoming.id, user_id=city.member.id))
        db.session.commit()
        issuance = db.session.scalar(select(Account).where(Account.community_id == city.c1.id,
                                                           Account.kind == "issuance"))
        before = issuance.balance
        n_transfers = db.session.scalar(select(func.count(Transfer.id)))
        resp = client.delete("/api/v1/me", headers=h)
        assert resp.status_code == 204
        db.session.expire_all()
        # the balance went home in a `close` transfer; nothing else in the ledger changed
        close = db.session.scalar(select(Transfer).where(Transfer.kind == "close"))
        assert close.amount == 70 and close.credit_account_id == issuance.id
        assert db.session.scalar(select(func.count(Transfer.id))) == n_transfers + 1
        assert db.session.get(Account, issuance.id).balance == before + 70
        result = verify(db.session)
        assert result["ok"] and result["imbalance"] == 0
        # erased and ended
        u = db.session.get(User, city.member.id)
        assert (u.name, u.phone, u.openid, u.session_key) == (None, None, None, None)
        assert u.closed_at is not None and u.nickname == "已注销用户"
        report = db.session.scalar(select(MemberReport).where(MemberReport.user_id == u.id))
        assert (report.status, report.name, report.phone) == ("closed", "已注销用户", "")
        assert db.session.scalar(select(func.count(RoleGrant.id)).where(
            RoleGrant.user_id == u.id, RoleGrant.revoked_at.is_(None))) == 0
        assert db.session.get(Task, upcoming.id).claimed_count == 0
        from backend.partywork.models_households import HouseholdLink, Visit
        assert db.session.scalar(select(Visit.note).where(Visit.user_id == u.id)) == ""
        assert db.session.scalar(select(HouseholdLink.status).where(HouseholdLink.user_id == u.id)) == "ended"
        # the old token is dead; a second DELETE is 401, never 500
        again = client.delete("/api/v1/me", headers=h)
        assert again.status_code == 401 and error_code(again) == "AUTH_REQUIRED"
        assert client.get("/api/v1/me", headers=h).status_code == 401
        # the same WeChat identity starts afresh
        fresh = client.post("/api/v1/auth/login", json={"code": "member"}).get_json()
        assert fresh["user"]["id"] != city.member.id
        assert fresh["user"]["roles"] == [{"role": "resident"}]
        mine = client.get("/api/v1/me/export", headers={"Authorization": "Bearer " + fresh["token"]}).get_json()
        assert mine["member_reports"] == [] and mine["account"]["balance"] == 0


def test_closing_without_points_or_reports(client, login, city):
    h = login("resident")
    assert client.delete("/api/v1/me", headers=h).status_code == 204
    assert db.session.scalar(select(func.count(Transfer.id))) == 0
    assert db.session.get(User, city.resident.id).closed_at is not None
    assert client.delete("/api/v1/me", headers=h).status_code == 401


def test_closing_is_audited(client, login, city, built):
    from backend.audit.models import AuditLog

    client.delete("/api/v1/me", headers=login("member2"))
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "account.close"))
    assert row.actor_id == city.member2.id and row.object_id == city.member2.id
    assert row.changes["after"]["moved_points"] == 0  # member2's 30 were reversed


def test_export_needs_login(client):
    assert client.get("/api/v1/me/export").status_code == 401
    assert client.delete("/api/v1/me").status_code == 401


@needs_pg
def test_two_simultaneous_closings_close_once(app, login, city, built):
    import threading

    h = login("member")
    barrier, statuses = threading.Barrier(2), []

    def close():
        c = app.test_client()
        barrier.wait()
        statuses.append(c.delete("/api/v1/me", headers=h).status_code)

    threads = [threading.Thread(target=close) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) in ([204, 204], [204, 401]), statuses
    db.session.expire_all()
    closes = db.session.scalars(select(Transfer).where(Transfer.kind == "close")).all()
    assert [t.amount for t in closes] == [70]
    assert verify(db.session)["ok"]


def test_closing_erases_what_messages_say_of_the_person(client, login, city):
    from backend.notifications.models import Notification

    resident, member = login("resident"), login("member")
    wish = client.post(f"/api/v1/communities/{city.c1.id}/wishes", headers=resident,
                       json={"title": "帮我修水管", "type": "物质", "description": "厨房漏水"}).get_json()
    assert client.post(f"/api/v1/wishes/{wish['id']}/decision", json={"approve": True},
                       headers=login("staff1")).status_code == 200
    assert client.post(f"/api/v1/wishes/{wish['id']}/claims", headers=member).status_code in (200, 201)
    told = db.session.scalar(select(Notification).where(Notification.kind == "wish_claimed"))
    assert told.user_id == city.resident.id and told.data["claimer"] == "member"
    assert client.delete("/api/v1/me", headers=member).status_code == 204  # the claimer leaves
    db.session.expire_all()
    told = db.session.get(Notification, told.id)
    assert told.data["claimer"] == "已注销用户" and told.data["title"] == "帮我修水管"
    assert client.delete("/api/v1/me", headers=resident).status_code == 204  # the owner leaves
    db.session.expire_all()
    assert db.session.get(Notification, told.id).data == {}


def test_closing_cancels_what_waits_at_the_shelf(client, login, city):
    """A redemption nobody will come for goes back on the shelf; its points come back before the
    wallet's balance moves home, so the close transfer carries them; one handed over stays."""
    from backend.rewards.models import Redemption, Reward
    from tests.timebank.conftest import give

    give(city.c1.id, city.member2.id, 100)
    rid = client.post(f"/api/v1/communities/{city.c1.id}/rewards", json={"name": "毛巾", "points": 30, "stock": 3},
                      headers=login("staff1")).get_json()["id"]
    h = login("member2")
    made = [client.post(f"/api/v1/rewards/{rid}/redemptions", headers={**h, "Idempotency-Key": k}).get_json()
            for k in ("a", "b")]
    assert client.post(f"/api/v1/communities/{city.c1.id}/redemptions/handover",
                       json={"pickup_code": made[0]["pickup_code"]}, headers=login("staff1")).status_code == 200
    assert client.delete("/api/v1/me", headers=h).status_code == 204
    statuses = {r.id: r.status for r in db.session.scalars(select(Redemption)).all()}
    assert statuses == {made[0]["id"]: "handed_over", made[1]["id"]: "cancelled"}
    assert db.session.get(Reward, rid, populate_existing=True).stock == 2
    close = db.session.scalar(select(Transfer).where(Transfer.kind == "close"))
    assert close.amount == 70  # 100 - 30 handed over; the cancelled 30 came back first
    assert verify(db.session)["ok"]
