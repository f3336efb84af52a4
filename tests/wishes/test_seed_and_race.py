"""Demo data for tasks and wishes, and one claimer per wish under real concurrency."""
import threading
from collections import Counter

from sqlalchemy import func, select

from backend.errors import DomainError
from backend.extensions import db
from backend.tasks.models import Task, TaskClaim
from backend.wishes import services
from backend.wishes.models import Wish, WishEvent
from tests.helpers import needs_pg


def test_demo_seed_for_tasks_and_wishes(city):
    from backend.auth.services import grant_role
    from backend.seed import user_for
    from backend.tasks import queries
    from backend.tasks import seed as task_seed
    from backend.wishes import seed as wish_seed

    users = {code: user_for(code) for code in ("demo-admin", "demo-staff", "demo-member", "demo-resident")}
    grant_role(None, users["demo-admin"].id, "admin")
    grant_role(None, users["demo-staff"].id, "staff", community_id=city.c1.id)
    db.session.expire_all()
    ctx = {"communities": [city.c1, city.c2, city.c3], "users": users}
    task_seed.seed(ctx)
    wish_seed.seed(ctx)
    db.session.commit()
    open_c1 = queries.list_tasks(users["demo-resident"].id, community_id=city.c1.id)["items"]
    assert 4 <= len(open_c1) <= 5
    assert all(abs(t.lat - 30.5928) < 0.01 and abs(t.lng - 114.3055) < 0.01 for t in open_c1)
    assert any(t.skills for t in open_c1)
    assert len(queries.list_tasks(users["demo-resident"].id, community_id=city.c2.id)["items"]) == 2
    ended = queries.list_tasks(users["demo-resident"].id, community_id=city.c1.id, status="ended")["items"]
    assert len(ended) == 1 and ended[0].claimed_count == 1
    for t in db.session.scalars(select(Task)):  # counters agree with the claims
        active = db.session.scalar(select(func.count()).select_from(TaskClaim).where(
            TaskClaim.task_id == t.id, TaskClaim.status == "active"))
        assert t.claimed_count == active
    states = {w.status for w in db.session.scalars(select(Wish))}
    assert {"待审批", "已通过", "已认领", "已评价", "已驳回"} <= states


@needs_pg
def test_one_claimer_among_racing_members(app, city):
    from backend.auth.services import grant_role
    from backend.seed import user_for

    wish = services.post_wish(city.resident, city.c1.id, title="收音机", type="物质")
    services.decide_wish(city.staff1, wish.id, True)
    ids = []
    for i in range(20):
        u = user_for(f"m{i}")
        grant_role(None, u.id, "member", community_id=city.c1.id)
        ids.append(u.id)
    db.session.commit()
    wish_id = wish.id  # threads must not touch the main session's objects
    barrier = threading.Barrier(len(ids))
    outcomes = Counter()
    lock = threading.Lock()

    def run(uid):
        with app.app_context():
            from backend.auth.models import User

            user = db.session.get(User, uid)
            _ = user.roles
            db.session.commit()
            barrier.wait()
            try:
                services.claim_wish(user, wish_id)
                db.session.commit()
                result = "ok"
            except DomainError as exc:
                db.session.rollback()
                result = exc.code
            db.session.remove()
            with lock:
                outcomes[result] += 1

    threads = [threading.Thread(target=run, args=(u,)) for u in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert outcomes == Counter({"ok": 1, "INVALID_STATE": 19})
    db.session.expire_all()
    assert db.session.get(Wish, wish_id).claimer_id in ids
    assert db.session.scalar(select(func.count()).select_from(WishEvent).where(WishEvent.to_status == "已认领")) == 1
