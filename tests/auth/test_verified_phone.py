"""A phone WeChat vouches for (getPhoneNumber through wechatpy, the fake platform answering):
bound with POST /api/v1/me/phone, shown to oneself, used by a 双报到 report that names none, and
marked verified to the staff who decide the report; a bad code changes nothing."""
from __future__ import annotations

from backend.auth.models import User
from backend.extensions import db
from tests.helpers import error_code

PATH = "/wxa/business/getuserphonenumber"


def _bind(client, headers, code):
    return client.post("/api/v1/me/phone", json={"code": code}, headers=headers)


def _user(uid) -> User:
    db.session.expire_all()
    return db.session.get(User, uid)


def test_binding_a_phone_through_wechat(client, city, login, wechat):
    h = login("resident")
    assert client.get("/api/v1/me", headers=h).get_json()["phone_verified"] is False
    resp = _bind(client, h, "phone-13912345678")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["phone"] == "13912345678" and resp.get_json()["verified_at"].endswith("+08:00")
    me = client.get("/api/v1/me", headers=h).get_json()
    assert (me["phone"], me["phone_verified"]) == ("13912345678", True)
    # the code went to WeChat's getPhoneNumber with an access_token wechatpy fetched and keeps
    [call] = wechat.calls(PATH)
    assert call["body"] == {"code": "phone-13912345678"} and call["args"]["access_token"]
    export = client.get("/api/v1/me/export", headers=h).get_json()["profile"]
    assert export["verified_phone"] == "13912345678" and export["phone_verified_at"]


def test_bad_codes_and_wechat_failures_change_nothing(client, city, login, wechat):
    h = login("resident")
    for code, status, err in (("nonsense", 422, "PHONE_CODE_INVALID"), ("used-phone-13912345678", 422, "PHONE_CODE_INVALID"),
                              ("phone-852-91234567", 422, "PHONE_CODE_INVALID")):
        resp = _bind(client, h, code)
        assert resp.status_code == status and error_code(resp) == err, (code, resp.get_json())
    assert "大陆" in _bind(client, h, "phone-852-91234567").get_json()["error"]["message"]
    wechat.fail(PATH, 45011)
    assert error_code(_bind(client, h, "phone-13912345678")) == "WECHAT_RATE_LIMITED"
    wechat.fail(PATH, -1)
    assert error_code(_bind(client, h, "phone-13912345678")) == "WECHAT_UNAVAILABLE"
    assert _bind(client, h, "").status_code == 422
    assert client.post("/api/v1/me/phone", json={"code": "phone-13912345678"}).status_code == 401
    user = _user(city.resident.id)
    assert (user.verified_phone, user.phone_verified_at, user.phone) == (None, None, None)


def test_a_report_uses_and_shows_the_verified_phone(client, city, login, wechat):
    member, staff = login("resident"), login("staff1")
    body = {"community_id": city.c1.id, "unit_id": city.u1.id, "name": "李明", "skills": []}
    missing = client.post("/api/v1/member-reports", json=body, headers=member)
    assert missing.status_code == 422 and "phone" in missing.get_json()["error"]["details"]
    assert _bind(client, member, "phone-13912345678").status_code == 200
    filed = client.post("/api/v1/member-reports", json=body, headers=member)
    assert filed.status_code == 201, filed.get_json()
    assert (filed.get_json()["phone"], filed.get_json()["phone_verified"]) == ("13912345678", True)
    pending = client.get(f"/api/v1/communities/{city.c1.id}/member-reports?status=pending", headers=staff).get_json()
    [row] = [r for r in pending["items"] if r["id"] == filed.get_json()["id"]]
    assert row["phone_verified"] is True
    # a number typed instead is the reporter's word only
    other = client.post("/api/v1/member-reports", json={**body, "phone": "13700000000"}, headers=login("member2"))
    assert other.status_code == 201 and other.get_json()["phone_verified"] is False


def test_closing_the_account_erases_the_verified_phone(client, city, login, wechat):
    h = login("resident")
    assert _bind(client, h, "phone-13912345678").status_code == 200
    assert client.delete("/api/v1/me", headers=h).status_code in (200, 204)
    user = _user(city.resident.id)
    assert (user.verified_phone, user.phone_verified_at, user.phone) == (None, None, None)
