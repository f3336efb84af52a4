"""Faults: Redis gone while people keep scanning and donating; PostgreSQL connections killed
in the middle of a transfer; an RQ worker killed mid-export."""
from __future__ import annotations

import threading
import time
import uuid

import psycopg
import pytest
import redis
from sqlalchemy import func, select, text

from backend.attendance import services as attendance
from backend.extensions import db
from backend.jobs import drain, get_queue
from backend.jobs.models import OutboxJob
from tests.helpers import ON_PG, error_code, needs_pg
from tests.reliability.foreign import token_for
from tests.reliability.helpers import fund, running_task
from tests.reliability.spec_tools import spec_of


@pytest.fixture
def dead_redis(app):
    """The app's Redis pointed at a port nobody listens on, then put back."""
    alive = app.extensions["redis"]
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again at once: connections are refused
    app.extensions["redis"] = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1, socket_timeout=1)
    yield alive
    app.extensions["redis"] = alive


def test_checkins_donations_and_decisions_go_on_without_redis(app, client, city, dead_redis):
    task = running_task(city.c1.id, [city.member, city.member2])
    fund(city.c1.id, [city.member.id], 100)
    code = attendance.issue_code("T", task.id, "in")["code"]
    report = client.post("/api/v1/member-reports", headers=token_for(city.resident), json={
        "community_id": city.c1.id, "unit_id": city.u1.id, "name": "居民甲", "phone": "13800002222", "skills": []})
    assert report.status_code == 201, report.get_json()
    assert dead_redis is not app.extensions["redis"]

    for who in (city.member, city.member2):
        resp = client.post("/api/v1/checkins", headers=token_for(who), json={"code": code, "lat": 30.5, "lng": 114.3})
        assert resp.status_code == 201, resp.get_json()
    resp = client.post("/api/v1/transfers", headers={**token_for(city.member), "Idempotency-Key": "k-redis-down"},
                       json={"to_user_id": city.member2.id, "amount": 7, "memo": "Redis 停了也能转"})
    assert resp.status_code == 201, resp.get_json()
    decided = client.post(f"/api/v1/member-reports/{report.get_json()['id']}/decision", headers=token_for(city.staff1),
                          json={"approve": True})
    assert decided.status_code == 200, decided.get_json()
    waiting = db.session.scalar(select(func.count()).select_from(OutboxJob).where(OutboxJob.enqueued_at.is_(None)))
    assert waiting >= 1  # the approval's notification waits in the outbox
    assert client.get("/api/v1/me/account", headers=token_for(city.member2)).get_json()["balance"] == 7

    app.extensions["redis"] = dead_redis  # Redis is back: the drainer pushes what waited
    pushed = drain(app)
    assert pushed == waiting
    queued = set(get_queue(app).job_ids)
    ids = set(db.session.scalars(select(OutboxJob.id)))
    assert {f"outbox-{i}" for i in ids} <= queued
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(OutboxJob).where(OutboxJob.enqueued_at.is_(None))) == 0


def _blocked_backend(url: str, timeout: float = 10) -> int:
    """The pid of the app's backend that waits on a lock."""
    deadline = time.time() + timeout
    with psycopg.connect(url, autocommit=True) as c:
        while time.time() < deadline:
            row = c.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()").fetchone()
            if row:
                return row[0]
            time.sleep(0.05)
    raise AssertionError("the transfer never reached the ledger lock")


@needs_pg
def test_connection_killed_mid_transfer_is_503_and_nothing_half_posted(app, city):
    fund(city.c1.id, [city.member.id], 100)
    fund(city.c1.id, [city.member2.id], 1)  # both wallets exist before the transfer
    url = str(db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False))
    before = db.session.scalar(text("SELECT count(*) FROM transfers"))
    holder = psycopg.connect(url)
    holder.execute("SELECT * FROM ledger_chain FOR UPDATE")  # the transfer will wait for this lock
    out = {}
    headers = {**token_for(city.member), "Idempotency-Key": "k-killed"}
    body = {"to_user_id": city.member2.id, "amount": 30, "memo": "断线"}

    def donate():
        out["resp"] = app.test_client().post("/api/v1/transfers", headers=headers, json=body)

    t = threading.Thread(target=donate)
    t.start()
    pid = _blocked_backend(url)
    with psycopg.connect(url, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
    holder.rollback()
    holder.close()
    t.join(30)
    resp = out["resp"]
    assert resp.status_code == 503 and error_code(resp) == "SERVICE_UNAVAILABLE", resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(text("SELECT count(*) FROM transfers")) == before
    client = app.test_client()
    assert client.get("/api/v1/admin/ledger/verify", headers=token_for(city.admin)).get_json()["ok"] is True
    again = client.post("/api/v1/transfers", headers={**token_for(city.member), "Idempotency-Key": "k-killed"},
                        json={"to_user_id": city.member2.id, "amount": 30, "memo": "断线"})
    assert again.status_code == 201, again.get_json()
    assert client.get("/api/v1/me/account", headers=token_for(city.member2)).get_json()["balance"] == 31


@pytest.mark.slow
def test_worker_killed_mid_export_is_retried_into_one_file(app):
    paths = spec_of(app)["paths"]
    if not any(p.endswith("/exports") or p.endswith("/feedback-exports") for p in paths):
        pytest.skip("no export endpoint has landed yet")
    pytest.skip("an export endpoint landed after this suite: the SIGKILL-mid-export scenario is still to write")
