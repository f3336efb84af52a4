"""Concurrent filings: the partial unique indexes keep one pending report per person on PostgreSQL."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from backend.errors import DomainError
from backend.extensions import db
from backend.reports import services, units
from backend.reports.models import MemberReport, UnitReport
from tests.helpers import needs_pg


def race(app, n, action):
    barrier = threading.Barrier(n)
    outcomes = []

    def run(i):
        with app.app_context():
            barrier.wait()
            try:
                action(i)
                db.session.commit()
                outcomes.append("ok")
            except DomainError as exc:
                db.session.rollback()
                outcomes.append(exc.code)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes)


@needs_pg
def test_concurrent_member_filings_leave_one_pending(app, city):
    uid, communities, unit_id = city.resident.id, [city.c1.id, city.c2.id], city.u1.id
    db.session.commit()

    def file(i):
        from backend.auth.models import User

        services.file_member_report(db.session.get(User, uid), community_id=communities[i % 2], unit_id=unit_id,
                                    name="并发", phone="13800000009")

    outcomes = race(app, 8, file)
    assert outcomes == ["ALREADY_REPORTED"] * 7 + ["ok"]
    assert db.session.scalar(select(func.count(MemberReport.id))) == 1


@needs_pg
def test_concurrent_unit_filings_leave_one_live(app, city):
    uid, unit_id, community_id = city.unit1.id, city.u1.id, city.c1.id
    db.session.commit()

    def file(i):
        from backend.auth.models import User

        units.file_unit_report(db.session.get(User, uid), unit_id=unit_id, community_id=community_id)

    outcomes = race(app, 8, file)
    assert outcomes == ["ALREADY_REPORTED"] * 7 + ["ok"]
    assert db.session.scalar(select(func.count(UnitReport.id))) == 1


@needs_pg
def test_concurrent_decisions_one_wins(app, city):
    """Approve and reject at once (two staff): one decides, the other is INVALID_STATE; the member
    role matches the decision that won and there is one notification."""
    from backend.auth.models import RoleGrant, User
    from backend.notifications.models import Notification
    from backend.reports.models import UnitReport

    report = services.file_member_report(city.resident, community_id=city.c1.id, unit_id=city.u1.id,
                                         name="并发", phone="13800000008")
    unit_report = units.file_unit_report(city.unit1, unit_id=city.u1.id, community_id=city.c1.id)
    db.session.commit()
    rid, urid, staff = report.id, unit_report.id, city.staff1.id

    def decide(i):
        actor = db.session.get(User, staff)
        services.decide_member_report(actor, rid, i % 2 == 0, None if i % 2 == 0 else "信息不全")

    assert race(app, 6, decide) == ["INVALID_STATE"] * 5 + ["ok"]
    db.session.expire_all()
    won = db.session.get(MemberReport, rid).status
    grants = db.session.scalar(select(func.count(RoleGrant.id)).where(
        RoleGrant.user_id == city.resident.id, RoleGrant.role == "member"))
    assert grants == (1 if won == "approved" else 0)
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == city.resident.id)) == 1

    def decide_unit(i):
        units.decide_unit_report(db.session.get(User, staff), urid, i % 2 == 0, None if i % 2 == 0 else "不符")

    assert race(app, 6, decide_unit) == ["INVALID_STATE"] * 5 + ["ok"]
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == city.unit1.id)) == 1
    assert db.session.get(UnitReport, urid).status in ("approved", "rejected")
