"""Limits hold under concurrent requests (PostgreSQL, real threads)."""
from __future__ import annotations

import threading

from backend.auth.models import User
from backend.auth.services import grant_role
from backend.extensions import db
from backend.partywork import duty, households
from backend.seed import user_for
from tests.helpers import needs_pg


def _race(app, fn, args_list):
    """Run fn(*args) in one thread per args, each in its own app context; collect outcomes."""
    results, barrier = [], threading.Barrier(len(args_list))

    def run(args):
        with app.app_context():
            barrier.wait()
            try:
                fn(*args)
                db.session.commit()
                results.append("ok")
            except Exception as exc:  # noqa: BLE001  (the outcome is what we count)
                db.session.rollback()
                results.append(getattr(exc, "code", type(exc).__name__))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(a,)) for a in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@needs_pg
def test_concurrent_links_never_pass_the_limit(app, city):
    ids = [households.create_household(city.staff1, city.c1.id, address=f"路{i}号", head_name="户主").id
           for i in range(8)]
    staff_id, member_id = city.staff1.id, city.member.id
    db.session.commit()

    def link(hid):
        households.link(db.session.get(User, staff_id), hid, member_id)

    results = _race(app, link, [(h,) for h in ids])
    assert results.count("ok") == 5 and results.count("LINK_LIMIT") == 3


@needs_pg
def test_concurrent_appointments_never_pass_the_seats(app, city):
    post = duty.create_post(city.staff1, city.c1.id, name="楼栋长", seats=2)
    people = []
    for i in range(5):
        u = user_for(f"m{i}", name=f"m{i}")
        grant_role(None, u.id, "member", community_id=city.c1.id)
        people.append(u.id)
    staff_id, post_id = city.staff1.id, post.id
    db.session.commit()

    def appoint(uid):
        duty.apply_or_appoint(db.session.get(User, staff_id), post_id, uid)

    results = _race(app, appoint, [(u,) for u in people])
    assert results.count("ok") == 2 and results.count("POST_FULL") == 3
    assert duty.active_count(post_id) == 2


@needs_pg
def test_concurrent_confirmations_keep_the_monthly_cap(app, city):
    """Two staff confirm two logs of one holder in the same month at once: the post's
    points_per_month still caps the pair (each run sees the other's points), and both logs are confirmed."""
    from sqlalchemy import func, select

    from backend.db import utcnow
    from backend.partywork.common import local_date
    from backend.timebank.models import Transfer

    post = duty.create_post(city.staff1, city.c1.id, name="文明劝导岗", seats=1, points_per_month=25)
    duty.apply_or_appoint(city.staff1, post.id, city.member.id)
    logs = [duty.add_log(city.member, post.id, date_=local_date(utcnow()), minutes=120, note=f"第{i}班").id
            for i in (1, 2)]
    grant_role(None, city.staff2.id, "staff", community_id=city.c1.id)
    staff = [city.staff1.id, city.staff2.id]
    community_id = city.c1.id
    db.session.commit()

    def confirm(staff_id, log_id):
        duty.confirm_logs(db.session.get(User, staff_id), community_id, [log_id])

    results = _race(app, confirm, list(zip(staff, logs)))
    assert results == ["ok", "ok"]
    db.session.expire_all()
    assert sorted(db.session.get(duty.DutyLog, i).points for i in logs) == [5, 20]
    paid = db.session.scalar(select(func.sum(Transfer.amount)).where(Transfer.ref_type == "duty_log"))
    assert paid == 25
