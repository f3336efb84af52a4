"""共驻共建: needs, pledges by reported units only, state history, completion, match lists."""
from __future__ import annotations

from backend.extensions import db
from backend.partywork.matching import keywords, score
from backend.reports.models import APPROVED, PENDING, UnitReport
from tests.helpers import error_code
from tests.partywork.conftest import audit_actions


def _report(unit, community, resources, status=APPROVED):
    db.session.add(UnitReport(unit_id=unit.id, community_id=community.id, resources=resources, needs=[],
                              status=status))
    db.session.commit()


def _need(client, headers, community_id, **kw):
    body = {"title": "老年人义诊", "category": "医疗", "description": "为社区老人提供免费体检和义诊", **kw}
    return client.post(f"/api/v1/communities/{community_id}/needs", json=body, headers=headers)


def test_keywords_use_word_segmentation():
    words = keywords("为社区老人提供免费体检和义诊")
    assert {"老人", "体检", "义诊"} <= words and "提供" not in words and "和" not in words
    s = score("老年人义诊", "医疗", "免费体检", "医疗义诊进社区")
    assert s["category_match"] and "义诊" in s["keywords"] and s["score"] >= 11
    assert score("老年人义诊", "医疗", "", "篮球场地开放") is None


def test_pledge_states_and_history(client, login, city):
    staff, unit = login("staff1"), login("unit1")
    need = _need(client, staff, city.c1.id).get_json()
    assert need["status"] == "待认领"
    url = f"/api/v1/needs/{need['id']}/pledges"
    body = {"unit_id": city.u1.id, "resource": "医疗义诊", "note": "每月一次"}
    # not reported (or only pending) to the community: 403
    assert client.post(url, json=body, headers=unit).status_code == 403
    _report(city.u1, city.c1, ["医疗义诊"], status=PENDING)
    assert client.post(url, json=body, headers=unit).status_code == 403
    db.session.query(UnitReport).update({"status": APPROVED})
    db.session.commit()
    # another unit's admin cannot pledge for u1
    assert client.post(url, json=body, headers=login("unit2")).status_code == 403
    r = client.post(url, json=body, headers=unit)
    assert r.status_code == 201, r.get_json()
    assert client.post(url, json=body, headers=unit).status_code == 409
    assert client.post(url, json={**body, "resource": ""}, headers=unit).status_code == 422
    done = f"/api/v1/needs/{need['id']}/complete"
    assert client.post(done, headers=unit).status_code == 403
    r = client.post(done, headers=staff)
    assert r.status_code == 200 and r.get_json()["status"] == "已完成"
    assert client.post(done, headers=staff).status_code == 409
    assert error_code(client.post(url, json=body, headers=unit)) == "INVALID_STATE"
    detail = client.get(f"/api/v1/needs/{need['id']}", headers=unit).get_json()
    events = [(e["from_status"], e["to_status"]) for e in detail["events"]]
    assert events == [(None, "待认领"), ("待认领", "已认领"), ("已认领", "已完成")]
    assert detail["events"][1]["unit_id"] == city.u1.id and detail["events"][2]["actor_id"] == city.staff1.id
    assert all(e["at"] for e in detail["events"])
    assert {"need.create", "need.pledge", "need.complete"} <= set(audit_actions("need"))


def test_complete_needs_a_pledge(client, login, city):
    need = _need(client, login("staff1"), city.c1.id).get_json()
    r = client.post(f"/api/v1/needs/{need['id']}/complete", headers=login("staff1"))
    assert r.status_code == 409 and error_code(r) == "INVALID_STATE"
    assert _need(client, login("staff1"), city.c1.id, title="").status_code == 422
    assert _need(client, login("staff2"), city.c1.id).status_code == 403


def test_matches_rank_by_category_and_keywords(client, login, city):
    staff = login("staff1")
    medical = _need(client, staff, city.c1.id).get_json()
    tutoring = _need(client, staff, city.c1.id, title="青少年课后辅导", category="教育",
                     description="周末为小学生辅导作业").get_json()
    _report(city.u1, city.c1, ["医疗义诊", "健康讲座", "停车位"])
    _report(city.u2, city.c1, ["作业辅导", "图书捐赠"])
    items = client.get(f"/api/v1/communities/{city.c1.id}/matches", headers=staff).get_json()["items"]
    assert items, "expected matches"
    assert items[0]["need_id"] == medical["id"] and items[0]["resource"] == "医疗义诊"
    assert items[0]["category_match"] is True
    pairs = {(m["need_id"], m["resource"]) for m in items}
    assert (tutoring["id"], "作业辅导") in pairs
    assert (medical["id"], "停车位") not in pairs and (tutoring["id"], "医疗义诊") not in pairs
    assert [m["score"] for m in items] == sorted((m["score"] for m in items), reverse=True)
    mine = client.get(f"/api/v1/units/{city.u1.id}/matches", headers=login("unit1")).get_json()["items"]
    assert {m["unit_id"] for m in mine} == {city.u1.id} and mine[0]["community_name"] == city.c1.name
    assert client.get(f"/api/v1/units/{city.u1.id}/matches", headers=login("unit2")).status_code == 403
    assert client.get(f"/api/v1/communities/{city.c1.id}/matches", headers=login("member")).status_code == 403
