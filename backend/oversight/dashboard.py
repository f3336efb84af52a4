"""Dashboards of a community and of a street: the figures of backend/oversight/figures.py, assembled."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from backend.auth import policy
from backend.auth.models import User
from backend.db import utcnow
from backend.errors import NotFound
from backend.extensions import db
from backend.orgs.models import Community, Street
from backend.oversight import dashboard_cache, figures
from backend.oversight.sqltime import months_of, period_bounds
from backend.reports.services import months_before

QUIET_MONTHS = 6
TOP_UNITS = 10
FIGURE_CONNECTIONS = 2  # a street dashboard's queries run on this many connections at once


def default_period(now: datetime | None = None) -> str:
    """The current quarter (Asia/Shanghai), e.g. "2026-Q4"."""
    from backend.partywork.common import local_date

    d = local_date(now or utcnow())
    return f"{d.year}-Q{(d.month - 1) // 3 + 1}"


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _computed(cids: list[int], start: datetime, end: datetime, now: datetime) -> dict:
    """The figures' queries, by name. They are independent reads: on PostgreSQL they run on
    FIGURE_CONNECTIONS connections at once (each big aggregate is CPU-bound in its own backend,
    so a dashboard's latency is that of its slowest group, not of the sum); elsewhere one by one."""
    as_of = min(end, now)
    quiet_since = months_before(as_of, QUIET_MONTHS)
    jobs = {
        "activity": lambda: figures.members_active(cids, start, end),
        "minutes": lambda: figures.minutes(cids, start, end),
        "top_units": lambda: figures.top_units(cids, start, end, TOP_UNITS),
        "reports": lambda: figures.report_counts(cids),
        "quiet": lambda: figures.quiet_members(cids, as_of, quiet_since),
        "points": lambda: figures.points(cids, start, end),
        "meetings": lambda: figures.meeting_attendance(cids, start, end),
        "tasks": lambda: figures.tasks_held(cids, start, end),
        "wishes": lambda: figures.wishes(cids, start, end),
        "needs": lambda: figures.needs_fulfilled(cids, start, end),
    }
    if figures.dialect() != "postgresql" or FIGURE_CONNECTIONS < 2:
        figures.tune_session()
        return {name: run() for name, run in jobs.items()}
    app = current_app._get_current_object()

    def one(name):
        with app.app_context():  # its own session and connection, returned when the context ends
            figures.tune_session(parallel_plans=False)
            try:
                return name, jobs[name]()
            finally:
                db.session.rollback()

    with ThreadPoolExecutor(FIGURE_CONNECTIONS) as pool:  # the slowest first, so they overlap
        return dict(pool.map(one, jobs))


def _figures(cids: list[int], period: str, now: datetime) -> dict:
    """Every figure for the scope: {"total": {...}, "per": {community_id: {...}}}."""
    start, end = period_bounds(period)
    got = _computed(cids, start, end, now)
    reported, listed = got["reports"]
    active, active_total = got["activity"]
    quiet = got["quiet"]
    by_month, minutes = got["minutes"]
    tasks = got["tasks"]
    issued, spent = got["points"]
    posted, fulfilled = got["wishes"]
    needs = got["needs"]
    meetings = got["meetings"]
    per = {}
    for c in cids:
        present, expected = meetings.get(c, (0, 0))
        per[c] = {
            "report_rate": _rate(reported.get(c, 0), listed.get(c, 0)),
            "reported": reported.get(c, 0), "listed": listed.get(c, 0),
            "members_active": active.get(c, 0), "tasks": tasks.get(c, 0),
            "minutes": minutes.get(c, {"scanned": 0, "manual": 0}),
            "points_issued": issued.get(c, 0), "points_spent": spent.get(c, 0),
            "wishes": {"posted": posted.get(c, 0), "fulfilled": fulfilled.get(c, 0)},
            "needs_fulfilled": needs.get(c, 0),
            "meeting_attendance_rate": _rate(present, expected), "meetings_present": present,
            "meetings_expected": expected, "quiet_members": quiet.get(c, 0),
        }
    present = sum(p["meetings_present"] for p in per.values())
    expected = sum(p["meetings_expected"] for p in per.values())
    total = {
        "period": period, "starts_at": start, "ends_at": end,
        "members_active": active_total,
        "tasks": sum(p["tasks"] for p in per.values()),
        "minutes_by_month": [{"month": m, **by_month.get(m, {"scanned": 0, "manual": 0})}
                             for m in months_of(start, end)],
        "points_issued": sum(p["points_issued"] for p in per.values()),
        "points_spent": sum(p["points_spent"] for p in per.values()),
        "wishes": {"posted": sum(p["wishes"]["posted"] for p in per.values()),
                   "fulfilled": sum(p["wishes"]["fulfilled"] for p in per.values())},
        "needs_fulfilled": sum(p["needs_fulfilled"] for p in per.values()),
        "meeting_attendance_rate": _rate(present, expected),
        "quiet_members": sum(p["quiet_members"] for p in per.values()),
        "top_units": got["top_units"],
    }
    return {"total": total, "per": per}


def community_dashboard(actor: User, community_id: int, period: str | None = None,
                        now: datetime | None = None) -> dict:
    """A community's figures for a period (staff of it, its street_admin, admin)."""
    policy.require_community_reader(actor, community_id)
    period = period or default_period(now)
    c = db.session.get(Community, community_id)
    as_of = now or utcnow()
    out = _figures([community_id], period, as_of)
    row = out["per"][community_id]
    return {**out["total"], "as_of": as_of, "community": {"id": c.id, "name": c.name},
            "report_rate": row["report_rate"], "report_counts": {"reported": row["reported"], "listed": row["listed"]}}


def street_dashboard(actor: User, street_id: int, period: str | None = None, now: datetime | None = None) -> dict:
    """A street's figures for a period, in total and per community (its street_admin, admin).

    Served from the shared cache (dashboard_cache) for STREET_DASHBOARD_MAX_AGE seconds; `as_of`
    says when they were computed. An explicit `now` (figures as of another instant) is computed."""
    street = db.session.get(Street, street_id)
    if street is None:
        raise NotFound("街道不存在")
    policy.require_street_admin(actor, street_id)
    period = period or default_period(now)
    period_bounds(period)  # a bad period is refused before anything is looked up or computed
    if now is not None:
        return {**street_figures(street_id, period, now), "as_of": now}
    return dashboard_cache.served(current_app.extensions["redis"], street_id, period,
                                  lambda: street_figures(street_id, period),
                                  current_app.config["STREET_DASHBOARD_MAX_AGE"])


def street_figures(street_id: int, period: str, now: datetime | None = None) -> dict:
    """The street dashboard's figures, computed (no permission check: the caller's, or the cron's)."""
    street = db.session.get(Street, street_id)
    if street is None:
        raise NotFound("街道不存在")
    communities = list(db.session.execute(
        select(Community.id, Community.name).where(Community.street_id == street_id).order_by(Community.id)))
    cids = [c.id for c in communities]
    out = _figures(cids or [-1], period, now or utcnow())
    rows = [{"id": c.id, "name": c.name, **out["per"][c.id]} for c in communities]
    reported = sum(r["reported"] for r in rows)
    listed = figures.street_listed(street_id, cids or [-1])
    return {**out["total"], "street": {"id": street.id, "name": street.name},
            "report_rate": _rate(reported, listed), "report_counts": {"reported": reported, "listed": listed},
            "communities": rows}
