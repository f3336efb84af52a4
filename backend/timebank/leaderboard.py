"""Leaderboards per community and period, computed from the transfers themselves.

A period counts the earnings posted in it (by created_at, Asia/Shanghai), minus the
reversals of those earnings that were posted before the period ended. Everything counted
lies before the period's end, so once a period is over its leaderboard never changes.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from backend.auth.models import User
from backend.clock import TZ
from backend.errors import ValidationFailed
from backend.timebank.models import ISSUANCE, Account, Transfer

PERIOD = re.compile(r"^(\d{4})(?:-(?:(0[1-9]|1[0-2])|Q([1-4])))?$")


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of "2026-11", "2026-Q4" or "2026" (Asia/Shanghai calendar)."""
    m = PERIOD.match(period or "")
    if not m:
        raise ValidationFailed(details={"period": ["格式应为 2026-11、2026-Q4 或 2026"]})
    year = int(m.group(1))
    if m.group(2):
        first, months = int(m.group(2)), 1
    elif m.group(3):
        first, months = (int(m.group(3)) - 1) * 3 + 1, 3
    else:
        first, months = 1, 12
    last = first + months
    try:  # years a datetime cannot hold (0000, or 9999 whose end is in 10000) are bad input
        start = datetime(year, first, 1, tzinfo=TZ).astimezone(timezone.utc)
        end = datetime(year + (last - 1) // 12, (last - 1) % 12 + 1, 1, tzinfo=TZ).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise ValidationFailed(details={"period": ["年份超出范围"]}) from None
    return start, end


def leaderboard(session: Session, community_id: int, period: str, limit: int = 50) -> dict:
    """{"period", "starts_at", "ends_at", "items": [{"rank", "user_id", "nickname", "points"}]}."""
    start, end = period_bounds(period)
    issuance = session.scalar(select(Account.id).where(Account.community_id == community_id,
                                                       Account.kind == ISSUANCE))
    items = []
    if issuance is not None:
        earned = dict(session.execute(
            select(Transfer.credit_account_id, func.sum(Transfer.amount))
            .where(Transfer.debit_account_id == issuance, Transfer.kind == "earn",
                   Transfer.created_at >= start, Transfer.created_at < end)
            .group_by(Transfer.credit_account_id)).all())
        orig = aliased(Transfer)
        reversed_ = dict(session.execute(
            select(orig.credit_account_id, func.sum(Transfer.amount))
            .join(orig, orig.id == Transfer.reverses_id)
            .where(orig.debit_account_id == issuance, orig.kind == "earn",
                   orig.created_at >= start, orig.created_at < end, Transfer.created_at < end)
            .group_by(orig.credit_account_id)).all())
        net = {w: int(p) - int(reversed_.get(w) or 0) for w, p in earned.items()}
        net = {w: p for w, p in net.items() if p > 0}
        people = dict(session.execute(
            select(Account.id, User).join(User, User.id == Account.user_id).where(Account.id.in_(list(net)))
        ).all()) if net else {}
        ranked = sorted(net.items(), key=lambda kv: (-kv[1], people[kv[0]].id))
        rank, prev = 0, None
        for i, (wid, points) in enumerate(ranked[:limit], start=1):
            if points != prev:
                rank, prev = i, points
            u = people[wid]
            items.append({"rank": rank, "user_id": u.id, "nickname": u.nickname or "", "points": points})
    return {"period": period, "starts_at": start, "ends_at": end, "items": items}
