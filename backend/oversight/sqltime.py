"""Time in SQL: periods, and the Asia/Shanghai month of a timestamp on PostgreSQL and SQLite."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func

from backend.extensions import db
from backend.partywork.common import day_start, local_date
from backend.timebank.leaderboard import period_bounds  # noqa: F401  (re-exported: 422 on a bad period)


def dialect() -> str:
    return db.session.get_bind().dialect.name


def local_month(column):
    """'YYYY-MM' of a UTC timestamp column in Asia/Shanghai (UTC+8 all year, no DST)."""
    if dialect() == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", column), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+8 hours")


def date_month(column):
    """'YYYY-MM' of a DATE column."""
    if dialect() == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def first_day_on_or_after(at: datetime) -> date:
    """The first local date whose midnight is not before `at` (for DATE columns)."""
    d = local_date(at)
    return d if day_start(d) >= at else d + timedelta(days=1)


def months_of(start: datetime, end: datetime) -> list[str]:
    """Every 'YYYY-MM' (Asia/Shanghai) from start up to, not including, end."""
    d, last, out = local_date(start).replace(day=1), local_date(end - timedelta(microseconds=1)), []
    while d <= last:
        out.append(f"{d.year:04d}-{d.month:02d}")
        d = (d + timedelta(days=32)).replace(day=1)
    return out
