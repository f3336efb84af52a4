"""Reminders: not reported or stale, never twice within 7 days; the job, the CLI and the cron entry."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import time_machine
from sqlalchemy import func, select

from backend.extensions import db
from backend.notifications.models import Notification
from backend.reports import roster, services
from backend.reports.models import ReportReminder
from backend.reports.reminders import remind_unreported

T0 = datetime(2027, 3, 1, 1, 0, tzinfo=timezone.utc)


def make_roster(city):
    """甲 (resident) approved at T0, 乙 (member) pending, 丙 no account, 丁 rejected (member2)."""
    with time_machine.travel(T0, tick=False):
        roster.upsert_roster(city.unit1, city.u1.id, [
            {"name": "甲", "phone": "13800000001"}, {"name": "乙", "phone": "13800000002"},
            {"name": "丙", "phone": "13800000003"}, {"name": "丁", "phone": "13800000004"}])
        a = services.file_member_report(city.resident, community_id=city.c1.id, unit_id=city.u1.id,
                                        name="甲", phone="13800000001")
        services.decide_member_report(city.staff1, a.id, True)
        services.file_member_report(city.member, community_id=city.c1.id, unit_id=city.u1.id,
                                    name="乙", phone="13800000002")
        d = services.file_member_report(city.member2, community_id=city.c1.id, unit_id=city.u1.id,
                                        name="丁", phone="13800000004")
        services.decide_member_report(city.staff1, d.id, False, "信息不符")
        db.session.commit()


def reminders():
    return [(r.unit_member_id, r.reason, r.user_id) for r in db.session.scalars(
        select(ReportReminder).order_by(ReportReminder.id))]


def test_not_reported_get_reminded_pending_and_fresh_do_not(city):
    make_roster(city)
    out = remind_unreported(now=T0 + timedelta(days=1))
    got = {(r.reason, r.user_id) for r in out}
    assert got == {("not_reported", None), ("not_reported", city.member2.id)}
    notes = db.session.scalars(select(Notification).where(Notification.kind == "report_reminder")).all()
    assert [n.user_id for n in notes] == [city.member2.id] and notes[0].data["unit"] == "一单位"


def test_not_twice_within_seven_days(city):
    make_roster(city)
    assert len(remind_unreported(now=T0 + timedelta(days=1))) == 2
    assert remind_unreported(now=T0 + timedelta(days=7)) == []
    assert len(remind_unreported(now=T0 + timedelta(days=8, hours=1))) == 2
    assert len(reminders()) == 4


def test_stale_after_six_months(city):
    make_roster(city)
    assert not any(r.reason == "stale" for r in remind_unreported(now=datetime(2027, 8, 31, tzinfo=timezone.utc)))
    with time_machine.travel(datetime(2027, 9, 2, 1, tzinfo=timezone.utc), tick=False):
        out = remind_unreported()
    stale = [r for r in out if r.reason == "stale"]
    assert [(r.user_id, r.unit_id) for r in stale] == [(city.resident.id, city.u1.id)]
    note = db.session.scalar(select(Notification).where(Notification.user_id == city.resident.id,
                                                        Notification.kind == "report_reminder"))
    assert note.data["reason"] == "stale" and "6" in note.data["message"]


def test_months_is_configurable_and_unit_filter(city):
    make_roster(city)
    out = remind_unreported(city.u1.id, months=1, now=datetime(2027, 4, 2, tzinfo=timezone.utc))
    assert {r.reason for r in out} == {"stale", "not_reported"} and len(out) == 3
    assert remind_unreported(city.u2.id, now=datetime(2027, 5, 2, tzinfo=timezone.utc)) == []


def test_removed_roster_member_not_reminded(city):
    make_roster(city)
    from backend.reports.models import UnitMember

    row = db.session.scalar(select(UnitMember).where(UnitMember.phone == "13800000003"))
    roster.remove_roster_member(city.unit1, city.u1.id, row.id)
    assert [r.user_id for r in remind_unreported(now=T0 + timedelta(days=1))] == [city.member2.id]


def test_job_commits_and_cli_runs(app, city):
    make_roster(city)
    from backend.reports.jobs import CRON, remind_unreported as job

    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        assert job() == 2
    db.session.rollback()
    assert db.session.scalar(select(func.count(ReportReminder.id))) == 2  # committed by the job
    with time_machine.travel(T0 + timedelta(days=30), tick=False):
        result = app.test_cli_runner().invoke(args=["remind-reports", "--unit", str(city.u1.id)])
    assert result.exit_code == 0 and "reminders recorded: 2" in result.output
    from backend.jobs.worker import cron_entries

    assert [e for e in cron_entries() if e["func"] == "backend.reports.jobs.remind_unreported"] == CRON


def test_rq_cron_enqueues_it_at_nine_beijing_on_the_first(app, city):
    """Registered with RQ's own CronScheduler as `flask cron` does; a worker then runs it."""
    from zoneinfo import ZoneInfo

    from rq import SimpleWorker
    from rq.cron import CronScheduler

    from backend.jobs import get_queue
    from backend.reports.jobs import CRON

    make_roster(city)
    (entry,) = CRON
    redis = app.extensions["redis"]
    with time_machine.travel(datetime(2027, 3, 15, 4, tzinfo=timezone.utc), tick=False):
        scheduler = CronScheduler(connection=redis)
        module, _, name = entry["func"].rpartition(".")
        job = scheduler.register(getattr(__import__(module, fromlist=[name]), name), app.config["RQ_QUEUE"],
                                 cron=entry["cron"])
    due = job.next_enqueue_time.astimezone(ZoneInfo("Asia/Shanghai"))
    assert (due.year, due.month, due.day, due.hour, due.minute) == (2027, 4, 1, 9, 0)
    with time_machine.travel(datetime(2027, 4, 1, 0, 59, tzinfo=timezone.utc), tick=False):
        assert scheduler.enqueue_jobs() == []
    queue = get_queue(app)
    queue.empty()
    with time_machine.travel(datetime(2027, 4, 1, 1, 0, 1, tzinfo=timezone.utc), tick=False):
        assert [j.func_name for j in scheduler.enqueue_jobs()] == [entry["func"]]
        assert len(queue) == 1
        SimpleWorker([queue], connection=redis).work(burst=True)
    db.session.rollback()
    assert db.session.scalar(select(func.count(ReportReminder.id))) == 2
    # again on the 2nd (a run lost on the 1st is not retried): those reminded are left alone
    with time_machine.travel(datetime(2027, 4, 2, 1, 0, 1, tzinfo=timezone.utc), tick=False):
        assert [j.func_name for j in scheduler.enqueue_jobs()] == [entry["func"]]
        SimpleWorker([queue], connection=redis).work(burst=True)
    db.session.rollback()
    assert db.session.scalar(select(func.count(ReportReminder.id))) == 2
