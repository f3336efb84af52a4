"""Issuing at scale: unit_admins notified in bulk (a fixed number of statements per batch),
points_earned's two-branch form nets reversals by when they were posted, and on PostgreSQL
the earnings are read through ix_transfers_credit_created without touching the heap."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select, text

from backend.auth.services import grant_role
from backend.extensions import db
from backend.feedback import figures
from backend.feedback.periods import quarter_bounds
from backend.feedback.services import issue_units
from backend.jobs.models import OutboxJob
from backend.notifications.models import Notification
from backend.notifications.services import notify_many
from backend.orgs import services as orgs
from backend.seed import user_for
from backend.timebank.models import Transfer
from backend.timebank.service import reverse
from tests.feedback.conftest import Q3_DAY, Q4_DAY
from tests.helpers import needs_pg

SEND = "/cgi-bin/message/subscribe/send"


def _units_with_admins(city, n, offset=0):
    """n new units of the street, each with two unit_admins; returns their ids."""
    ids = []
    for k in range(offset, offset + n):
        unit = orgs.create_unit(f"批量单位{k}", "企业", street_id=city.street.id)
        for a in "ab":
            grant_role(None, user_for(f"uadm{k}{a}", name=f"管理员{k}{a}").id, "unit_admin", unit_id=unit.id)
        ids.append(unit.id)
    db.session.commit()
    return ids


def _statements(fn):
    seen = []
    listener = lambda *a, **kw: seen.append(1)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        result = fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return len(seen), result


def test_issuing_notifies_every_admin_in_a_fixed_number_of_statements(app, city, work, wechat):
    few_units = _units_with_admins(city, 2)
    few, issued = _statements(lambda: issue_units(few_units, "2026-Q4"))
    db.session.commit()
    assert len(issued) == 2
    many_units = _units_with_admins(city, 12, offset=2)
    many, issued = _statements(lambda: issue_units(many_units, "2026-Q4"))
    db.session.commit()
    assert len(issued) == 12
    assert many == few  # 24 admins cost what 4 do
    notes = list(db.session.scalars(select(Notification).where(Notification.kind == "feedback_ready")
                                    .order_by(Notification.id)))
    assert len(notes) == 28 and len({n.user_id for n in notes}) == 28
    by_unit = {i.unit_id: i.id for i in issued}
    assert all(n.ref_type == "feedback_issue" and n.ref_id == by_unit.get(n.data["unit_id"], n.ref_id)
               for n in notes)
    jobs = {j.args[0]: j for j in db.session.scalars(
        select(OutboxJob).where(OutboxJob.func == "backend.notifications.jobs.deliver"))}
    assert set(jobs) == {n.id for n in notes}
    assert all(j.rq_job_id == f"outbox-{j.id}" and j.kwargs == {} for j in jobs.values())
    work()  # pushed after commit; a real worker delivers each exactly once
    db.session.expire_all()
    assert {n.status for n in db.session.scalars(select(Notification))} == {"sent"}
    assert len(wechat.calls(SEND)) == 28


def test_bulk_notify_is_part_of_the_callers_transaction(app, city, work, wechat):
    ids = notify_many([{"user_id": city.member.id, "kind": "feedback_ready", "data": {"unit": "一单位"}},
                       {"user_id": city.unit1.id, "kind": "feedback_ready", "data": {"unit": "一单位"}}])
    assert len(set(ids)) == 2
    db.session.rollback()
    work()
    assert db.session.query(Notification).count() == 0 and db.session.query(OutboxJob).count() == 0
    assert wechat.calls(SEND) == []
    with pytest.raises(ValueError):
        notify_many([{"user_id": city.member.id, "kind": "nonsense", "data": {}}])
    assert notify_many([]) == []


def test_points_earned_nets_reversals_by_when_they_were_posted(app, city, serve, time_machine):
    q3, q4 = quarter_bounds("2026-Q3"), quarter_bounds("2026-Q4")
    time_machine.move_to(Q3_DAY + timedelta(hours=1))
    serve(city.member, city.c1, 60, at=Q3_DAY)
    serve(city.member2, city.c1, 20, at=Q3_DAY)
    time_machine.move_to(Q4_DAY + timedelta(hours=1))
    serve(city.member, city.c1, 45, at=Q4_DAY)
    serve(city.member2, city.c1, 30, at=Q4_DAY)
    serve(city.resident, city.c1, 15, at=Q4_DAY)
    # in Q4: a Q3 earning of member and member2's Q4 earning are reversed
    for user, amount in ((city.member, 60), (city.member2, 30)):
        earn = db.session.scalar(select(Transfer).where(Transfer.kind == "earn", Transfer.amount == amount))
        reverse(db.session, transfer_id=earn.id, actor_id=city.admin.id, reason="误录")
    db.session.commit()
    users = [city.member.id, city.member2.id]
    # Q3 was over when the reversal was posted: it keeps its 60; Q4 is not charged for Q3's reversal
    assert figures.points_earned(users, *q3) == {city.member.id: 60, city.member2.id: 20}
    assert figures.points_earned(users, *q4) == {city.member.id: 45, city.member2.id: 0}
    # the same through a select() of users (a whole unit), and only the users asked for
    from backend.auth.models import User

    everyone = select(User.id).where(User.id.in_(users + [city.resident.id]))
    assert figures.points_earned(everyone, *q4) == {city.member.id: 45, city.member2.id: 0, city.resident.id: 15}
    assert figures.points_earned([city.staff1.id], *q4) == {}


@needs_pg
def test_earnings_are_an_index_only_scan_on_postgresql(app, city, serve):
    serve(city.member, city.c1, 45, at=Q4_DAY)
    start, end = quarter_bounds("2026-Q4")
    sql = text("""EXPLAIN SELECT a.user_id, t.amount FROM transfers t
                  JOIN ledger_accounts a ON a.id = t.credit_account_id AND a.kind = 'wallet'
                  WHERE a.user_id = :uid AND t.kind = 'earn' AND t.created_at >= :s AND t.created_at < :e""")
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # as on a big table that autovacuum keeps visible: index-only scans pay off
        conn.execute(text("VACUUM ANALYZE transfers"))
        # a tiny table is read sequentially; forbid that to see the path a big one takes
        conn.execute(text("SET enable_seqscan = off"))
        conn.execute(text("SET enable_bitmapscan = off"))
        plan = "\n".join(r[0] for r in conn.execute(sql, {"uid": city.member.id, "s": start, "e": end}))
    assert "Index Only Scan using ix_transfers_credit_created" in plan, plan


def test_issued_while_redis_is_down_every_admin_is_still_notified(app, city, work, wechat):
    import redis

    from backend.jobs import drain, get_queue, reset_breaker

    units = _units_with_admins(city, 3)
    good = app.extensions["redis"]
    app.extensions["redis"] = redis.Redis(port=1, retry=None)  # Redis is down at commit time
    try:
        assert len(issue_units(units, "2026-Q4")) == 3
        db.session.commit()  # the commit succeeds; the push fails and is swallowed
    finally:
        app.extensions["redis"] = good
        reset_breaker()
    rows = db.session.scalars(select(OutboxJob)).all()
    assert len(rows) == 6 and all(r.enqueued_at is None and r.done_at is None for r in rows)
    assert get_queue(app).count == 0
    assert drain(app) == 6  # Redis is back: the cron's drain pushes them, a worker sends them
    work()
    db.session.expire_all()
    assert {n.status for n in db.session.scalars(select(Notification))} == {"sent"}
    assert len(wechat.calls(SEND)) == 6
