"""Oversight and the record — closing an account, 台账 exports, audit, my data."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.db import utcnow
from backend.extensions import db
from backend.partywork.models_households import Household, HouseholdLink, Visit
from backend.timebank.accounts import wallet_id
from backend.timebank.models import Account, Transfer
from backend.wishes.models import Wish
from tests.oversight import world
from tests.oversight.test_exports import col, export


@pytest.fixture
def built(city):
    return world.build(city)


# --- my data ----------------------------------------------------------------------------------

def test_my_export_holds_why_my_wish_was_rejected_and_what_i_wrote_on_my_wishes(client, login, city):
    """The reason staff gave for rejecting a wish, and the notes the person wrote when confirming
    or cancelling one, are held about them and stored nowhere else they can read in one place."""
    resident, staff = login("resident"), login("staff1")
    url = f"/api/v1/communities/{city.c1.id}/wishes"
    rejected = client.post(url, headers=resident, json={"title": "代买烟酒", "type": "物质"}).get_json()
    done = client.post(url, headers=resident, json={"title": "读报", "type": "精神"}).get_json()
    assert client.post(f"/api/v1/wishes/{rejected['id']}/decision", headers=staff,
                       json={"approve": False, "reason": "不属于微心愿范围"}).status_code == 200
    assert client.post(f"/api/v1/wishes/{done['id']}/decision", headers=staff, json={"approve": True}).status_code == 200
    assert client.post(f"/api/v1/wishes/{done['id']}/claims", headers=login("member")).status_code == 201
    assert client.post(f"/api/v1/wishes/{done['id']}/complete", headers=resident,
                       json={"note": "谢谢小李每周来读报"}).status_code == 200
    data = client.get("/api/v1/me/export", headers=resident).get_json()
    reasons = {w["id"]: w["decision_reason"] for w in data["wishes_posted"]}
    assert reasons == {rejected["id"]: "不属于微心愿范围", done["id"]: None}
    notes = [(e["wish_id"], e["to_status"], e["note"]) for e in data["wish_events"] if e["note"]]
    assert notes == [(done["id"], "已完成", "谢谢小李每周来读报")]
    claimer = client.get("/api/v1/me/export", headers=login("member")).get_json()
    assert [(e["wish_id"], e["to_status"]) for e in claimer["wish_events"]] == [(done["id"], "已认领")]


# --- closing an account ----------------------------------------------------------------------

def test_a_wish_claimed_by_a_closed_account_goes_back_to_be_claimed(client, login, city):
    """The claimer leaves: nobody will fulfil the wish now, so it is open to another member
    again (as a seat on an upcoming task is given back), not stuck as 已认领 forever."""
    resident, member, member2 = login("resident"), login("member"), login("member2")
    wish = client.post(f"/api/v1/communities/{city.c1.id}/wishes", headers=resident,
                       json={"title": "帮我修水管", "type": "物质"}).get_json()
    assert client.post(f"/api/v1/wishes/{wish['id']}/decision", json={"approve": True},
                       headers=login("staff1")).status_code == 200
    assert client.post(f"/api/v1/wishes/{wish['id']}/claims", headers=member).status_code == 201
    assert client.delete("/api/v1/me", headers=member).status_code == 204
    db.session.expire_all()
    w = db.session.get(Wish, wish["id"])
    assert (w.status, w.claimer_id) == ("已通过", None)
    again = client.post(f"/api/v1/wishes/{wish['id']}/claims", headers=member2)
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["status"] == "已认领"


def test_a_closed_account_without_a_wallet_earns_nothing_later(client, login, city):
    """A member who never earned closes the account with a visit still waiting; staff confirm it
    afterwards: no wallet is opened for the closed person and no points are issued to it."""
    h = Household(community_id=city.c1.id, address="幸福路2号", head_name="钱奶奶", phone="13700002222")
    db.session.add(h)
    db.session.flush()
    db.session.add(HouseholdLink(household_id=h.id, user_id=city.member.id, community_id=city.c1.id))
    v = Visit(household_id=h.id, user_id=city.member.id, community_id=city.c1.id,
              visited_at=utcnow() - timedelta(hours=2), minutes=60, note="聊天", status="pending")
    db.session.add(v)
    db.session.commit()
    assert wallet_id(db.session, city.member.id) is None
    assert client.delete("/api/v1/me", headers=login("member")).status_code == 204
    resp = client.post(f"/api/v1/communities/{city.c1.id}/visits/confirm", json={"visit_ids": [v.id]},
                       headers=login("staff1"))
    assert resp.status_code == 200, resp.get_json()
    db.session.expire_all()
    wid = wallet_id(db.session, city.member.id)
    credited = db.session.scalar(select(func.coalesce(func.sum(Transfer.amount), 0))
                                 .where(Transfer.credit_account_id == wid)) if wid else 0
    assert credited == 0
    assert wid is None or db.session.get(Account, wid).closed_at is not None


# --- 台账 exports -------------------------------------------------------------------------------

def test_households_ledger_masks_the_address_for_those_who_may_not_see_it(client, app, login, city, built):
    """The households API shows a household's address in full only to the community's staff
    (and linked members); the 台账 a street admin or admin downloads masks it too."""
    _, rows, _ = export(client, app, login("streetadm"), f"/api/v1/streets/{city.street.id}/exports",
                        kind="households", format="csv")
    assert col(rows, "地址") == ["幸福路1号****"] and col(rows, "电话") == ["137****1234"]
    _, rows, _ = export(client, app, login("admin"), f"/api/v1/communities/{city.c1.id}/exports",
                        kind="households", format="xlsx")
    assert col(rows, "地址") == ["幸福路1号****"]
    _, rows, _ = export(client, app, login("staff1"), f"/api/v1/communities/{city.c1.id}/exports",
                        kind="households", format="csv")
    assert col(rows, "地址") == ["幸福路1号3栋201"] and col(rows, "电话") == ["13700001234"]


def test_a_staff_export_file_does_not_show_full_phones_to_the_street_admin(client, app, login, city, built):
    """staff1's 党员名册 holds c1's phones in full (they are c1's staff). The street admin, who
    sees them masked in their own export, finds the job in the audit log and downloads it."""
    from tests.jobs.util import run_worker

    url = f"/api/v1/communities/{city.c1.id}/exports"
    job_id = client.post(url, json={"kind": "members", "format": "csv"}, headers=login("staff1")).get_json()["job_id"]
    run_worker(app)
    street = login("streetadm")
    audit = client.get("/api/v1/admin/audit", query_string={"action": "export"}, headers=street).get_json()
    assert [r["changes"]["after"]["job_id"] for r in audit["items"]] == [job_id]
    seen = client.get(f"/api/v1/jobs/{job_id}", headers=street).get_json()
    assert (seen["status"], seen["result_url"]) == ("finished", None)
    raw = client.get(f"/api/v1/files/{job_id}", headers=street)
    assert raw.status_code == 403 and "13800000001" not in raw.data.decode("utf-8-sig")
    own = client.get(f"/api/v1/files/{job_id}", headers=login("staff1"))
    assert own.status_code == 200 and "13800000001" in own.data.decode("utf-8-sig")


# --- the audit log ---------------------------------------------------------------------------

def test_the_street_admin_sees_roster_changes_of_units_in_the_street(client, login, city):
    """u1 is registered in the street: its unit admin's roster changes (adding, taking someone
    off) are actions within the street; u2's, in the other street, are not shown."""
    from backend.reports.models import UnitMember

    h = login("unit1")
    assert client.post(f"/api/v1/units/{city.u1.id}/members", headers=h,
                       json={"members": [{"name": "成员一", "phone": "13800000001"}]}).status_code == 200
    um = db.session.scalar(select(UnitMember.id).where(UnitMember.unit_id == city.u1.id))
    assert client.delete(f"/api/v1/units/{city.u1.id}/members/{um}", headers=h).status_code == 204
    assert client.post(f"/api/v1/units/{city.u2.id}/members", headers=login("unit2"),
                       json={"members": [{"name": "甲", "phone": "13900000001"}]}).status_code == 200
    street = login("streetadm")
    items = client.get("/api/v1/admin/audit", query_string={"object_type": "unit"}, headers=street).get_json()
    assert [(r["action"], r["actor_id"]) for r in items["items"]] == [("unit_member.upsert", city.unit1.id)]
    items = client.get("/api/v1/admin/audit", query_string={"action": "unit_member.remove"},
                       headers=street).get_json()["items"]
    assert [(r["object_id"], r["street_id"]) for r in items] == [(um, city.street.id)]
    everything = client.get("/api/v1/admin/audit", query_string={"object_type": "unit"},
                            headers=login("admin")).get_json()["items"]
    assert [r["street_id"] for r in everything] == [city.other_street.id, city.street.id]



def test_closing_leaves_no_leave_reason_or_follow_up_note_in_the_audit_log(client, login, city):
    """Closing erases a leave reason and a follow-up note from their tables; the audit log that the
    street admin reads must not keep saying them."""
    from backend.partywork.models_meetings import Meeting

    m = Meeting(community_id=city.c1.id, kind="党课", title="党课", starts_at=utcnow() + timedelta(days=2),
                ends_at=utcnow() + timedelta(days=2, hours=2), location="会议室")
    db.session.add(m)
    db.session.commit()
    staff = login("staff1")
    assert client.post(f"/api/v1/meetings/{m.id}/leaves", headers=staff,
                       json={"user_id": city.member.id, "reason": "住院做心脏手术"}).status_code == 201
    assert client.post(f"/api/v1/communities/{city.c1.id}/follow-ups", headers=staff,
                       json={"user_id": city.member.id, "status": "已联系", "note": "家属说在化疗"}).status_code in (200, 201)
    assert client.delete("/api/v1/me", headers=login("member")).status_code == 204
    text = client.get("/api/v1/admin/audit", headers=login("streetadm")).get_data(as_text=True)
    assert "手术" not in text and "化疗" not in text


def test_my_export_holds_the_pickup_code_of_what_waits_at_the_shelf(client, login, city):
    """The person's own redemption, waiting, with the code they show at the shelf."""
    from tests.rewards.test_rewards import _redeem, _reward
    from tests.timebank.conftest import give

    give(city.c1.id, city.member.id, 100)
    rid = _reward(client, login("staff1"), city.c1.id).get_json()["id"]
    red = _redeem(client, login("member"), rid, "k1").get_json()
    mine = client.get("/api/v1/me/export", headers=login("member")).get_json()["redemptions"]
    assert [(r["id"], r["status"], r["pickup_code"]) for r in mine] == [(red["id"], "pending", red["pickup_code"])]
