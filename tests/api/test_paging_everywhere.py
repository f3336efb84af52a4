"""Paging across every list endpoint: bad limits and cursors answer 422, pages cover every item once."""
import base64
import json
import re
from datetime import timedelta

import pytest

from backend.db import utcnow
from backend.orgs import services as orgs

from tests.helpers import error_code, walk_pages


def _b64(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _paged_endpoints(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    out = []
    for path, ops in spec["paths"].items():
        get = ops.get("get")
        if not get:
            continue
        names = {p["name"] for p in get.get("parameters", []) + ops.get("parameters", []) if p.get("in") == "query"}
        if "cursor" in names:
            out.append(path)
    return sorted(out)


def _fill(path, city):
    ids = {"task_id": 1, "community_id": city.c1.id, "unit_id": city.u1.id, "street_id": city.street.id, "user_id": city.member.id}
    return re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), 1)), path)


BAD_LIMITS = ["0", "-1", "101", "99999999999999999999", "1.5", "abc", "", "1e3", "０"]
# cursors no list endpoint ever hands out: 422 everywhere
GARBAGE = ["!!!", "²", "¹⁰", "NaN", _b64("x"), _b64(None), _b64(True), _b64([]), _b64({}), _b64(1.5),
           _b64([1e308, 1]), _b64(["2026-01-01", "x"]), _b64(["0001-01-01T00:00:00+08:00", 1])]
# cursors of some endpoint's shape, or out of range: whatever they page, never a 500
ODD = ["٣", "-1", "1e3", "9" * 200, "MjA", _b64(-1), _b64(10 ** 30), _b64({"o": 5}),
       _b64(["2026-01-01T00:00:00+08:00", 1]), _b64(["9999-12-31T23:59:59-14:00", 2 ** 70])]


def test_no_list_endpoint_answers_500_for_a_bad_limit_or_cursor(client, login, city):
    _tasks_at(city, utcnow() + timedelta(days=1), 1)
    paths = _paged_endpoints(client)
    assert len(paths) > 10
    h = login("admin")
    bad = []
    for path in paths:
        url = _fill(path, city)
        extra = {"period": "2026-Q4"} if path.endswith("/feedback") else {}
        base = client.get(url, query_string={"limit": 5, **extra}, headers=h)
        if base.status_code != 200:
            bad.append((path, "base", base.status_code, base.get_json()))
            continue
        for limit in BAD_LIMITS:
            r = client.get(url, query_string={"limit": limit, **extra}, headers=h)
            if r.status_code != 422:
                bad.append((path, "limit", limit, r.status_code))
        for cur in GARBAGE + ODD:
            r = client.get(url, query_string={"cursor": cur, "limit": 5, **extra}, headers=h)
            if r.status_code == 500 or (cur in GARBAGE and r.status_code != 422):
                bad.append((path, "cursor", cur, r.status_code))
    assert bad == []


# -- walking every page ------------------------------------------------------------------------

def _walk(client, url, headers, limit):
    seen, cursor, pages = [], None, 0
    while True:
        sep = "&" if "?" in url else "?"
        resp = client.get(f"{url}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else ""), headers=headers)
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        assert len(body["items"]) <= limit
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        pages += 1
        if cursor is None:
            return seen, pages
        assert body["items"], "a next_cursor on an empty page"
        assert pages < 200


def _tasks_at(city, start, n, **kw):
    from backend.extensions import db
    from backend.tasks import services

    out = []
    for i in range(n):
        out.append(services.create_task(
            city.staff1, city.c1.id, title=f"任务{i}", starts_at=start, ends_at=start + timedelta(hours=2),
            capacity=5, location_name="小区广场", lat=30.59, lng=114.30, points_per_hour=10,
            skills=kw.get("skills", []), category="关爱"))
    db.session.commit()
    return out


@pytest.mark.parametrize("limit", [1, 2, 100])
def test_tasks_sharing_a_start_are_each_listed_once_in_start_then_id_order(client, city, login, limit):
    start = (utcnow() + timedelta(days=2)).replace(microsecond=123456)
    made = _tasks_at(city, start, 5) + _tasks_at(city, start - timedelta(hours=1), 2) \
        + _tasks_at(city, start + timedelta(hours=1), 2)
    expected = [t.id for t in sorted(made, key=lambda t: (t.starts_at, t.id))]
    seen, pages = _walk(client, "/api/v1/tasks?status=all", login("resident"), limit)
    assert seen == expected
    assert pages == max(1, -(-len(expected) // limit))  # no trailing empty page: null exactly at the end


def test_a_task_added_between_pages_neither_repeats_nor_hides_others(client, city, login):
    start = utcnow() + timedelta(days=2)
    made = _tasks_at(city, start, 4)
    h = login("resident")
    first = client.get("/api/v1/tasks?limit=2", headers=h).get_json()
    early = _tasks_at(city, start - timedelta(hours=3), 1)  # sorts before the page already read
    late = _tasks_at(city, start, 1)  # same start, higher id: after everything
    seen = walk_pages(client, "/api/v1/tasks?limit=2", h, first)
    assert seen == [t.id for t in made] + [late[0].id]
    assert early[0].id not in seen


def test_recommended_pages_do_not_repeat_a_task_when_one_is_added_meanwhile(client, city, login, monkeypatch):
    from backend.tasks import queries

    monkeypatch.setattr(queries, "skills_of", lambda uid: ["医疗"] if uid == city.member.id else [])
    start = utcnow() + timedelta(days=2)
    made = _tasks_at(city, start, 3)
    h = login("member")
    first = client.get("/api/v1/tasks?recommended=1&limit=1", headers=h).get_json()
    assert [t["id"] for t in first["items"]] == [made[0].id]
    _tasks_at(city, start + timedelta(days=1), 1, skills=["医疗"])  # a better match: ranks first
    seen = walk_pages(client, "/api/v1/tasks?recommended=1&limit=1", h, first)
    assert len(seen) == len(set(seen)), seen
    assert [t.id for t in made] == [i for i in seen if i in {t.id for t in made}]


def test_recommended_rejects_foreign_and_tampered_cursors(client, city, login):
    _tasks_at(city, utcnow() + timedelta(days=2), 3)
    h = login("member")
    first = client.get("/api/v1/tasks?limit=1", headers=h).get_json()  # the plain list's cursor
    for cur in [first["next_cursor"], _b64({"m": "x", "s": "2026-01-01T00:00:00+08:00", "i": 1}),
                _b64({"m": 1, "s": "2026-01-01T00:00:00", "i": 1}), _b64({"m": 1, "s": 5, "i": 1}),
                _b64({"m": 1, "s": "0001-01-01T00:00:00+08:00", "i": 1}), _b64([1, 2, 3]), _b64(7)]:
        resp = client.get("/api/v1/tasks", query_string={"recommended": 1, "cursor": cur}, headers=h)
        assert resp.status_code == 422, (cur, resp.get_json())
        assert error_code(resp) == "VALIDATION_ERROR"
    seen, pages = _walk(client, "/api/v1/tasks?recommended=1", h, 1)
    assert len(seen) == 3 == len(set(seen)) and pages == 3


@pytest.mark.parametrize("path,make", [
    ("/api/v1/communities", lambda city, i: orgs.create_community(f"翻页社区{i:02d}", street_id=city.street.id)),
    ("/api/v1/units", lambda city, i: orgs.create_unit(f"翻页单位{i:02d}", "企业", street_id=city.street.id)),
])
def test_community_and_unit_search_pages_past_the_limit(client, city, login, path, make):
    """More matches than the limit: next_cursor is not null, and the cursor reaches the rest."""
    from backend.extensions import db

    made = [make(city, i).id for i in range(7)]
    db.session.commit()
    h = login("resident")
    seen, pages = _walk(client, f"{path}?q=翻页", h, 3)
    assert seen == made and pages == 3
    assert client.get(f"{path}?q=翻页&cursor=!!!", headers=h).status_code == 422


def test_statement_pages_cover_every_transfer_once_also_with_one_arriving_between_pages(client, city, login):
    from backend.timebank.earn import award
    from backend.extensions import db

    def give(ref):
        award(db.session, community_id=city.c1.id, actor_id=None, entries=[
            {"user_id": city.member.id, "amount": 5, "ref_type": "test", "ref_id": ref, "memo": "测试"}])
        db.session.commit()

    for ref in range(1, 6):
        give(ref)
    h = login("member")
    first = client.get("/api/v1/me/transfers?limit=2", headers=h).get_json()
    give(99)  # newer than everything: not on the later pages
    ids, cursor = [i["id"] for i in first["items"]], first["next_cursor"]
    while cursor:
        body = client.get(f"/api/v1/me/transfers?limit=2&cursor={cursor}", headers=h).get_json()
        ids += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
    assert len(ids) == 5 == len(set(ids)) and ids == sorted(ids, reverse=True)
    everything, pages = _walk(client, "/api/v1/me/transfers", h, 100)
    assert len(everything) == 6 and pages == 1
    one_by_one, pages = _walk(client, "/api/v1/me/transfers", h, 1)
    assert one_by_one == everything and pages == 6


def test_attendance_roster_walks_every_claimer_once(client, city, login):
    from backend.auth.services import grant_role
    from backend.extensions import db
    from backend.seed import user_for

    task = _tasks_at(city, utcnow() + timedelta(days=1), 1)[0]
    task.capacity = 10
    people = [user_for(f"claimer{i}", name=f"认领{i}") for i in range(5)]
    for p in people:
        grant_role(None, p.id, "member", community_id=city.c1.id)
    db.session.commit()
    for i, p in enumerate(people):
        assert client.post(f"/api/v1/tasks/{task.id}/claims", headers=login(f"claimer{i}")).status_code in (200, 201)
    h = login("staff1")
    seen, cursor, pages = [], None, 0
    while True:
        url = f"/api/v1/tasks/{task.id}/attendances?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=h).get_json()
        seen += [i["user_id"] for i in body["items"]]
        cursor, pages = body["next_cursor"], pages + 1
        if not cursor:
            break
    assert seen == sorted(p.id for p in people) and pages == 3
    assert client.get(f"/api/v1/tasks/{task.id}/attendances?cursor={_b64(['x', 1])}", headers=h).status_code == 422
