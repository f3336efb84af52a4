"""The street dashboard's shared answer: served while young, computed once, refreshed ahead by the cron."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import redis
import time_machine

from backend.extensions import db
from backend.oversight import dashboard_cache
from tests.helpers import error_code
from tests.oversight import world
from tests.oversight.world import NOW, PERIOD, at


@pytest.fixture
def cached(app, monkeypatch):
    monkeypatch.setitem(app.config, "STREET_DASHBOARD_MAX_AGE", 300)
    return 300


@pytest.fixture
def built(city):
    return world.build(city)


def _street(client, login, city, who="streetadm"):
    resp = client.get(f"/api/v1/streets/{city.street.id}/dashboard?period={PERIOD}", headers=login(who))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _one_more_task(city):
    world._task(city.c1, "新任务", at(2026, 12, 1), at(2026, 12, 1, 12))
    db.session.commit()


def test_answer_is_shared_until_max_age_then_computed_again(client, login, city, built, cached):
    with time_machine.travel(NOW, tick=False):
        first = _street(client, login, city)
        _one_more_task(city)
        again = _street(client, login, city, who="admin")  # another reader, the same answer
        community = client.get(f"/api/v1/communities/{city.c1.id}/dashboard?period={PERIOD}",
                               headers=login("staff1")).get_json()
    assert first["tasks"] == again["tasks"] == 2 and again["as_of"] == first["as_of"]
    assert community["tasks"] == 2  # a community's own dashboard is computed per request (T1 + the new one)
    with time_machine.travel(NOW + timedelta(seconds=299), tick=False):
        assert _street(client, login, city)["tasks"] == 2
    with time_machine.travel(NOW + timedelta(seconds=301), tick=False):
        later = _street(client, login, city)
    assert later["tasks"] == 3 and later["as_of"] > first["as_of"]
    assert later["communities"][0]["tasks"] == 2 and later["members_active"] == first["members_active"]


def test_who_may_read_is_checked_before_the_shared_answer(client, login, city, built, cached):
    with time_machine.travel(NOW, tick=False):
        _street(client, login, city)
        for who in ("staff1", "member", "unit1"):
            resp = client.get(f"/api/v1/streets/{city.street.id}/dashboard?period={PERIOD}", headers=login(who))
            assert resp.status_code == 403 and error_code(resp) == "FORBIDDEN"
            assert "communities" not in str(resp.get_json())
        bad = client.get(f"/api/v1/streets/{city.street.id}/dashboard?period=9999", headers=login("admin"))
        assert bad.status_code == 422


def test_redis_unavailable_each_request_computes(app, client, login, city, built, cached, monkeypatch):
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    monkeypatch.setitem(app.extensions, "redis", dead)
    with time_machine.travel(NOW, tick=False):
        assert _street(client, login, city)["tasks"] == 2
        _one_more_task(city)
        assert _street(client, login, city)["tasks"] == 3


def test_concurrent_readers_share_one_computation(app):
    r = app.extensions["redis"]
    calls = []
    gate = threading.Barrier(6)

    def compute():
        calls.append(1)
        time.sleep(0.3)
        return {"tasks": len(calls)}

    got = []

    def reader():
        gate.wait()
        got.append(dashboard_cache.served(r, 7, PERIOD, compute, 300))

    threads = [threading.Thread(target=reader) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len(got) == 6 and all(g == got[0] for g in got) and got[0]["tasks"] == 1


def test_a_stale_answer_is_served_while_another_process_computes(app):
    r = app.extensions["redis"]
    with time_machine.travel(NOW, tick=False):
        old = dashboard_cache.served(r, 7, PERIOD, lambda: {"tasks": 1}, 300)
    lock = r.lock(dashboard_cache._key(7, PERIOD) + ":lock", timeout=30)
    assert lock.acquire(blocking=False)  # another process is computing
    try:
        with time_machine.travel(NOW + timedelta(seconds=400), tick=False):
            got = dashboard_cache.served(r, 7, PERIOD, lambda: pytest.fail("computed twice"), 300)
        assert got == old and got["tasks"] == 1
    finally:
        lock.release()
    with time_machine.travel(NOW + timedelta(seconds=400), tick=False):
        assert dashboard_cache.served(r, 7, PERIOD, lambda: {"tasks": 2}, 300)["tasks"] == 2


def test_the_cron_refreshes_dashboards_being_read_and_only_those(app, client, login, city, built, cached):
    from backend.jobs.worker import cron_entries
    from backend.oversight.jobs import refresh_wanted

    assert {"func": "backend.oversight.jobs.refresh_dashboards", "interval": dashboard_cache.REFRESH_EVERY} \
        in cron_entries()
    r = app.extensions["redis"]
    with time_machine.travel(NOW, tick=False):
        first = _street(client, login, city)
        _one_more_task(city)
        assert refresh_wanted() == 0  # still young
    with time_machine.travel(NOW + timedelta(seconds=250), tick=False):  # stale before the next run
        assert refresh_wanted() == 1
        assert refresh_wanted() == 0
        now = _street(client, login, city)
    assert now["tasks"] == 3 and now["as_of"] > first["as_of"]
    other = r.get(dashboard_cache._key(city.other_street.id, PERIOD))
    assert other is None  # nobody read it, nobody computed it
    with time_machine.travel(NOW + timedelta(seconds=250 + dashboard_cache.WANTED_FOR + 1), tick=False):
        assert dashboard_cache.wanted(r) == [] and refresh_wanted() == 0  # read too long ago


def test_the_cron_forgets_a_street_that_is_gone(app, cached):
    from backend.oversight.jobs import refresh_wanted

    r = app.extensions["redis"]
    r.zadd(dashboard_cache.WANTED, {f"99999:{PERIOD}": time.time()})
    assert refresh_wanted() == 0
    assert dashboard_cache.wanted(r) == []
