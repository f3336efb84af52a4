"""Faults: Redis gone while people keep scanning and donating; PostgreSQL connections killed
in the middle of a transfer; an RQ worker killed mid-export."""
from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import openpyxl

import psycopg
import pytest
import redis
from sqlalchemy import func, select, text

from backend.attendance import services as attendance
from backend.extensions import db
from backend.jobs import RQ_RETRY, drain, get_queue
from backend.jobs.models import OutboxJob
from tests.helpers import ON_PG, error_code, needs_pg
from tests.reliability.foreign import token_for
from tests.reliability.helpers import fund, running_task


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
    # the transfer will wait for the donor's wallet row
    holder.execute("SELECT * FROM ledger_accounts WHERE user_id = %s AND kind = 'wallet' FOR UPDATE", (city.member.id,))
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


def _wait_for(pred, timeout: float, what: str, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = pred()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: the worker exited with {proc.returncode}")
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


@pytest.mark.slow
def test_worker_killed_mid_export_is_retried_into_one_file(app, city, tmp_path):
    """A worker building a feedback workbook is SIGKILLed (its work horse too, as when its machine
    dies); once its heartbeat has lapsed RQ's registry clean-up retries the job and another
    worker (`flask --app wsgi worker`) builds it: the job finishes and there is one file."""
    from rq.job import Job, JobStatus
    from rq.registry import StartedJobRegistry

    from backend.feedback.models import ExportJob
    from backend.jobs import rq_job_id
    from backend.reports.models import APPROVED, MemberReport
    from tests.reliability import processes as P

    db.session.add(MemberReport(user_id=city.member.id, community_id=city.c1.id, unit_id=city.u1.id, name="张三",
                                phone="13812345678", status=APPROVED))
    db.session.commit()
    env = {"APP_ENV": "production", "SECRET_KEY": app.config["SECRET_KEY"],
           "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
           "REDIS_URL": app.config["REDIS_URL_RESOLVED"], "FILES_DIR": app.config["FILES_DIR"],
           "RQ_QUEUE": app.config["RQ_QUEUE"]}
    exports = os.path.join(app.config["FILES_DIR"], "exports")
    shutil.rmtree(exports, ignore_errors=True)
    gate = str(tmp_path / "horse.pid")
    log = open(tmp_path / "killed-worker.log", "w")
    doomed = subprocess.Popen([sys.executable, "-m", "tests.reliability.halting_worker", gate], cwd=P.ROOT,
                              env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    try:
        headers = token_for(city.unit1)
        client = app.test_client()
        resp = client.post(f"/api/v1/units/{city.u1.id}/feedback-exports", json={"period": "2026-Q4"},
                           headers=headers)
        assert resp.status_code == 202, resp.get_json()
        job_id = resp.get_json()["job_id"]
        horse = int(_wait_for(lambda: os.path.exists(gate) and open(gate).read(), 60, "the export never started",
                              doomed))
        status = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
        assert status["status"] == "started" and status["progress"] == 40, status
        os.kill(horse, signal.SIGKILL)
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(10)
        _wait_for(lambda: _gone(horse), 10, "the work horse survived SIGKILL")
    finally:
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait()
        log.close()

    final = f"unit_feedback-{job_id}.xlsx"
    assert sorted(os.listdir(exports)) == [final + ".part"]  # half a workbook, under the temporary name
    outbox_id = db.session.get(ExportJob, job_id).outbox_id
    redis_conn = app.extensions["redis"]
    rq = Job.fetch(rq_job_id(outbox_id), connection=redis_conn)
    assert rq.get_status() == JobStatus.STARTED  # nobody told RQ: the worker just vanished
    registry = StartedJobRegistry(queue=get_queue(app))
    registry.cleanup()  # now: the dead worker's heartbeat has not lapsed, so the job is not run twice
    assert rq.get_status() == JobStatus.STARTED
    expires = max(score for _, score in redis_conn.zrange(registry.key, 0, -1, withscores=True))

    with P.worker(env, tmp_path / "survivor.log") as survivor:
        # What any worker's maintenance does once the heartbeat has lapsed (61-90 s of real time):
        # the abandoned job is retried (RQ_RETRY: first interval 10 s).
        registry.cleanup(timestamp=expires + 1)
        rq.refresh()
        assert rq.get_status() == JobStatus.SCHEDULED and rq.retries_left == RQ_RETRY.max - 1

        def finished():
            db.session.rollback()
            body = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
            return body if body["status"] in ("finished", "failed") else None

        status = _wait_for(finished, 90, "the survivor never finished the export", survivor)
    assert status["status"] == "finished" and status["progress"] == 100, status
    assert sorted(os.listdir(exports)) == [final]  # one file: the dead run's .part was overwritten
    db.session.expire_all()
    row = db.session.get(ExportJob, job_id)
    assert row.attempts == 2 and row.file_name == f"exports/{final}"
    outbox = db.session.get(OutboxJob, outbox_id)
    assert outbox.done_at is not None and outbox.attempts == 2
    download = client.get(status["result_url"], headers=headers)
    assert download.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(download.data))
    names = [r[1] for r in wb["成员"].iter_rows(min_row=2, values_only=True)]
    assert names == ["张三"]
    assert rq.get_status(refresh=True) == JobStatus.FINISHED


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:  # a zombie child of the killed worker, reaped by init later, is gone too
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True
