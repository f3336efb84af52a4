"""积分流水 of a community: GET /communities/{id}/transfers, the list its staff reverse from."""
from __future__ import annotations

import pytest

from backend.extensions import db
from backend.timebank.earn import award
from tests.helpers import error_code, needs_pg, rows_read_in_generic_plans


def _earn(city, community, who, points, ref_id):
    award(db.session, community_id=community.id, actor_id=city.staff1.id, entries=[
        {"user_id": who.id, "amount": points, "ref_type": "test", "ref_id": ref_id, "memo": f"服务{ref_id}"}])
    db.session.commit()


def _items(client, headers, community, **query):
    resp = client.get(f"/api/v1/communities/{community.id}/transfers", query_string=query, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


@pytest.fixture
def earned(city):
    _earn(city, city.c1, city.member, 30, 1)
    _earn(city, city.c1, city.member2, 20, 2)
    _earn(city, city.c2, city.member, 99, 3)  # another community's
    _earn(city, city.c1, city.member, 10, 4)


def test_newest_first_with_names_and_reversals(client, city, login, earned):
    staff = login("staff1")
    first = _items(client, staff, city.c1)["items"]
    assert [(i["kind"], i["amount"], i["user_id"], i["direction"], i["account"]) for i in first] == [
        ("earn", 10, city.member.id, "out", "issuance"), ("earn", 20, city.member2.id, "out", "issuance"),
        ("earn", 30, city.member.id, "out", "issuance")]
    assert [i["name"] for i in first] == ["member", "member2", "member"] and "138" not in str(first)
    assert first[0]["memo"] == "服务4" and first[0]["actor_id"] == city.staff1.id and first[0]["reversed_by"] is None
    wrong = first[1]
    resp = client.post(f"/api/v1/transfers/{wrong['id']}/reversal", json={"reason": "记错人了"}, headers=staff)
    assert resp.status_code == 201, resp.get_json()
    after = _items(client, staff, city.c1)["items"]
    assert (after[0]["kind"], after[0]["direction"], after[0]["reverses_id"], after[0]["user_id"]) == (
        "reverse", "in", wrong["id"], city.member2.id)
    assert next(i for i in after if i["id"] == wrong["id"])["reversed_by"] == resp.get_json()["id"]
    # the street admin reads it too; c2's own list has only its earning
    assert len(_items(client, login("streetadm"), city.c1)["items"]) == 4
    assert [i["amount"] for i in _items(client, login("staff2"), city.c2)["items"]] == [99]


def test_filters_and_pages(client, city, login, earned):
    staff = login("staff1")
    mine = _items(client, staff, city.c1, user_id=city.member.id)["items"]
    assert [i["amount"] for i in mine] == [10, 30]
    assert _items(client, staff, city.c1, user_id=city.resident.id)["items"] == []  # no wallet
    assert [i["amount"] for i in _items(client, staff, city.c1, kind="earn")["items"]] == [10, 20, 30]
    assert _items(client, staff, city.c1, kind="redeem")["items"] == []
    seen, cursor = [], None
    while True:
        page = _items(client, staff, city.c1, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [i["amount"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [10, 20, 30]
    page = _items(client, staff, city.c1, user_id=city.member.id, limit=1)
    assert [i["amount"] for i in page["items"]] == [10]
    rest = _items(client, staff, city.c1, user_id=city.member.id, limit=1, cursor=page["next_cursor"])
    assert [i["amount"] for i in rest["items"]] == [30] and rest["next_cursor"] is None


@pytest.mark.parametrize("who,community,status", [
    ("staff2", "c1", 403), ("member", "c1", 403), ("unit1", "c1", 403), ("resident", "c1", 403),
    ("streetadm", "c3", 403), ("staff1", "c3", 403)])
def test_who_may_read(client, city, login, earned, who, community, status):
    resp = client.get(f"/api/v1/communities/{getattr(city, community).id}/transfers", headers=login(who))
    assert resp.status_code == status and error_code(resp) == "FORBIDDEN"


def test_bad_filters_are_422(client, city, login):
    for query in ({"kind": "gift"}, {"limit": 0}, {"limit": 101}, {"cursor": "not-a-cursor"}, {"user_id": "x"}):
        resp = client.get(f"/api/v1/communities/{city.c1.id}/transfers", query_string=query, headers=login("staff1"))
        assert resp.status_code == 422 and error_code(resp) == "VALIDATION_ERROR", query


@needs_pg
def test_a_page_reads_a_page_whatever_the_history(city):
    """2,000 earnings in c1: the newest 20 read a few dozen transfer rows, not the issuance account's all."""
    from backend.timebank.journal import community_transfers

    award(db.session, community_id=city.c1.id, actor_id=city.staff1.id, entries=[
        {"user_id": (city.member if i % 2 else city.member2).id, "amount": 1, "ref_type": "bulk", "ref_id": i,
         "memo": ""} for i in range(2000)])
    db.session.commit()
    for kwargs in ({}, {"user_id": city.member.id}):
        plans = rows_read_in_generic_plans(
            lambda: community_transfers(db.session, city.c1.id, limit=21, **kwargs), analyze=("transfers",))
        read = [p[1].get("transfers", 0) for p in plans if "transfers" in p[0]]
        assert read and max(read) <= 21 * 4 + 21, (kwargs, read)
