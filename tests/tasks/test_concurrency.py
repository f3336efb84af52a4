"""Capacity stays exact with real threads on PostgreSQL."""
import threading
from collections import Counter

from sqlalchemy import func, select

from backend.errors import DomainError
from backend.extensions import db
from backend.tasks import services
from backend.tasks.models import Task, TaskClaim
from tests.helpers import needs_pg


def _race(app, task_id, user_ids):
    """Every user id claims at once, each in its own thread, app context and transaction."""
    barrier = threading.Barrier(len(user_ids))
    outcomes = Counter()
    lock = threading.Lock()

    def run(uid):
        with app.app_context():
            from backend.auth.models import User

            user = db.session.get(User, uid)
            db.session.commit()  # start from a fresh transaction after the barrier
            barrier.wait()
            try:
                services.claim_task(user, task_id)
                db.session.commit()
                result = "ok"
            except DomainError as exc:
                db.session.rollback()
                result = exc.code
            finally:
                db.session.remove()
            with lock:
                outcomes[result] += 1

    threads = [threading.Thread(target=run, args=(uid,)) for uid in user_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


@needs_pg
def test_hundred_claims_on_ten_seats(app, city, make_task):
    from backend.seed import user_for

    task = make_task(capacity=10)
    ids = [user_for(f"racer{i}").id for i in range(100)]
    db.session.commit()
    outcomes = _race(app, task.id, ids)
    assert outcomes == Counter({"ok": 10, "TASK_FULL": 90})
    db.session.expire_all()
    assert db.session.get(Task, task.id).claimed_count == 10
    assert db.session.scalar(select(func.count()).select_from(TaskClaim).where(TaskClaim.task_id == task.id)) == 10


@needs_pg
def test_same_user_twenty_times_gets_one_claim(app, city, make_task):
    task = make_task(capacity=10)
    outcomes = _race(app, task.id, [city.member.id] * 20)
    assert outcomes == Counter({"ok": 1, "ALREADY_CLAIMED": 19})
    db.session.expire_all()
    assert db.session.get(Task, task.id).claimed_count == 1
    assert db.session.scalar(select(func.count()).select_from(TaskClaim).where(TaskClaim.task_id == task.id)) == 1


@needs_pg
def test_claims_racing_unclaims_keep_count_exact(app, city, make_task):
    """Half the users give back their seats while others claim: the counter equals the active rows."""
    from backend.seed import user_for

    task = make_task(capacity=10)
    first = [user_for(f"early{i}").id for i in range(10)]
    late = [user_for(f"late{i}").id for i in range(30)]
    db.session.commit()
    assert _race(app, task.id, first)["ok"] == 10
    barrier = threading.Barrier(len(first) // 2 + len(late))

    def leave(uid):
        with app.app_context():
            from backend.auth.models import User

            user = db.session.get(User, uid)
            db.session.commit()
            barrier.wait()
            services.unclaim_task(user, task.id)
            db.session.commit()
            db.session.remove()

    def join(uid):
        with app.app_context():
            from backend.auth.models import User

            user = db.session.get(User, uid)
            db.session.commit()
            barrier.wait()
            try:
                services.claim_task(user, task.id)
                db.session.commit()
            except DomainError:
                db.session.rollback()
            db.session.remove()

    threads = [threading.Thread(target=leave, args=(u,)) for u in first[:5]]
    threads += [threading.Thread(target=join, args=(u,)) for u in late]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    db.session.expire_all()
    active = db.session.scalar(select(func.count()).select_from(TaskClaim).where(
        TaskClaim.task_id == task.id, TaskClaim.status == "active"))
    assert 5 <= active <= 10
    assert db.session.get(Task, task.id).claimed_count == active
