"""The quarterly job: issue the previous quarter for every unit, once, and notify unit admins."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from backend.extensions import db
from backend.feedback.jobs import issue_batch, issue_previous_quarter
from backend.feedback.models import FeedbackIssue
from backend.feedback.periods import previous_quarter
from backend.jobs.worker import cron_entries
from backend.notifications.models import Notification

# 2027-01-01 01:00 in Shanghai, when the cron fires
NEW_YEAR = datetime(2026, 12, 31, 17, 0, tzinfo=timezone.utc)


def test_cron_entry_runs_at_the_start_of_each_quarter():
    entries = [e for e in cron_entries() if e["func"] == "backend.feedback.jobs.issue_previous_quarter"]
    assert entries == [{"func": "backend.feedback.jobs.issue_previous_quarter", "cron": "0 1 1-3 1,4,7,10 *"}]


def test_previous_quarter():
    assert previous_quarter(NEW_YEAR) == "2026-Q4"
    assert previous_quarter(datetime(2026, 3, 31, 16, 30, tzinfo=timezone.utc)) == "2026-Q1"  # 04-01 00:30 local
    assert previous_quarter(datetime(2026, 7, 15, tzinfo=timezone.utc)) == "2026-Q2"


def test_scheduled_job_issues_every_unit_notifies_admins_and_locks(client, login, city, report, work,
                                                                   time_machine):
    report(city.member, city.c1, city.u1)
    time_machine.move_to(NEW_YEAR)
    assert issue_previous_quarter() == 1  # one batch job, through the outbox
    assert db.session.query(FeedbackIssue).count() == 0
    work()
    db.session.expire_all()
    issues = {(i.unit_id, i.period) for i in db.session.scalars(select(FeedbackIssue))}
    assert issues == {(city.u1.id, "2026-Q4"), (city.u2.id, "2026-Q4")}
    sent = list(db.session.scalars(select(Notification).where(Notification.kind == "feedback_ready")))
    assert sorted(n.user_id for n in sent) == sorted([city.unit1.id, city.unit2.id])
    mine = next(n for n in sent if n.user_id == city.unit1.id)
    assert mine.data["period"] == "2026-Q4" and mine.data["unit"] == "一单位" and mine.data["members"] == 1
    # evaluations of the issued quarter are locked now
    resp = client.post(f"/api/v1/communities/{city.c1.id}/evaluations", headers=login("staff1"),
                       json={"user_id": city.member.id, "period": "2026-Q4", "rating": "合格"})
    assert resp.status_code == 409
    issued_at = client.get(f"/api/v1/units/{city.u1.id}/feedback?period=2026-Q4",
                           headers=login("unit1")).get_json()["issued_at"]
    assert issued_at.startswith("2027-01-01T01:00")
    # run again (a retry, a second scheduler): nothing new, nobody notified twice
    assert issue_previous_quarter() == 0
    assert issue_batch([city.u1.id, city.u2.id], "2026-Q4", NEW_YEAR.isoformat()) == 0
    assert db.session.query(Notification).filter_by(kind="feedback_ready").count() == 2


def test_many_units_fan_out_in_batches(app, city, work, time_machine, monkeypatch):
    from backend.feedback import jobs
    from backend.jobs.models import OutboxJob
    from backend.orgs import services as orgs

    for n in range(5):
        orgs.create_unit(f"批量单位{n}", "企业", street_id=city.street.id)
    db.session.commit()
    monkeypatch.setattr(jobs, "UNITS_PER_JOB", 3)
    time_machine.move_to(NEW_YEAR)
    assert issue_previous_quarter() == 3  # 7 units in batches of 3
    assert db.session.query(OutboxJob).filter_by(func="backend.feedback.jobs.issue_batch").count() == 3
    work()
    db.session.expire_all()
    assert db.session.query(FeedbackIssue).filter_by(period="2026-Q4").count() == 7


def test_scheduled_job_through_a_real_worker(app, city, work, time_machine):
    from backend.jobs import get_queue

    time_machine.move_to(NEW_YEAR)
    get_queue(app).enqueue("backend.feedback.jobs.issue_previous_quarter")
    work()
    db.session.expire_all()
    assert db.session.query(FeedbackIssue).filter_by(period="2026-Q4").count() == 2
    assert db.session.query(Notification).filter_by(kind="feedback_ready").count() == 2


def test_rq_cron_fires_on_the_first_day_of_the_quarter(app, city, report, work):
    """Registered with RQ's own CronScheduler as `flask cron` does: nothing before the quarter
    starts, then one run that issues the quarter just ended for every unit."""
    from zoneinfo import ZoneInfo

    import time_machine
    from rq.cron import CronScheduler

    from backend.feedback.jobs import CRON
    from backend.jobs import get_queue

    report(city.member, city.c1, city.u1)
    (entry,) = CRON
    scheduler = CronScheduler(connection=app.extensions["redis"])
    with time_machine.travel(datetime(2026, 11, 20, 4, tzinfo=timezone.utc), tick=False):
        job = scheduler.register(issue_previous_quarter, app.config["RQ_QUEUE"], cron=entry["cron"])
    due = job.next_enqueue_time.astimezone(ZoneInfo("Asia/Shanghai"))
    assert (due.year, due.month, due.day, due.hour) == (2027, 1, 1, 9)
    queue = get_queue(app)
    queue.empty()
    with time_machine.travel(datetime(2027, 1, 1, 0, 59, tzinfo=timezone.utc), tick=False):
        assert scheduler.enqueue_jobs() == []
    with time_machine.travel(datetime(2027, 1, 1, 1, 0, 1, tzinfo=timezone.utc), tick=True):
        assert [j.func_name for j in scheduler.enqueue_jobs()] == [entry["func"]]
        work()
    db.session.expire_all()
    assert {(i.unit_id, i.period) for i in db.session.scalars(select(FeedbackIssue))} == {
        (city.u1.id, "2026-Q4"), (city.u2.id, "2026-Q4")}
    assert db.session.query(Notification).filter_by(kind="feedback_ready").count() == 2
    # the next day it runs again (a lost first run is not retried by RQ's cron): nothing new
    with time_machine.travel(datetime(2027, 1, 2, 1, 0, 1, tzinfo=timezone.utc), tick=True):
        assert [j.func_name for j in scheduler.enqueue_jobs()] == [entry["func"]]
        work()
    db.session.expire_all()
    assert db.session.query(FeedbackIssue).count() == 2
    assert db.session.query(Notification).filter_by(kind="feedback_ready").count() == 2
