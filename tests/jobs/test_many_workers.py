"""Background work across many machines: failures between a side effect and its commit, jobs RQ
gave up on pushed again by drain, and two cron processes firing the same job at once."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from backend.db import utcnow
from backend.extensions import db
from backend.feedback import exportjobs
from backend.feedback.models import ExportJob
from backend.jobs import drain
from backend.notifications import sender
from backend.notifications.models import Notification
from backend.notifications.services import notify
from backend.reports import roster
from backend.reports.models import ReportReminder
from tests.helpers import needs_pg
from tests.jobs.util import run_worker

SEND = "/cgi-bin/message/subscribe/send"


def _later(seconds):
    return time_machine.travel(utcnow() + timedelta(seconds=seconds))


def _n(nid) -> Notification:
    db.session.expire_all()
    return db.session.get(Notification, nid)


def test_a_failed_commit_after_wechat_answered_does_not_leave_the_notification_sending(
        app, city, wechat, monkeypatch):
    """WeChat accepted the message, then the commit recording it failed: the job's RQ retry finds
    the row "sending" under the dead attempt's lease. It must be looked at again once the lease
    is over, not left "sending" for ever with its outbox job done."""
    real, broke = sender._record, []

    def commit_fails_once(n, errcode, error):
        if not broke:
            broke.append(errcode)
            db.session.rollback()
            raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))
        return real(n, errcode, error)

    monkeypatch.setattr(sender, "_record", commit_fails_once)
    nid = notify(city.member.id, "task_cancelled", {"task_id": 5, "title": "周末清扫楼道", "reason": "天气原因"},
                 ref_type="task", ref_id=5).id
    db.session.commit()
    run_worker(app)
    assert broke == [0] and _n(nid).status == "sending"
    with _later(15):
        run_worker(app, with_scheduler=True)  # RQ's retry of the job: someone holds the lease
        assert _n(nid).status == "sending"
        with _later(sender.LEASE.total_seconds() + 60):
            drain(app)
            run_worker(app)
    n = _n(nid)
    assert n.status == "sent" and n.claimed_at is None
    with _later(3600):
        assert drain(app) == 0  # nothing left behind


@pytest.fixture
def broken_export(monkeypatch):
    """An export kind whose build always fails with a technical error; builds counts its runs."""
    builds = []

    def build(job, path, progress):
        builds.append(job.id)
        raise KeyError("sheet 'members' column 17 /srv/files/exports")

    monkeypatch.setitem(exportjobs.REGISTRY, "test_broken",
                        exportjobs.Exporter("test_broken", lambda user, scope_type, scope_id: None, build))
    return builds


def test_an_export_rq_gave_up_on_stays_failed_when_drain_pushes_it_again(app, client, login, city,
                                                                          broken_export):
    job_id = exportjobs.start_export("test_broken", ("unit", city.u1.id), {}, city.unit1).id
    db.session.commit()
    run_worker(app)
    offset = 0
    for delay in exportjobs.RQ_RETRY.intervals:
        offset += delay + 1
        with _later(offset):
            run_worker(app, with_scheduler=True)
    assert len(broken_export) == exportjobs.MAX_RUNS
    headers = login("unit1")
    body = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
    assert body["status"] == "failed"
    # the reader sees a message meant for them, not the exception's repr
    assert "KeyError" not in body["error"] and "/srv/files" not in body["error"] and "导出失败" in body["error"]
    # RQ gave up; the outbox row is not done, so drain pushes it again once it looks stale
    with _later(offset + 600):
        drain(app)
        run_worker(app)
        drain(app)
        run_worker(app)
    assert len(broken_export) == exportjobs.MAX_RUNS  # not built again: the user starts a new export
    db.session.expire_all()
    row = db.session.get(ExportJob, job_id)
    assert row.status == "failed" and row.attempts == exportjobs.MAX_RUNS
    with _later(offset + 3600):
        assert drain(app) == 0


def test_an_export_whose_every_run_was_killed_ends_failed_not_started_for_ever(app, client, login, city,
                                                                                 broken_export):
    """Each run was killed (out of memory, say) before it could say anything: after MAX_RUNS of
    them the next push gives up and tells the reader, instead of building again and again until
    the outbox stops pushing it, and showing "started" for ever after."""
    job_id = exportjobs.start_export("test_broken", ("unit", city.u1.id), {}, city.unit1).id
    db.session.commit()
    db.session.query(ExportJob).filter_by(id=job_id).update(
        {"status": "started", "attempts": exportjobs.MAX_RUNS, "started_at": utcnow()})
    db.session.commit()
    run_worker(app)  # the job pushed again after the last killed run
    assert broken_export == []
    body = client.get(f"/api/v1/jobs/{job_id}", headers=login("unit1")).get_json()
    assert body["status"] == "failed" and "导出失败" in body["error"]


@needs_pg
def test_two_cron_processes_firing_the_monthly_reminders_at_once_remind_each_person_once(app, city):
    """Every `flask cron` process enqueues the monthly job: two runs overlap on the 1st."""
    from backend.reports import jobs as report_jobs
    from backend.reports.reminders import remind_unreported

    roster.upsert_roster(city.unit1, city.u1.id, [{"name": "丙", "phone": "13800000003"},
                                                  {"name": "丁", "phone": "13800000004"}])
    db.session.commit()
    assert len(remind_unreported()) == 2  # the first run, its transaction still open
    second = []

    def other_machine():
        with app.app_context():
            second.append(report_jobs.remind_unreported())

    t = threading.Thread(target=other_machine)
    t.start()
    t.join(1.0)  # the second run overlaps the first...
    db.session.commit()  # ...which commits only now
    t.join(30)
    assert not t.is_alive()
    assert second == [0]
    assert db.session.scalar(select(func.count()).select_from(ReportReminder)) == 2


def test_a_redis_blip_does_not_end_the_cron_process(app, monkeypatch):
    """RQ's cron loop ends on any Redis error; `flask cron` must not end with it (every process
    would be gone after one blip, and with them drain and every periodic job). It starts the same
    scheduler again, whose jobs keep the times they were due at."""
    import redis
    from rq.cron import CronScheduler

    from backend.jobs import worker

    runs = []

    def start(self):
        runs.append((self, [j.func_name for j in self.get_jobs()]))
        if len(runs) == 1:
            raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        # the second time: stopped by SIGTERM, start() returns

    monkeypatch.setattr(CronScheduler, "start", start)
    monkeypatch.setattr(worker.time, "sleep", lambda seconds: None)
    worker.run_cron(app)
    assert len(runs) == 2 and runs[0][0] is runs[1][0]
    assert "backend.reports.jobs.remind_unreported" in runs[1][1] and "backend.jobs.drain" in runs[1][1]

