"""Per-person figures for a period, computed with set-based SQL (GROUP BY), never per person.

`users` is either a list of user ids (a page) or a select() of user ids (a whole unit or
street): the same statements serve the screen, the export and a 100k-member benchmark."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, union_all
from sqlalchemy.sql.selectable import SelectBase
from sqlalchemy.orm import aliased

from backend.attendance.models import CHECKED_OUT, SOURCE_MANUAL, Attendance
from backend.extensions import db
from backend.feedback.models import Evaluation
from backend.orgs.models import Community
from backend.tasks.models import Task
from backend.timebank.models import WALLET, Account, Transfer


def _among(column, users):
    return column.in_(users if isinstance(users, SelectBase) else list(users))


def service_when():
    """When a service counts: its check-out, or the task's end for manual entries."""
    return func.coalesce(Attendance.checkout_at, Task.ends_at)


def counted_services(users, start: datetime, end: datetime):
    """Finished attendances that staff confirmed, of these users, counted in [start, end)."""
    when = service_when()
    return (select(Attendance).join(Task, Task.id == Attendance.task_id)
            .where(_among(Attendance.user_id, users), Attendance.status == CHECKED_OUT,
                   Attendance.minutes > 0, Attendance.awarded_at.is_not(None), when >= start, when < end))


def service_totals(users, start: datetime, end: datetime) -> dict[int, dict]:
    """{user_id: {"tasks_done", "scanned_minutes", "manual_minutes"}} (absent: none)."""
    when = service_when()
    q = (select(Attendance.user_id, Attendance.source, func.count(Attendance.id), func.sum(Attendance.minutes))
         .join(Task, Task.id == Attendance.task_id)
         .where(_among(Attendance.user_id, users), Attendance.status == CHECKED_OUT, Attendance.minutes > 0,
                Attendance.awarded_at.is_not(None), when >= start, when < end)
         .group_by(Attendance.user_id, Attendance.source))
    out: dict[int, dict] = {}
    for uid, source, n, minutes in db.session.execute(q):
        row = out.setdefault(uid, {"tasks_done": 0, "scanned_minutes": 0, "manual_minutes": 0})
        row["tasks_done"] += int(n)
        row["manual_minutes" if source == SOURCE_MANUAL else "scanned_minutes"] += int(minutes or 0)
    return out


def points_earned(users, start: datetime, end: datetime) -> dict[int, int]:
    """{user_id: points} earned in [start, end), net of reversals posted before the end.

    Two branches so that the big one needs no heap: the earnings come from an index-only scan
    of ix_transfers_credit_created (credit_account_id, created_at INCLUDE kind, amount); the
    few reversals of those earnings are found from the reversal side (reverses_id IS NOT NULL)
    and subtracted. The wallets are a materialised CTE: joined inline, PostgreSQL misjudged
    the reversal branch as one row and filtered it against every user (a nested loop)."""
    wallets = (select(Account.id, Account.user_id).where(Account.kind == WALLET, _among(Account.user_id, users))
               .cte("wallets").prefix_with("MATERIALIZED", dialect="postgresql"))
    earned = (select(wallets.c.user_id, Transfer.amount)
              .join(wallets, wallets.c.id == Transfer.credit_account_id)
              .where(Transfer.kind == "earn", Transfer.created_at >= start, Transfer.created_at < end))
    rev, orig = aliased(Transfer), aliased(Transfer)
    reversed_ = (select(wallets.c.user_id, -rev.amount)
                 .join(orig, orig.id == rev.reverses_id)
                 .join(wallets, wallets.c.id == orig.credit_account_id)
                 .where(rev.reverses_id.is_not(None), rev.created_at < end, orig.kind == "earn",
                        orig.created_at >= start, orig.created_at < end))
    both = union_all(earned, reversed_).subquery()
    rows = db.session.execute(select(both.c.user_id, func.sum(both.c.amount)).group_by(both.c.user_id))
    return {uid: int(total) for uid, total in rows}


def evaluations_of(users, period: str) -> dict[int, list[dict]]:
    """{user_id: [{"community_id", "community_name", "rating", "comment"}]} for the period."""
    q = (select(Evaluation.user_id, Evaluation.community_id, Community.name, Evaluation.rating, Evaluation.comment)
         .join(Community, Community.id == Evaluation.community_id)
         .where(_among(Evaluation.user_id, users), Evaluation.period == period)
         .order_by(Evaluation.user_id, Evaluation.community_id))
    out: dict[int, list[dict]] = {}
    for uid, cid, cname, rating, comment in db.session.execute(q):
        out.setdefault(uid, []).append({"community_id": cid, "community_name": cname,
                                        "rating": rating, "comment": comment})
    return out


def service_rows(users, start: datetime, end: datetime, chunk: int = 1000):
    """Each counted service of these users, streamed in chunks: (user_id, when, community, task,
    minutes, source, community_id), ordered by user and time."""
    when = service_when().label("when")
    q = (select(Attendance.user_id, when, Community.name, Task.title, Attendance.minutes, Attendance.source,
                Attendance.community_id)
         .join(Task, Task.id == Attendance.task_id)
         .join(Community, Community.id == Attendance.community_id)
         .where(_among(Attendance.user_id, users), Attendance.status == CHECKED_OUT, Attendance.minutes > 0,
                Attendance.awarded_at.is_not(None), service_when() >= start, service_when() < end)
         .order_by(Attendance.user_id, when, Attendance.id)
         .execution_options(yield_per=chunk))
    yield from db.session.execute(q)
