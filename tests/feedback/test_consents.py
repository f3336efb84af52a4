"""Consents (PIPL Art. 23): opt-in per purpose, each change kept with time and policy version."""
from __future__ import annotations

from sqlalchemy import select

from backend.extensions import db
from backend.feedback.consents import consent_history
from backend.feedback.models import ConsentChange
from tests.helpers import error_code

URL = "/api/v1/me/consents"


def test_not_granted_until_the_person_says_so(client, login, city):
    items = client.get(URL, headers=login("member")).get_json()["items"]
    assert [(i["purpose"], i["granted"], i["at"], i["policy_version"]) for i in items] == [
        ("unit_feedback", False, None, None)]


def test_each_change_is_kept_with_time_and_policy_version(app, client, login, city, time_machine):
    headers = login("member")
    resp = client.put(URL + "/unit_feedback", json={"granted": True}, headers=headers)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["granted"] is True and body["policy_version"] == app.config["PRIVACY_POLICY_VERSION"]
    assert body["at"].endswith("+08:00")
    client.put(URL + "/unit_feedback", json={"granted": True}, headers=headers)  # a repeat: no change
    app.config["PRIVACY_POLICY_VERSION"] = "2027-01"
    try:
        client.put(URL + "/unit_feedback", json={"granted": False}, headers=headers)
    finally:
        app.config["PRIVACY_POLICY_VERSION"] = "2026-11"
    history = consent_history(city.member.id, "unit_feedback")
    assert [(h["granted"], h["policy_version"]) for h in history] == [(True, "2026-11"), (False, "2027-01")]
    items = client.get(URL, headers=headers).get_json()["items"]
    assert items[0]["granted"] is False and items[0]["policy_version"] == "2027-01"
    assert db.session.scalar(select(ConsentChange.user_id).distinct()) == city.member.id


def test_unknown_purpose_bad_body_and_no_login(client, login, city):
    headers = login("member")
    resp = client.put(URL + "/marketing", json={"granted": True}, headers=headers)
    assert resp.status_code == 404 and error_code(resp) == "NOT_FOUND"
    resp = client.put(URL + "/unit_feedback", json={"granted": "maybe"}, headers=headers)
    assert resp.status_code == 422 and "granted" in resp.get_json()["error"]["details"]
    assert client.put(URL + "/unit_feedback", json={}, headers=headers).status_code == 422
    assert client.get(URL).status_code == 401
    assert client.put(URL + "/unit_feedback", json={"granted": True}).status_code == 401
