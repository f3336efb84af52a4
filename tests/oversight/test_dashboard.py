"""Dashboards: every figure against the hand-built world, and who may read them."""
from __future__ import annotations

import pytest
import time_machine

from tests.helpers import error_code
from tests.oversight import world
from tests.oversight.world import EXPECTED_C1, EXPECTED_STREET, NOW, PERIOD


@pytest.fixture
def built(city):
    return world.build(city)


def _expected(base, city):
    out = dict(base)
    out["top_units"] = [{**u, "unit_id": city.u1.id} for u in base["top_units"]]
    return out


def test_community_dashboard_figures(client, login, city, built):
    with time_machine.travel(NOW, tick=False):
        resp = client.get(f"/api/v1/communities/{city.c1.id}/dashboard?period={PERIOD}", headers=login("staff1"))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    for key, value in _expected(EXPECTED_C1, city).items():
        assert body[key] == value, key
    assert body["period"] == PERIOD and body["community"]["id"] == city.c1.id
    assert "communities" not in body


def test_street_dashboard_figures_and_rows(client, login, city, built):
    with time_machine.travel(NOW, tick=False):
        resp = client.get(f"/api/v1/streets/{city.street.id}/dashboard?period={PERIOD}", headers=login("streetadm"))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    for key, value in _expected(EXPECTED_STREET, city).items():
        assert body[key] == value, key
    rows = {r["id"]: r for r in body["communities"]}
    assert set(rows) == {city.c1.id, city.c2.id}  # c3 is in another street
    c1, c2 = rows[city.c1.id], rows[city.c2.id]
    assert (c1["reported"], c1["listed"], c1["report_rate"]) == (2, 6, round(2 / 6, 4))
    assert (c2["reported"], c2["listed"], c2["report_rate"]) == (1, 4, 0.25)
    assert c1["minutes"] == {"scanned": 120, "manual": 90} and c2["minutes"] == {"scanned": 60, "manual": 0}
    assert (c1["members_active"], c2["members_active"]) == (3, 1)
    assert (c1["points_issued"], c2["points_issued"], c1["points_spent"]) == (120, 60, 50)
    assert (c1["tasks"], c2["tasks"], c1["quiet_members"], c2["quiet_members"]) == (1, 1, 1, 0)
    assert c2["meeting_attendance_rate"] is None and c1["needs_fulfilled"] == 1


def test_quiet_count_agrees_with_partywork(city, built):
    from backend.partywork.figures import quiet_count
    from backend.oversight import figures
    from backend.reports.services import months_before

    with time_machine.travel(NOW, tick=False):
        now = NOW.astimezone(world.timezone.utc)
        mine = figures.quiet_members([city.c1.id], now, months_before(now, 6))
        assert mine == {city.c1.id: quiet_count(city.c1.id, 6)} == {city.c1.id: 1}


def test_a_month_and_a_year(client, login, city, built):
    with time_machine.travel(NOW, tick=False):
        h = login("staff1")
        nov = client.get(f"/api/v1/communities/{city.c1.id}/dashboard?period=2026-11", headers=h).get_json()
        year = client.get(f"/api/v1/communities/{city.c1.id}/dashboard?period=2026", headers=h).get_json()
    assert nov["minutes_by_month"] == [{"month": "2026-11", "scanned": 120, "manual": 30}]
    assert (nov["tasks"], nov["wishes"], nov["points_spent"]) == (1, {"posted": 0, "fulfilled": 1}, 50)
    assert len(year["minutes_by_month"]) == 12 and year["tasks"] == 2  # T4 in May counts in the year
    assert year["wishes"] == {"posted": 4, "fulfilled": 2}


def test_empty_street_and_default_period(client, login, city):
    with time_machine.travel(NOW, tick=False):
        body = client.get(f"/api/v1/streets/{city.street.id}/dashboard", headers=login("admin")).get_json()
    assert body["period"] == "2026-Q4"
    assert body["report_rate"] is None and body["members_active"] == 0 and body["top_units"] == []
    assert [m["month"] for m in body["minutes_by_month"]] == ["2026-10", "2026-11", "2026-12"]


@pytest.mark.parametrize("who,path,status", [
    ("staff2", "/communities/{c1}/dashboard", 403),
    ("member", "/communities/{c1}/dashboard", 403),
    ("unit1", "/communities/{c1}/dashboard", 403),
    ("streetadm", "/communities/{c3}/dashboard", 403),
    ("streetadm", "/communities/{c1}/dashboard", 200),
    ("admin", "/communities/{c3}/dashboard", 200),
    ("staff1", "/streets/{s}/dashboard", 403),
    ("streetadm", "/streets/{s2}/dashboard", 403),
    ("admin", "/streets/{s2}/dashboard", 200),
    ("admin", "/streets/99999/dashboard", 404),
    ("admin", "/communities/99999/dashboard", 404),
])
def test_who_may_read(client, login, city, who, path, status):
    url = "/api/v1" + path.format(c1=city.c1.id, c3=city.c3.id, s=city.street.id, s2=city.other_street.id)
    resp = client.get(url, headers=login(who))
    assert resp.status_code == status, resp.get_json()
    if status == 403:
        assert error_code(resp) == "FORBIDDEN"


@pytest.mark.parametrize("period", ["2026-13", "2026-Q5", "26-Q1", "2026Q4", "2026-1", "x", "2026-00",
                                    "0000", "0001-Q1", "9999", "9999-12"])  # years a datetime cannot bound
def test_bad_period_is_422(client, login, city, period):
    for url in (f"/api/v1/communities/{city.c1.id}/dashboard", f"/api/v1/streets/{city.street.id}/dashboard"):
        resp = client.get(url, query_string={"period": period}, headers=login("admin"))
        assert resp.status_code == 422 and error_code(resp) == "VALIDATION_ERROR"
        assert "period" in str(resp.get_json()["error"]["details"])


def test_needs_login(client, city):
    assert client.get(f"/api/v1/streets/{city.street.id}/dashboard").status_code == 401
