"""Figures other domains read (time bank statements, dashboard, exports), in one place."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from backend.extensions import db
from backend.partywork.common import day_start
from backend.partywork.meetings import attendance_rate  # noqa: F401  (re-exported)
from backend.partywork.models_duty import LOG_CONFIRMED, DutyLog
from backend.partywork.models_households import VISIT_CONFIRMED, Visit
from backend.partywork.needs import fulfilled_by_unit  # noqa: F401  (re-exported)
from backend.partywork.quiet import find_quiet


def honor_minutes(user_id: int | None = None, *, community_ids: list[int] | None = None,
                  since: datetime | None = None, until: datetime | None = None) -> dict:
    """Confirmed 荣誉 minutes {"duty": int, "visits": int} of a person and/or communities,
    within [since, until) (duty logs by their work date, visits by their time)."""
    duty_q = select(func.coalesce(func.sum(DutyLog.minutes), 0)).where(DutyLog.status == LOG_CONFIRMED)
    visit_q = select(func.coalesce(func.sum(Visit.minutes), 0)).where(Visit.status == VISIT_CONFIRMED)
    if user_id is not None:
        duty_q, visit_q = duty_q.where(DutyLog.user_id == user_id), visit_q.where(Visit.user_id == user_id)
    if community_ids is not None:
        duty_q = duty_q.where(DutyLog.community_id.in_(community_ids))
        visit_q = visit_q.where(Visit.community_id.in_(community_ids))
    if since is not None:
        duty_q = duty_q.where(DutyLog.date >= _local_day(since))
        visit_q = visit_q.where(Visit.visited_at >= since)
    if until is not None:
        duty_q = duty_q.where(DutyLog.date < _local_day(until))
        visit_q = visit_q.where(Visit.visited_at < until)
    return {"duty": int(db.session.scalar(duty_q)), "visits": int(db.session.scalar(visit_q))}


def _local_day(at: datetime):
    from backend.partywork.common import local_date

    d = local_date(at)
    return d if day_start(d) >= at else d.fromordinal(d.toordinal() + 1)


def quiet_count(community_id: int, months: int = 6, now: datetime | None = None) -> int:
    """How many members of the community are quiet for `months`."""
    return len(find_quiet(community_id, months, now))
