"""Recording notifications. Delivery (a job through wechatpy) is in jobs.py / sender.py."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select

from backend.audit.services import record
from backend.auth.models import User
from backend.auth.policy import require_admin
from backend.clock import TZ
from backend.db import utcnow
from backend.errors import InvalidState, NotFound
from backend.extensions import db
from backend.notifications.models import KINDS, Notification, NotificationAttempt
from backend.notifications.sender import retry_failed, schedule, schedule_many


def _local(data: dict) -> dict:
    """The message's data as stored and shown (GET /me/notifications): times in the users' own
    offset (+08:00), as every other time the API answers with."""
    return {k: v.astimezone(TZ).isoformat() if isinstance(v, datetime) else v for k, v in data.items()}


def notify(user_id: int, kind: str, data: dict, *, ref_type: str | None = None, ref_id: int | None = None) -> Notification:
    """Record a message for user_id in the current transaction; it is sent after commit. Times in
    data may be given as datetimes: they are written with the +08:00 offset."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind}")
    n = Notification(user_id=user_id, kind=kind, data=_local(data), ref_type=ref_type, ref_id=ref_id)
    db.session.add(n)
    db.session.flush()
    schedule(n)
    return n


def notify_many(messages: list[dict]) -> list[int]:
    """notify() for many messages at once ({"user_id", "kind", "data", "ref_type", "ref_id"}):
    one multi-row INSERT of notifications and one of their send jobs, whatever their number,
    in the current transaction. Returns the new notification ids (in no particular order)."""
    if not messages:
        return []
    unknown = {m["kind"] for m in messages} - set(KINDS)
    if unknown:
        raise ValueError(f"unknown notification kind {sorted(unknown)}")
    now = utcnow()
    ids = list(db.session.scalars(
        insert(Notification).returning(Notification.id),
        [{"user_id": m["user_id"], "kind": m["kind"], "data": _local(m["data"]), "ref_type": m.get("ref_type"),
          "ref_id": m.get("ref_id"), "status": "pending", "attempts": 0, "created_at": now} for m in messages]))
    schedule_many(ids)
    return ids


def mine_query(user_id: int):
    """The user's own notifications (for paging, newest first)."""
    return select(Notification).where(Notification.user_id == user_id)


def admin_query(actor, *, status: str | None = None, user_id: int | None = None, kind: str | None = None):
    """Every notification, filtered (the platform admin's delivery overview; admin only)."""
    require_admin(actor)
    q = select(Notification)
    if status:
        q = q.where(Notification.status == status)
    if user_id:
        q = q.where(Notification.user_id == user_id)
    if kind:
        q = q.where(Notification.kind == kind)
    return q


def attempts_of(notification_id: int) -> list[NotificationAttempt]:
    """Every try at sending a notification, oldest first."""
    return list(db.session.scalars(select(NotificationAttempt).where(
        NotificationAttempt.notification_id == notification_id).order_by(NotificationAttempt.id)))


def send_by_admin(actor, user_id: int, kind: str, data: dict, *, ref_type: str | None = None,
                  ref_id: int | None = None) -> Notification:
    """An admin sends one message to one user (e.g. a personal report_reminder); audited."""
    require_admin(actor)
    if db.session.get(User, user_id) is None:
        raise NotFound(details={"user_id": user_id})
    n = notify(user_id, kind, data, ref_type=ref_type, ref_id=ref_id)
    record(actor.id, "notification.send", "notification", n.id, after={"user_id": user_id, "kind": kind})
    return n


def retry_by_admin(actor, notification_id: int) -> Notification:
    """An admin gives a failed notification a fresh set of attempts; audited."""
    require_admin(actor)
    n = db.session.get(Notification, notification_id)
    if n is None:
        raise NotFound()
    if n.status != "failed":
        raise InvalidState(details={"status": n.status})
    retry_failed(n.id)
    record(actor.id, "notification.retry", "notification", n.id, before={"status": "failed"},
           after={"status": n.status})
    return n
