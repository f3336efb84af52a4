"""Per-community time bank policies: a daily earning cap, an optional expiry of points."""
from __future__ import annotations

from sqlalchemy.orm import Session

from backend.timebank.models import TimebankPolicy

FIELDS = ("daily_cap", "expiry_months")


def get_policy(session: Session, community_id: int) -> dict:
    """{"community_id", "daily_cap", "expiry_months"}; None means no cap / no expiry (the default)."""
    p = session.get(TimebankPolicy, community_id)
    return {"community_id": community_id, **{f: getattr(p, f) if p else None for f in FIELDS}}


def set_policy(session: Session, community_id: int, changes: dict, *, actor_id: int | None) -> tuple[dict, dict]:
    """Apply the given fields (None clears one); returns (before, after) for the audit log."""
    before = get_policy(session, community_id)
    p = session.get(TimebankPolicy, community_id, with_for_update=True)
    if p is None:
        p = TimebankPolicy(community_id=community_id)
        session.add(p)
    for f in FIELDS:
        if f in changes:
            setattr(p, f, changes[f])
    p.updated_by_id = actor_id
    session.flush()
    return before, get_policy(session, community_id)
