"""Issuing and editing an evaluation at the same moment (PostgreSQL, real threads): the edit
either lands before the issue or is refused, never after the feedback went out."""
from __future__ import annotations

import threading

from sqlalchemy import select

from backend.auth.models import User
from backend.extensions import db
from backend.feedback import services
from backend.feedback.models import EvaluationVersion, FeedbackIssue
from tests.helpers import needs_pg


@needs_pg
def test_an_edit_racing_the_issue_lands_before_it(app, city, report, monkeypatch):
    report(city.member, city.c1, city.u1)
    services.evaluate(city.staff1, city.c1.id, user_id=city.member.id, period="2026-Q4", rating="合格")
    db.session.commit()
    staff_id, member_id, community_id, unit_id = city.staff1.id, city.member.id, city.c1.id, city.u1.id
    checked, issued, order = threading.Event(), threading.Event(), []
    real = services.is_issued

    def is_issued_then_pause(*args):
        answer = real(*args)
        checked.set()
        issued.wait(timeout=1.5)  # give the issue every chance to slip in between check and write
        return answer

    monkeypatch.setattr(services, "is_issued", is_issued_then_pause)

    def edit():
        with app.app_context():
            try:
                services.evaluate(db.session.get(User, staff_id), community_id, user_id=member_id,
                                  period="2026-Q4", rating="优秀", comment="改评")
                db.session.commit()
                order.append("edit")
            except services.InvalidState:
                db.session.rollback()
                order.append("edit refused")
            finally:
                db.session.remove()

    def issue():
        with app.app_context():
            checked.wait(timeout=5)
            try:
                services.issue_units([unit_id], "2026-Q4")
                db.session.commit()
                order.append("issue")
            finally:
                issued.set()
                db.session.remove()

    threads = [threading.Thread(target=edit), threading.Thread(target=issue)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert order == ["edit", "issue"]
    db.session.expire_all()
    issue_row = db.session.scalar(select(FeedbackIssue))
    last = db.session.scalar(select(EvaluationVersion).order_by(EvaluationVersion.version.desc()))
    assert last.rating == "优秀" and last.at <= issue_row.issued_at


@needs_pg
def test_an_issue_in_flight_does_not_block_rows_that_reference_its_units(app, city, monkeypatch):
    from sqlalchemy import text

    from backend.reports.models import UnitMember

    unit_id = city.u1.id
    db.session.commit()
    locked, release = threading.Event(), threading.Event()
    real = services.unit_feedback.members

    def members_then_hold(ids):
        locked.set()  # the units are locked by now
        release.wait(timeout=10)
        return real(ids)

    monkeypatch.setattr(services.unit_feedback, "members", members_then_hold)

    def issue():
        with app.app_context():
            try:
                services.issue_units([unit_id], "2026-Q4")
                db.session.commit()
            finally:
                db.session.remove()

    worker = threading.Thread(target=issue)
    worker.start()
    try:
        assert locked.wait(timeout=5)
        db.session.execute(text("SET LOCAL lock_timeout = '2s'"))
        db.session.add(UnitMember(unit_id=unit_id, name="新同事", phone="13700009999"))
        db.session.commit()  # a roster row for the unit goes in while its feedback is being issued
    finally:
        release.set()
        worker.join()
    assert db.session.scalar(select(FeedbackIssue.unit_id)) == unit_id
