"""微心愿 through the API: every transition, visibility, and the 422/403/409 answers."""
import pytest

from backend.extensions import db
from backend.wishes.models import WishEvent
from tests.helpers import error_code


@pytest.fixture
def posted(client, city, login):
    resp = client.post(f"/api/v1/communities/{city.c1.id}/wishes",
                       json={"title": "想学用智能手机", "description": "视频通话", "type": "精神"},
                       headers=login("resident"))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_post_wish(client, city, posted):
    assert posted["status"] == "待审批" and posted["type"] == "精神"
    assert posted["user_id"] == city.resident.id and posted["resident_name"] == "resident"
    assert posted["events"][0]["to_status"] == "待审批" and posted["created_at"].endswith("+08:00")


@pytest.mark.parametrize("body, field", [
    ({"title": "", "type": "物质"}, "title"),
    ({"title": "  ", "type": "物质"}, "title"),
    ({"title": "x" * 101, "type": "物质"}, "title"),
    ({"title": "收音机", "type": "金钱"}, "type"),
    ({"title": "收音机"}, "type"),
    ({"title": "收音机", "type": "物质", "price": 5}, "price"),
])
def test_post_wish_422(client, city, login, body, field):
    resp = client.post(f"/api/v1/communities/{city.c1.id}/wishes", json=body, headers=login("resident"))
    assert resp.status_code == 422 and field in resp.get_json()["error"]["details"]


def test_post_wish_unknown_community_and_login(client, city, login):
    body = {"title": "x", "type": "物质"}
    assert client.post("/api/v1/communities/999/wishes", json=body, headers=login("resident")).status_code == 404
    assert client.post(f"/api/v1/communities/{city.c1.id}/wishes", json=body).status_code == 401


def test_full_flow_through_api(client, city, login, posted):
    wid = posted["id"]
    staff, member, resident = login("staff1"), login("member"), login("resident")
    resp = client.post(f"/api/v1/wishes/{wid}/decision", json={"approve": True}, headers=staff)
    assert resp.status_code == 200 and resp.get_json()["status"] == "已通过"
    resp = client.post(f"/api/v1/wishes/{wid}/claims", headers=member)
    assert resp.status_code == 201
    assert resp.get_json()["status"] == "已认领" and resp.get_json()["claimer_name"] == "member"
    resp = client.post(f"/api/v1/wishes/{wid}/complete", headers=resident)
    assert resp.status_code == 200 and resp.get_json()["status"] == "已完成"
    resp = client.post(f"/api/v1/wishes/{wid}/rating", json={"rating": 5, "comment": "谢谢小张"}, headers=resident)
    body = resp.get_json()
    assert resp.status_code == 200 and body["status"] == "已评价" and body["rating"] == 5
    assert [e["to_status"] for e in body["events"]] == ["待审批", "已通过", "已认领", "已完成", "已评价"]
    assert body["events"][1]["actor_id"] == city.staff1.id


def test_reject_and_decision_rules(client, city, login, posted):
    wid = posted["id"]
    for who in ("staff2", "member", "resident"):
        resp = client.post(f"/api/v1/wishes/{wid}/decision", json={"approve": True}, headers=login(who))
        assert resp.status_code == 403, who
    bad = client.post(f"/api/v1/wishes/{wid}/decision", json={"approve": "yes"}, headers=login("staff1"))
    assert bad.status_code == 422 and "approve" in bad.get_json()["error"]["details"]
    resp = client.post(f"/api/v1/wishes/{wid}/decision", json={"approve": False, "reason": "重复"},
                       headers=login("staff1"))
    assert resp.get_json()["status"] == "已驳回" and resp.get_json()["decision_reason"] == "重复"
    again = client.post(f"/api/v1/wishes/{wid}/decision", json={"approve": True}, headers=login("staff1"))
    assert again.status_code == 409 and error_code(again) == "INVALID_STATE"
    assert client.post("/api/v1/wishes/999/decision", json={"approve": True}, headers=login("staff1")).status_code == 404


def test_claim_rules(client, city, login, posted):
    wid = posted["id"]
    early = client.post(f"/api/v1/wishes/{wid}/claims", headers=login("member"))
    assert early.status_code == 409 and error_code(early) == "INVALID_STATE"
    client.post(f"/api/v1/wishes/{wid}/decision", json={"approve": True}, headers=login("staff1"))
    not_member = client.post(f"/api/v1/wishes/{wid}/claims", headers=login("staff2"))
    assert not_member.status_code == 403  # staff without the member role
    assert client.post(f"/api/v1/wishes/{wid}/claims", headers=login("member")).status_code == 201
    second = client.post(f"/api/v1/wishes/{wid}/claims", headers=login("member2"))
    assert second.status_code == 409 and error_code(second) == "INVALID_STATE"


def test_cancel_by_claimer_and_after_completion(client, city, login, posted):
    wid = posted["id"]
    client.post(f"/api/v1/wishes/{wid}/decision", json={"approve": True}, headers=login("staff1"))
    client.post(f"/api/v1/wishes/{wid}/claims", headers=login("member"))
    stranger = client.post(f"/api/v1/wishes/{wid}/cancel", json={"reason": "x"}, headers=login("member2"))
    assert stranger.status_code == 403
    resp = client.post(f"/api/v1/wishes/{wid}/cancel", json={"reason": "临时出差"}, headers=login("member"))
    assert resp.status_code == 200 and resp.get_json()["status"] == "已取消"
    assert resp.get_json()["events"][-1]["note"] == "临时出差"
    late = client.post(f"/api/v1/wishes/{wid}/complete", headers=login("resident"))
    assert late.status_code == 409 and error_code(late) == "INVALID_STATE"
    rate = client.post(f"/api/v1/wishes/{wid}/rating", json={"rating": 3}, headers=login("resident"))
    assert rate.status_code == 409


def test_complete_and_rate_rules(client, city, login, posted):
    wid = posted["id"]
    client.post(f"/api/v1/wishes/{wid}/decision", json={"approve": True}, headers=login("staff1"))
    client.post(f"/api/v1/wishes/{wid}/claims", headers=login("member"))
    assert client.post(f"/api/v1/wishes/{wid}/complete", headers=login("member")).status_code == 403
    assert client.post(f"/api/v1/wishes/{wid}/complete", json={"note": "收到了"}, headers=login("resident")).status_code == 200
    for bad in ({"rating": 0}, {"rating": 6}, {"rating": "5"}, {"rating": 4.5}, {}, {"rating": 4, "x": 1}):
        resp = client.post(f"/api/v1/wishes/{wid}/rating", json=bad, headers=login("resident"))
        assert resp.status_code == 422, bad
    assert client.post(f"/api/v1/wishes/{wid}/rating", json={"rating": 4}, headers=login("member")).status_code == 403
    cancel = client.post(f"/api/v1/wishes/{wid}/cancel", headers=login("staff1"))
    assert cancel.status_code == 409 and error_code(cancel) == "INVALID_STATE"
    assert db.session.query(WishEvent).filter_by(wish_id=wid).count() == 4


def test_visibility(client, city, login, posted):
    wid = posted["id"]
    pending = client.post(f"/api/v1/communities/{city.c1.id}/wishes", json={"title": "另一条", "type": "物质"},
                          headers=login("member2")).get_json()

    def ids(who, qs=""):
        resp = client.get(f"/api/v1/communities/{city.c1.id}/wishes{qs}", headers=login(who))
        assert resp.status_code == 200, resp.get_json()
        return [w["id"] for w in resp.get_json()["items"]]

    assert ids("staff1") == [pending["id"], wid]  # staff see all, newest first
    assert ids("staff1", "?status=待审批") == [pending["id"], wid]
    assert ids("member") == []  # nothing approved yet
    assert ids("resident") == [wid]  # but one's own wish is visible
    assert client.get(f"/api/v1/wishes/{wid}", headers=login("member")).status_code == 403
    assert client.get(f"/api/v1/wishes/{wid}", headers=login("resident")).status_code == 200
    assert client.get(f"/api/v1/wishes/{wid}", headers=login("streetadm")).status_code == 200
    client.post(f"/api/v1/wishes/{wid}/decision", json={"approve": True}, headers=login("staff1"))
    assert ids("member") == [wid]
    assert ids("member", "?status=已通过") == [wid]
    assert ids("resident", "?mine=1") == [wid]
    assert ids("member", "?mine=1") == []
    assert client.get(f"/api/v1/wishes/{wid}", headers=login("member")).get_json()["status"] == "已通过"
    assert client.get(f"/api/v1/communities/{city.c1.id}/wishes?status=开心", headers=login("member")).status_code == 422
    assert client.get("/api/v1/communities/999/wishes", headers=login("member")).status_code == 404
    assert client.get("/api/v1/wishes/999", headers=login("member")).status_code == 404
    assert client.get(f"/api/v1/communities/{city.c1.id}/wishes").status_code == 401


def test_list_paging(client, city, login):
    h = login("resident")
    made = [client.post(f"/api/v1/communities/{city.c1.id}/wishes", json={"title": f"愿望{i}", "type": "物质"},
                        headers=h).get_json()["id"] for i in range(5)]
    first = client.get(f"/api/v1/communities/{city.c1.id}/wishes?limit=2", headers=h).get_json()
    seen = [w["id"] for w in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(f"/api/v1/communities/{city.c1.id}/wishes?limit=2&cursor={cursor}", headers=h).get_json()
        seen += [w["id"] for w in page["items"]]
        cursor = page["next_cursor"]
    assert seen == list(reversed(made))


def test_openapi_lists_task_and_wish_endpoints(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/communities/{community_id}/tasks", "/api/v1/tasks", "/api/v1/tasks/{task_id}",
                 "/api/v1/tasks/{task_id}/cancel", "/api/v1/tasks/{task_id}/claims", "/api/v1/tasks/{task_id}/claims/me",
                 "/api/v1/communities/{community_id}/wishes", "/api/v1/wishes/{wish_id}",
                 "/api/v1/wishes/{wish_id}/decision", "/api/v1/wishes/{wish_id}/claims",
                 "/api/v1/wishes/{wish_id}/complete", "/api/v1/wishes/{wish_id}/cancel", "/api/v1/wishes/{wish_id}/rating"):
        assert path in spec["paths"], path
    assert "WishSchema" in spec["components"]["schemas"] or "Wish" in spec["components"]["schemas"]


def test_my_wishes_across_communities(client, city, login):
    """GET /me/wishes: what the caller posted (in any community) or claimed, newest first,
    never someone else's; it pages and filters by status."""
    resident, member, staff1 = login("resident"), login("member"), login("staff1")

    def post(community, title):
        resp = client.post(f"/api/v1/communities/{community.id}/wishes", json={"title": title, "type": "物质"},
                           headers=resident)
        assert resp.status_code == 201
        return resp.get_json()["id"]

    def mine(who, qs=""):
        resp = client.get(f"/api/v1/me/wishes{qs}", headers=login(who))
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    a, b = post(city.c1, "轮椅"), post(city.c2, "书包")
    other = client.post(f"/api/v1/communities/{city.c1.id}/wishes", json={"title": "别人的", "type": "物质"},
                        headers=login("member2")).get_json()["id"]
    assert [w["id"] for w in mine("resident")["items"]] == [b, a]
    assert mine("member")["items"] == []
    client.post(f"/api/v1/wishes/{a}/decision", json={"approve": True}, headers=staff1)
    client.post(f"/api/v1/wishes/{other}/decision", json={"approve": True}, headers=staff1)
    assert client.post(f"/api/v1/wishes/{a}/claims", headers=member).status_code == 201
    claimed = mine("member")["items"]
    assert [w["id"] for w in claimed] == [a] and claimed[0]["claimer_name"] == "member"
    assert claimed[0]["resident_name"] == "resident" and "events" not in claimed[0]
    assert [w["id"] for w in mine("resident", "?status=已认领")["items"]] == [a]
    assert [w["id"] for w in mine("resident", "?status=待审批")["items"]] == [b]
    first = mine("resident", "?limit=1")
    assert [w["id"] for w in first["items"]] == [b] and first["next_cursor"]
    rest = mine("resident", f"?limit=1&cursor={first['next_cursor']}")
    assert [w["id"] for w in rest["items"]] == [a] and rest["next_cursor"] is None
    assert other not in [w["id"] for w in mine("resident")["items"]]
    assert client.get("/api/v1/me/wishes?status=开心", headers=resident).status_code == 422
    assert client.get("/api/v1/me/wishes").status_code == 401
