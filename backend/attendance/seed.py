"""Demo attendance: demo-member scanned in and out of a past task in the first community, confirmed."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backend.attendance.checkin_tasks import clipped_minutes
from backend.attendance.models import CHECKED_OUT, Attendance
from backend.attendance.staff import confirm
from backend.db import utcnow
from backend.extensions import db
from backend.tasks.models import CLAIM_ACTIVE, Task, TaskClaim


def _past_task(ctx) -> Task:
    """The tasks seed's past task (claimed by demo-member), or one made here."""
    member, first = ctx["users"]["demo-member"], ctx["communities"][0]
    past = ctx.get("past_task")
    if past is None:
        start = (utcnow() - timedelta(days=3)).replace(hour=1, minute=0, second=0, microsecond=0)
        past = Task(community_id=first.id, title="社区环境大扫除", category="环境整治", starts_at=start,
                    ends_at=start + timedelta(hours=3), location_name="幸福里中心花园", capacity=20,
                    claimed_count=0, points_per_hour=10, skills=[], created_by_id=ctx["users"]["demo-staff"].id)
        db.session.add(past)
        db.session.flush()
    claim = db.session.scalar(select(TaskClaim).where(
        TaskClaim.task_id == past.id, TaskClaim.user_id == member.id, TaskClaim.status == CLAIM_ACTIVE))
    if claim is None:
        claim = TaskClaim(task_id=past.id, user_id=member.id, created_at=past.starts_at - timedelta(days=2))
        past.claimed_count += 1
        db.session.add(claim)
        db.session.flush()
    return past, claim


def seed(ctx) -> None:
    member, staff = ctx["users"]["demo-member"], ctx["users"]["demo-staff"]
    past, claim = _past_task(ctx)
    checkin, checkout = past.starts_at + timedelta(minutes=4), past.ends_at - timedelta(minutes=12)
    db.session.add(Attendance(
        task_id=past.id, user_id=member.id, claim_id=claim.id, community_id=past.community_id,
        status=CHECKED_OUT, checkin_at=checkin, checkin_received_at=checkin, checkin_distance_m=35,
        checkout_at=checkout, checkout_received_at=checkout, checkout_distance_m=48,
        minutes=clipped_minutes(past, checkin, checkout), created_at=checkin))
    db.session.flush()
    confirm(staff, past.id, now=past.ends_at + timedelta(hours=2))
