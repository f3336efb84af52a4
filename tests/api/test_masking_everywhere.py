"""Phones, openids, session_keys and household addresses across every GET in the OpenAPI.

A world in c1 with distinctive phones (the member's, a second member's, a household's) and a
distinctive address is built through the API; then each viewer who is not c1's staff calls every
GET that can show another person, and no body (nor export file) may hold those values in full.
The member reads their own data and sees their own phone in full."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from backend.auth.models import User
from backend.db import utcnow
from backend.extensions import db
from backend.jobs import get_queue
from tests.reliability import spec_tools as st
from tests.reliability.foreign import token_for

P_MEMBER = "13912345678"
P_MEMBER2 = "13987654321"
P_HOUSE = "13711112222"
P_ROSTER = "13655556666"  # on u1's roster only, never reported
ADDRESS = "幸福路88号3栋502"
SESSION_KEY = "sk-canary-4242"
QUARTER = f"{utcnow().year}-Q{(utcnow().month - 1) // 3 + 1}"


def _ok(resp, *codes):
    assert resp.status_code in (codes or (200, 201, 202)), (resp.status_code, resp.get_json())
    return resp.get_json()


@pytest.fixture
def world(app, client, login, city):
    H = token_for
    staff, unit1 = H(city.staff1), H(city.unit1)
    member, member2, resident = login("member"), login("member2"), login("resident")
    ids = {}
    for who, phone, name in ((member, P_MEMBER, "甲党员"), (member2, P_MEMBER2, "乙党员")):
        r = _ok(client.post("/api/v1/member-reports", headers=who, json={
            "community_id": city.c1.id, "unit_id": city.u1.id, "name": name, "phone": phone, "skills": []}))
        _ok(client.post(f"/api/v1/member-reports/{r['id']}/decision", headers=staff, json={"approve": True}))
        ids.setdefault("report_id", r["id"])
    roster = client.post(f"/api/v1/units/{city.u1.id}/members", headers=unit1, json={"members": [
        {"name": "甲党员", "phone": P_MEMBER}, {"name": "丙党员", "phone": P_ROSTER}]})
    _ok(roster, 200, 201)
    ur = _ok(client.post("/api/v1/unit-reports", headers=unit1, json={
        "unit_id": city.u1.id, "community_id": city.c1.id, "resources": ["场地"], "needs": ["培训"]}))
    ids["unit_report_id"] = ur["id"]
    start = utcnow() + timedelta(days=2)
    task = _ok(client.post(f"/api/v1/communities/{city.c1.id}/tasks", headers=staff, json={
        "title": "清扫楼道", "description": "", "category": "环境", "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(), "location": {"name": "广场", "lat": 30.59, "lng": 114.3},
        "capacity": 5, "points_per_hour": 10, "skills": []}))
    ids["task_id"] = task["id"]
    for who in (member, member2):
        _ok(client.post(f"/api/v1/tasks/{task['id']}/claims", headers=who))
    wish = _ok(client.post(f"/api/v1/communities/{city.c1.id}/wishes", headers=resident, json={
        "title": "想要一本字典", "description": "给孙子", "type": "物质"}))
    ids["wish_id"] = wish["id"]
    _ok(client.post(f"/api/v1/wishes/{wish['id']}/decision", headers=staff, json={"approve": True}))
    _ok(client.post(f"/api/v1/wishes/{wish['id']}/claims", headers=member))
    h = _ok(client.post(f"/api/v1/communities/{city.c1.id}/households", headers=staff, json={
        "address": ADDRESS, "head_name": "钱奶奶", "phone": P_HOUSE, "tags": ["独居"]}))
    ids["household_id"] = h["id"]
    _ok(client.post(f"/api/v1/households/{h['id']}/links", headers=staff, json={"user_id": city.member.id}))
    v = _ok(client.post(f"/api/v1/households/{h['id']}/visits", headers=member, json={
        "visited_at": (utcnow() - timedelta(hours=1)).isoformat(), "minutes": 30, "note": "聊天"}))
    ids["visit_id"] = v["id"]
    m = _ok(client.post(f"/api/v1/communities/{city.c1.id}/meetings", headers=staff, json={
        "kind": "党课", "title": "学习", "starts_at": (utcnow() + timedelta(days=1)).isoformat(),
        "ends_at": (utcnow() + timedelta(days=1, hours=1)).isoformat(), "location": "会议室",
        "member_ids": [city.member.id, city.member2.id]}))
    ids["meeting_id"] = m["id"]
    post = _ok(client.post(f"/api/v1/communities/{city.c1.id}/duty-posts", headers=staff, json={
        "name": "楼栋长", "duties": "看楼", "seats": 2}))
    ids["post_id"] = post["id"]
    _ok(client.post(f"/api/v1/duty-posts/{post['id']}/holders", headers=member))
    _ok(client.post(f"/api/v1/duty-posts/{post['id']}/holders/{city.member.id}/decision", headers=staff,
                    json={"approve": True}))
    ev = _ok(client.post(f"/api/v1/communities/{city.c1.id}/evaluations", headers=staff, json={
        "user_id": city.member.id, "period": QUARTER, "rating": "优秀", "comment": "好"}))
    ids["evaluation_id"] = ev["id"]
    _ok(client.post(f"/api/v1/communities/{city.c1.id}/follow-ups", headers=staff, json={
        "user_id": city.member2.id, "status": "已联系", "note": "电话联系"}))
    _ok(client.put("/api/v1/me/consents/unit_feedback", headers=member, json={"granted": True}))
    need = _ok(client.post(f"/api/v1/communities/{city.c1.id}/needs", headers=staff, json={
        "title": "培训", "category": "教育", "description": "电脑课"}))
    ids["need_id"] = need["id"]
    _served(city)
    cert = client.get("/api/v1/me/certificate", headers=member)
    assert cert.status_code == 200, cert.get_json()
    ids["code"] = cert.headers["X-Certificate-Code"]
    for u in db.session.scalars(select(User)).all():  # a session_key and an openid on everyone, to grep for
        u.session_key = SESSION_KEY
    db.session.commit()
    ids.update(community_id=city.c1.id, unit_id=city.u1.id, street_id=city.street.id,
               user_id=city.member.id, member_id=city.member.id)
    # c1's staff export the members with full phones: the job and the file are theirs alone
    job = _ok(client.post(f"/api/v1/communities/{city.c1.id}/exports", headers=staff,
                          json={"kind": "members", "format": "csv"}))
    SimpleWorker([get_queue(app)], connection=app.extensions["redis"]).work(burst=True)
    assert P_MEMBER in client.get(f"/api/v1/files/{job['job_id']}", headers=staff).get_data(as_text=True)
    ids["job_id"] = ids["file_id"] = job["job_id"]
    return ids


def _served(city):
    """A finished, confirmed hour of service for the member (for a certificate)."""
    from backend.attendance.models import CHECKED_OUT, Attendance
    from backend.attendance.staff import confirm
    from backend.tasks.models import Task

    at = utcnow() - timedelta(hours=1)
    task = Task(community_id=city.c1.id, title="义诊", starts_at=at - timedelta(hours=1), ends_at=at, capacity=5,
                points_per_hour=10, created_by_id=city.staff1.id)
    db.session.add(task)
    db.session.flush()
    db.session.add(Attendance(task_id=task.id, user_id=city.member.id, community_id=city.c1.id, status=CHECKED_OUT,
                              source="scan", minutes=60, checkin_at=at - timedelta(hours=1), checkout_at=at))
    db.session.flush()
    confirm(city.staff1, task.id, now=utcnow())
    db.session.commit()


def _gets(app):
    spec = st.spec_of(app)
    for method, path, op in st.operations(spec):
        if method == "get" and path.startswith("/api/v1/") and "checkin-code" not in path:
            yield path, op


def _queries(op):
    """The base query (period, a short quiet/unvisited window), then one per value of each enum."""
    base, variants = {}, []
    for p in op.get("parameters", []):
        if p.get("in") != "query":
            continue
        name, schema = p["name"], p.get("schema", {})
        if name == "period":
            base[name] = QUARTER
        elif name in ("months", "unvisited_days"):
            base[name] = 1
        variants += [(name, v) for v in schema.get("enum", []) if v is not None]
    return [base] + [{**base, k: v} for k, v in variants]


def _secrets(openids):
    return [P_MEMBER, P_MEMBER2, P_HOUSE, P_ROSTER, ADDRESS, SESSION_KEY, *openids]


def _xlsx_text(data: bytes) -> str:
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return data.decode("utf-8", "replace")
    return "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))


def _scan(app, client, headers, ids, allowed=()):
    openids = [u.openid for u in db.session.scalars(select(User)).all() if u.openid]
    secrets = [s for s in _secrets(openids) if s not in allowed]
    leaks = []
    for path, op in _gets(app):
        url = re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), 10**7)), path)
        for query in _queries(op):
            resp = client.get(url, headers=headers, query_string=query)
            assert resp.status_code < 500, (url, query, resp.status_code)
            text = resp.get_data().decode("utf-8", "replace")
            leaks += [(url, query, s) for s in secrets if s in text]
    return leaks


VIEWERS = ("member2", "resident", "unit1", "unit2", "streetadm", "staff2", "staff3")


@pytest.mark.parametrize("viewer", VIEWERS)
def test_no_get_shows_another_persons_phone_openid_session_key_or_address(app, client, city, world, viewer):
    headers = token_for(getattr(city, viewer))
    # member2 may see their own phone; nobody here may see the member's, the household's or the roster's
    allowed = (P_MEMBER2,) if viewer == "member2" else ()
    assert _scan(app, client, headers, world, allowed) == []


def test_c1s_staff_see_them_in_full_so_the_scan_can_find_them(app, client, city, world):
    leaks = {s for _, _, s in _scan(app, client, token_for(city.staff1), world)}
    assert {P_MEMBER, P_MEMBER2, P_HOUSE, ADDRESS} <= leaks
    assert SESSION_KEY not in leaks and not any(s.startswith("mock-") for s in leaks)


def test_the_member_sees_their_own_phone_in_full_and_no_one_elses(app, client, city, world):
    headers = token_for(city.member)
    report = client.get(f"/api/v1/member-reports/{world['report_id']}", headers=headers).get_json()
    assert report["phone"] == P_MEMBER
    export = client.get("/api/v1/me/export", headers=headers).get_data(as_text=True)
    assert P_MEMBER in export
    # the linked household's address and phone are the member's to see; the other member's phone is not
    leaks = _scan(app, client, headers, world, allowed=(P_MEMBER, P_HOUSE, ADDRESS))
    assert leaks == []


def _export_files(app, client, headers, url, body):
    resp = client.post(url, headers=headers, json=body)
    if resp.status_code != 202:
        return []
    SimpleWorker([get_queue(app)], connection=app.extensions["redis"]).work(burst=True)
    job = client.get(f"/api/v1/jobs/{resp.get_json()['job_id']}", headers=headers).get_json()
    assert job["status"] == "finished", job
    data = client.get(job["result_url"], headers=headers)
    assert data.status_code == 200
    return [_xlsx_text(data.data)]


@pytest.mark.parametrize("viewer", ("streetadm", "unit1"))
def test_exports_made_by_others_than_c1s_staff_hold_no_full_phone_or_address(app, client, city, world, viewer):
    headers = token_for(getattr(city, viewer))
    files = []
    for kind in ("members", "reports", "tasks", "attendances", "transfers", "households", "meetings"):
        for fmt in ("csv", "xlsx"):
            files += _export_files(app, client, headers, f"/api/v1/streets/{city.street.id}/exports",
                                   {"kind": kind, "format": fmt, "period": QUARTER})
            files += _export_files(app, client, headers, f"/api/v1/communities/{city.c1.id}/exports",
                                   {"kind": kind, "format": fmt, "period": QUARTER})
    files += _export_files(app, client, headers, f"/api/v1/units/{city.u1.id}/feedback-exports", {"period": QUARTER})
    files += _export_files(app, client, headers, f"/api/v1/streets/{city.street.id}/feedback-exports",
                           {"period": QUARTER})
    assert files, "no export was allowed"
    openids = [u.openid for u in db.session.scalars(select(User)).all() if u.openid]
    leaks = [s for text in files for s in _secrets(openids) if s in text]
    assert leaks == []

