"""Shared set-ups for the reliability suites: a running task with claims, funded wallets."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from backend.extensions import db
from backend.tasks.models import Task, TaskClaim


def running_task(community_id: int, members, *, capacity: int | None = None) -> Task:
    """A task that started 5 minutes ago, with an active claim for each member."""
    now = datetime.now(timezone.utc)
    task = Task(community_id=community_id, title="可靠性测试任务", starts_at=now - timedelta(minutes=5),
                ends_at=now + timedelta(hours=3), capacity=capacity or max(1, len(members)),
                claimed_count=len(members), points_per_hour=10, lat=30.5, lng=114.3)
    db.session.add(task)
    db.session.flush()
    for m in members:
        db.session.add(TaskClaim(task_id=task.id, user_id=m.id))
    db.session.commit()
    return task


def fund(community_id: int, user_ids, points: int) -> None:
    """Post `points` earned to each person (the time bank's award())."""
    from backend.timebank.earn import award

    award(db.session, community_id=community_id, actor_id=None,
          entries=[{"user_id": u, "amount": points, "ref_type": "reliability", "ref_id": u, "memo": "测试"}
                   for u in user_ids])
    db.session.commit()
