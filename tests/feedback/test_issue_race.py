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
