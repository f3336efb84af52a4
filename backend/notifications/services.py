"""Recording notifications. Delivery (a job through wechatpy) is in jobs.py / sender.py."""
from __future__ import annotations

from backend.extensions import db
from backend.notifications.models import KINDS, Notification


def notify(user_id: int, kind: str, data: dict, *, ref_type: str | None = None, ref_id: int | None = None) -> Notification:
    """Record a message for user_id in the current transaction; it is sent after commit."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind}")
    n = Notification(user_id=user_id, kind=kind, data=data, ref_type=ref_type, ref_id=ref_id)
    db.session.add(n)
    db.session.flush()
    _schedule_delivery(n)
    return n


def _schedule_delivery(n: Notification) -> None:
    """Hook for the sender; replaced when delivery is implemented."""
    try:
        from backend.notifications.sender import schedule
    except ImportError:
        return
    schedule(n)
