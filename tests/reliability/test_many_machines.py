"""Many machines: two gunicorn apps (different ports) and two RQ workers on one PostgreSQL
database and one Redis db behave as one. Nothing lives only in a process's memory."""
from __future__ import annotations

import os
import time
from contextlib import ExitStack

import pytest
import requests

from backend.attendance import services as attendance
from tests.helpers import needs_pg
from tests.reliability import processes as P
from tests.reliability.helpers import fund, running_task
from tests.reliability.spec_tools import spec_of

pytestmark = [pytest.mark.slow, needs_pg]


@pytest.fixture
def machines(app, tmp_path):
    """Two apps A and B, two workers, and the fake platform, each its own process."""
    wport = P.free_port()
    env = {"APP_ENV": "production", "SECRET_KEY": app.config["SECRET_KEY"],
           "DATABASE_URL": os.environ["TEST_DATABASE_URL"], "REDIS_URL": os.environ["TEST_REDIS_URL"],
           "WECHAT_API_BASE": f"http://127.0.0.1:{wport}/", "FILES_DIR": str(tmp_path / "files")}
    ports = [P.free_port(), P.free_port()]
    with ExitStack() as stack:
        stack.enter_context(P.platform(wport))
        for i, port in enumerate(ports):
            stack.enter_context(P.gunicorn(port, env, tmp_path / f"app{i}.log"))
        workers = [stack.enter_context(P.worker(env, tmp_path / f"worker{i}.log")) for i in range(2)]
        yield type("Machines", (), {"a": f"http://127.0.0.1:{ports[0]}", "b": f"http://127.0.0.1:{ports[1]}",
                                    "platform": f"http://127.0.0.1:{wport}", "workers": workers, "logs": tmp_path})


def _login(base: str, code: str) -> dict:
    r = requests.post(base + "/api/v1/auth/login", json={"code": code}, timeout=10)
    assert r.status_code == 200, r.text
    return {"Authorization": "Bearer " + r.json()["token"]}


def _calls(m, path: str) -> list:
    return requests.get(m.platform + "/__mock__/calls", params={"path": path}, timeout=5).json()


def test_a_login_on_one_is_valid_on_the_other_and_the_access_token_is_fetched_once(machines, city):
    headers = _login(machines.a, "staff1")
    me_a = requests.get(machines.a + "/api/v1/me", headers=headers, timeout=10).json()
    me_b = requests.get(machines.b + "/api/v1/me", headers=headers, timeout=10).json()
    assert me_a == me_b and me_a["id"] == city.staff1.id
    _login(machines.b, "member")
    _login(machines.a, "member2")
    assert len(_calls(machines, "/sns/jscode2session")) == 3
    assert not _calls(machines, "/cgi-bin/token")  # code2Session needs no access_token
    # a 小程序码 needs one: drawn on A, then on B, the token is fetched once and shared through Redis
    task = running_task(city.c1.id, [city.member])
    url = requests.get(f"{machines.a}/api/v1/tasks/{task.id}/checkin-code", params={"action": "in"},
                       headers=headers, timeout=10).json()["image_url"]
    for base in (machines.a, machines.b):
        r = requests.get(base + url, params={"kind": "wxacode"}, timeout=10)
        assert r.status_code == 200 and r.headers["Content-Type"] == "image/png", r.text
    assert len(_calls(machines, "/wxa/getwxacodeunlimit")) == 2
    assert len(_calls(machines, "/cgi-bin/token")) == 1


def test_a_code_issued_by_one_is_accepted_by_the_other(machines, city):
    task = running_task(city.c1.id, [city.member])
    staff, member = _login(machines.a, "staff1"), _login(machines.b, "member")
    code = requests.get(f"{machines.a}/api/v1/tasks/{task.id}/checkin-code", params={"action": "in"},
                        headers=staff, timeout=10).json()["code"]
    r = requests.post(machines.b + "/api/v1/checkins", json={"code": code, "lat": 30.5, "lng": 114.3},
                      headers=member, timeout=10)
    assert r.status_code == 201, r.text
    again = requests.post(machines.a + "/api/v1/checkins", json={"code": code, "lat": 30.5, "lng": 114.3},
                          headers=member, timeout=10)
    assert again.status_code == 200 and again.json()["at"] == r.json()["at"]
    assert attendance.issue_code("T", task.id, "in")["code"] == code  # same secret, same window, same code


def test_a_donation_on_a_fresh_app_is_replayed_by_the_other(machines, city):
    """The donation is app B's first request after its health check (a worker that has run no ORM
    query yet: the ledger's hot path once met its mappers unconfigured there); its retry on A
    answers the same transfer and nothing is posted twice."""
    fund(city.c1.id, [city.member.id, city.member2.id], 30)  # both wallets exist: no ORM on the way
    member = _login(machines.a, "member")
    body, key = {"to_user_id": city.member2.id, "amount": 7, "memo": "谢谢"}, {"Idempotency-Key": "fresh-1"}
    first = requests.post(machines.b + "/api/v1/transfers", json=body, headers={**member, **key}, timeout=10)
    assert first.status_code == 201, first.text
    again = requests.post(machines.a + "/api/v1/transfers", json=body, headers={**member, **key}, timeout=10)
    assert again.status_code == 201 and again.json() == first.json()
    account = requests.get(machines.b + "/api/v1/me/account", headers=member, timeout=10).json()
    assert account["balance"] == 23


def test_jobs_deferred_on_either_app_are_run_by_the_workers(machines, city):
    """Report approvals on A and on B notify; the two workers deliver every message exactly once."""
    staff = _login(machines.a, "staff1")
    people = ["resident", "member2"]
    for i, code in enumerate(people):
        base = (machines.a, machines.b)[i % 2]
        mine = _login(base, code)
        rep = requests.post(base + "/api/v1/member-reports", headers=mine, timeout=10, json={
            "community_id": city.c1.id, "unit_id": city.u1.id, "name": f"报到人{i}", "phone": "13800003333",
            "skills": []})
        assert rep.status_code == 201, rep.text
        d = requests.post(f"{base}/api/v1/member-reports/{rep.json()['id']}/decision", headers=staff,
                          json={"approve": True}, timeout=10)
        assert d.status_code == 200, d.text
    deadline = time.time() + 30
    while time.time() < deadline and len(_calls(machines, "/cgi-bin/message/subscribe/send")) < len(people):
        time.sleep(0.3)
    sent = _calls(machines, "/cgi-bin/message/subscribe/send")
    assert len(sent) == len(people), [c["path"] for c in sent]
    assert all(w.poll() is None for w in machines.workers)


def test_an_export_enqueued_on_one_is_built_by_either_worker(app, machines, city):
    paths = spec_of(app)["paths"]
    route = f"/api/v1/communities/{{community_id}}/exports"
    if route not in paths:
        pytest.skip("the export endpoint has not landed yet")
    staff = _login(machines.a, "staff1")
    r = requests.post(f"{machines.a}/api/v1/communities/{city.c1.id}/exports", headers=staff, timeout=10,
                      json={"kind": "members", "format": "csv"})
    assert r.status_code == 202, r.text
    job = r.json()["job_id"]
    deadline, status = time.time() + 60, {}
    while time.time() < deadline:
        status = requests.get(f"{machines.b}/api/v1/jobs/{job}", headers=staff, timeout=10).json()
        if status.get("status") in ("finished", "failed"):
            break
        time.sleep(0.5)
    assert status.get("status") == "finished" and status.get("result_url"), status


def test_a_street_dashboard_computed_on_one_is_served_by_the_other(machines, city):
    """The figures are computed once and shared through Redis (STREET_DASHBOARD_MAX_AGE, 300 s
    in production), whichever process a street admin's next request reaches."""
    headers = _login(machines.a, "streetadm")
    url = f"/api/v1/streets/{city.street.id}/dashboard"
    first = requests.get(machines.a + url, headers=headers, timeout=30)
    assert first.status_code == 200, first.text
    running_task(city.c1.id, [city.member])  # one more task: a fresh computation would count it
    second = requests.get(machines.b + url, headers=headers, timeout=30)
    assert second.status_code == 200, second.text
    assert second.json() == first.json() and second.json()["as_of"] == first.json()["as_of"]
